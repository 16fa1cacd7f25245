"""Response-spectrum speed and accuracy: ours against eqsig, pyrotd and NumPy, same run.

Run (installs eqsig and pyrotd through the `bench` extra):
  make bench                       # or: python benchmarks/spectra.py
  python benchmarks/spectra.py --batches=1,100 --skip_variants   # quicker

Prints, for n = 6000 samples (60 s at 100 Hz), 100 periods (0.01-10 s, 5% damping) and
B = 1, 100, 1000 records: seconds and oscillator-steps/s (B x periods x (n-1) / s) of
  ours     cvaegan_jax.spectra.response_spectrum under jax.jit (float32 and float64),
  numpy    the same exact recursion in NumPy, vectorised over records x periods,
  eqsig    eqsig.sdof.pseudo_response_spectra, one record at a time,
  pyrotd   pyrotd.calc_spec_accels (frequency domain), one record at a time,
the ratio of each to ours (float32), and the largest relative difference of each library's
PSA from ours in float64. Then, at B = --variant_batch, the kernel formulations we weighed:
plain lax.scan in two layouts, scan with unroll, the blocked direct form at several block
sizes, lax.associative_scan, and FFT convolution with the exact impulse
response.

`--blocks_only` (also run after the variants) prints the time of each block size of the blocked
kernels at several batch sizes (--block_batches, n = 3000, 100 periods, float32): peaks
(response_spectrum's kernel, with and without the peak's sample) and full histories driven by
one record per row or per oscillator (refine's Jacobians), with the size the library picks at
each batch (peaks: spectra._peak_block with small_batch=True, as the refinement asks, else 8; peak
samples for gradients: always 8; spectra._HISTORY_BLOCK, spectra._HISTORY_BLOCK_PER_OSCILLATOR).

`--rotd_pairs=1000` (alone: `--rotd_only`) times RotD0/50/100 of that many horizontal pairs
(and RotD100 alone over every angle, `spectra.max_direction_spectrum`)
(n = `--rotd_samples`, 3000; 100 periods; 180 angles) with `spectra.rotd_spectrum`, against
pyrotd.calc_rotated_spec_accels (method "rigorous", one pair at a time, on at most
`--rotd_pyrotd_pairs` pairs, extrapolated), and their largest relative difference at periods of
1.5 s and more (below, pyrotd's band-limited peaks and our sample peaks differ by up to ~8%,
in single-component PSA too).
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from cvaegan_jax import spectra


def synthetic_records(num: int, n: int, dt: float, seed: int = 0) -> np.ndarray:
  """[num, n] float64 accelerograms (m/s^2): band-limited noise under a Saragoni-Hart-like envelope."""
  rng = np.random.default_rng(seed)
  t = np.arange(n) * dt
  noise = rng.standard_normal((num, n))
  # Two-pole smoothing: energy mostly below ~10 Hz, like an accelerogram.
  from scipy.signal import butter, sosfilt
  noise = sosfilt(butter(4, [0.1, 15.0], btype="band", fs=1 / dt, output="sos"), noise, axis=-1)
  env = (t / 8.0) ** 2 * np.exp(-t / 4.0)
  return noise * env / np.max(np.abs(noise * env), axis=-1, keepdims=True) * 2.0


def best_time(fn, repeats: int) -> float:
  best = np.inf
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t0)
  return best


def numpy_recursion(accel: np.ndarray, dt: float, periods: np.ndarray, damping: float) -> np.ndarray:
  """PSA [B, P] by the exact one-step recursion, vectorised over records x periods."""
  c = spectra.oscillator_coefficients(dt, periods, damping)
  b = accel.shape[0]
  u = np.zeros((b, periods.size))
  v = np.zeros_like(u)
  peak = np.zeros_like(u)
  p = c.phi
  for k in range(accel.shape[1] - 1):
    a0 = accel[:, k, None]
    a1 = accel[:, k + 1, None]
    u, v = (p[:, 0, 0] * u + p[:, 0, 1] * v + c.g0[:, 0] * a0 + c.g1[:, 0] * a1,
            p[:, 1, 0] * u + p[:, 1, 1] * v + c.g0[:, 1] * a0 + c.g1[:, 1] * a1)
    np.maximum(peak, np.abs(u), out=peak)
  return peak * c.omega**2


def eqsig_psa(accel, dt, periods, damping):
  import eqsig.sdof
  return np.stack([eqsig.sdof.pseudo_response_spectra(a, dt, periods, damping)[2] for a in accel])


def pyrotd_psa(accel, dt, periods, damping):
  import pyrotd
  freqs = 1.0 / periods
  out = [pyrotd.calc_spec_accels(dt, a, freqs, damping).spec_accel for a in accel]
  return np.stack(out)


# ---------------------------------------------------------------------------
# Kernel formulations measured against each other (benchmark-only code).


def _coef(dt, periods, damping, dtype):
  c = spectra.oscillator_coefficients(dt, periods, damping)
  d = jnp.asarray(c.phi - np.eye(2), dtype)
  return d, jnp.asarray(c.g0, dtype), jnp.asarray(c.g1, dtype)


def plain_scan(accel, dt, periods, damping, unroll=1, layout="BP"):
  """One sample per scan step; state [B, P] ('BP') or [P, B] ('PB')."""
  d, g0, g1 = _coef(dt, periods, damping, accel.dtype)
  if layout == "PB":
    d, g0, g1 = d[..., None], g0[..., None], g1[..., None]
    shape = (len(periods), accel.shape[0])
    expand = lambda x: x[None]
  else:
    shape = (accel.shape[0], len(periods))
    expand = lambda x: x[:, None]

  def step(carry, x):
    u, v, pk = carry
    a0, a1 = expand(x[0]), expand(x[1])
    du = d[:, 0, 0] * u + d[:, 0, 1] * v + g0[:, 0] * a0 + g1[:, 0] * a1
    dv = d[:, 1, 0] * u + d[:, 1, 1] * v + g0[:, 1] * a0 + g1[:, 1] * a1
    u, v = u + du, v + dv
    return (u, v, jnp.maximum(pk, jnp.abs(u))), None

  z = jnp.zeros(shape, accel.dtype)
  (_, _, pk), _ = jax.lax.scan(step, (z, z, z), (accel.T[:-1], accel.T[1:]), unroll=unroll)
  return pk.T if layout == "PB" else pk


def blocked(accel, dt, periods, damping, block):
  """Ours with a chosen block size (the library picks it by batch size, spectra._peak_block)."""
  t = spectra._block_tables(dt, tuple(np.asarray(periods).tolist()), damping, block)
  return spectra._peak_kernel(accel, jnp.asarray(t.delta, accel.dtype), jnp.asarray(t.w, accel.dtype), False)


def block_table(args):
  """Microseconds per record and 1000 samples of each block size, at each batch size."""
  n, dt, damping = 3000, args.dt, args.damping
  periods = spectra.log_periods(0.01, 10.0, 100)
  pt = tuple(periods.tolist())
  sizes = (1, 2, 4, 8, 16)
  print(f"\nBlock sizes of the blocked kernels, float32, n={n}, {len(periods)} periods: us per record per 1000 "
        "samples (best of --repeats); * = the library's pick at that batch")
  kinds = ("peak", "peak+sample", "history", "history per-osc")
  print(f"{'B':>5} {'kernel':<16} " + " ".join(f"{'K=' + str(k):>8}" for k in sizes))
  for b in (int(v) for v in args.block_batches.split(",")):
    x = jnp.asarray(synthetic_records(b, n, dt).astype(np.float32))
    q = jnp.asarray(np.broadcast_to(np.asarray(x).T[:, :, None], (n, b, len(periods))))
    pick = {"peak": spectra._peak_block(b, len(periods), True), "peak+sample": spectra._BLOCK,
            "history": spectra._HISTORY_BLOCK, "history per-osc": spectra._HISTORY_BLOCK_PER_OSCILLATOR}
    for kind in kinds:
      cells = []
      for k in sizes:
        t = spectra._block_tables(dt, pt, damping, k)
        d, w = jnp.asarray(t.delta, jnp.float32), jnp.asarray(t.w, jnp.float32)
        fn = {"peak": lambda a: spectra._peak_kernel(a, d, w, False),
              "peak+sample": lambda a: spectra._peak_kernel(a, d, w, True),
              "history": lambda a: spectra._history_kernel(a.T, d, w, True),
              "history per-osc": lambda a: spectra._history_kernel(a, d, w, True)}[kind]
        f = jax.jit(fn)
        arg = q if kind == "history per-osc" else x
        jax.block_until_ready(f(arg))
        sec = best_time(lambda: jax.block_until_ready(f(arg)), args.repeats)
        cells.append(f"{1e6 * sec / b / (n / 1000):>7.3f}{'*' if k == pick[kind] else ' '}")
      print(f"{b:>5} {kind:<16} " + " ".join(cells), flush=True)


def associative(accel, dt, periods, damping):
  """lax.associative_scan over (Phi^m, x) pairs: O(n log n) work, parallel in time."""
  c = spectra.oscillator_coefficients(dt, periods, damping)
  phi = jnp.asarray(c.phi, accel.dtype)
  forcing = (jnp.asarray(c.g0, accel.dtype)[None, None] * accel.T[:-1, :, None, None]
             + jnp.asarray(c.g1, accel.dtype)[None, None] * accel.T[1:, :, None, None])  # [n-1, B, P, 2]
  mats = jnp.broadcast_to(phi, (forcing.shape[0],) + phi.shape)

  def combine(left, right):
    a1, b1 = left
    a2, b2 = right
    return a2 @ a1, jnp.einsum("...pij,...bpj->...bpi", a2, b1) + b2

  _, xs = jax.lax.associative_scan(combine, (mats, forcing))
  return jnp.max(jnp.abs(xs[..., 0]), axis=0)


def fft_convolution(accel, dt, periods, damping):
  """u = exact discrete impulse response (*) input, by zero-padded FFT (no wrap-around)."""
  n = accel.shape[1]
  h, h0 = spectra._impulse_tables(dt, tuple(np.asarray(periods).tolist()), damping, n)
  nfft = 1 << int(np.ceil(np.log2(2 * n)))
  cdt = jnp.complex64 if accel.dtype == jnp.float32 else jnp.complex128
  hf = jnp.asarray(np.fft.rfft(h, nfft), cdt)
  spec = jnp.fft.rfft(accel.at[:, 0].set(0.0), nfft)
  u = jnp.fft.irfft(spec[:, None, :] * hf[None], nfft)[..., :n] + accel[:, :1, None] * jnp.asarray(h0, accel.dtype)
  return jnp.max(jnp.abs(u), axis=-1)


# ---------------------------------------------------------------------------


def rotd_benchmark(args) -> None:
  """RotD0/50/100 of ``args.rotd_pairs`` synthetic pairs: ours against pyrotd, one process."""
  import pyrotd

  n, dt, damping, num = args.rotd_samples, args.dt, args.damping, args.rotd_pairs
  periods = spectra.log_periods(0.01, 10.0, args.num_periods)
  pairs = synthetic_records(2 * num, n, dt, seed=1).reshape(num, 2, n)
  pct = spectra.ROTD_PERCENTILES
  f = jax.jit(lambda a: spectra.rotd_spectrum(a, dt, periods, damping, percentiles=pct))
  chunk = 100  # Pairs per call: memory, not speed, sets it.
  t0 = time.perf_counter()
  f(pairs[:chunk].astype(np.float32)).block_until_ready()
  compile_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  ours = np.concatenate([np.asarray(f(pairs[i:i + chunk].astype(np.float32))) for i in range(0, num, chunk)])
  t_ours = time.perf_counter() - t0
  m = min(num, args.rotd_pyrotd_pairs)

  def py_rotd(a):
    r = pyrotd.calc_rotated_spec_accels(dt, a[0], a[1], 1.0 / periods, damping, percentiles=list(pct), method="rigorous")
    return [[x.spec_accel for x in r if x.percentile == q] for q in pct]

  t0 = time.perf_counter()
  for a in pairs[:m]:
    py_rotd(a)
  t_py = (time.perf_counter() - t0) * num / m
  # Accuracy on zero-padded copies (8 lengths): pyrotd's frequency-domain response wraps
  # around without it (0.35 at 10 s, see the table above).
  padded = np.concatenate([pairs[:m], np.zeros((m, 2, 8 * n))], axis=-1)
  ref = [py_rotd(a) for a in padded]
  ours_padded = np.asarray(jax.jit(lambda a: spectra.rotd_spectrum(a, dt, periods, damping, percentiles=pct))(
      padded.astype(np.float32)))
  long = periods >= 1.5
  diff = np.abs(ours_padded[..., long] / np.asarray(ref)[..., long] - 1).max()
  print(f"RotD0/50/100, {num} pairs x {len(periods)} periods x {n} samples, 180 angles: ours {t_ours:.2f} s "
        f"({num / t_ours:.0f} pairs/s; first call with compile {compile_s:.1f} s), pyrotd {t_py:.0f} s "
        f"(extrapolated from {m} pairs): ours {t_py / t_ours:.0f}x faster; largest relative difference at "
        f"T >= 1.5 s {diff:.1e}")
  # RotD100 alone, over every angle (the orbit of the two oscillators), against the 180-angle
  # maximum above: at most 1 - cos(0.5 deg) = 4e-5 above it.
  g = jax.jit(lambda a: spectra.max_direction_spectrum(a, dt, periods, damping))
  g(pairs[:chunk].astype(np.float32)).block_until_ready()
  t0 = time.perf_counter()
  exact = np.concatenate([np.asarray(g(pairs[i:i + chunk].astype(np.float32))) for i in range(0, num, chunk)])
  t_exact = time.perf_counter() - t0
  gap = exact / ours[:, -1] - 1
  print(f"RotD100 over every angle (max_direction_spectrum), same pairs: {t_exact:.2f} s ({num / t_exact:.0f} pairs/s), "
        f"{t_ours / t_exact:.0f}x the 180-angle RotD0/50/100 and {t_py / t_exact:.0f}x pyrotd; above the 180-angle "
        f"RotD100 by {gap.min():.1e} to {gap.max():.1e}")


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--num_samples", type=int, default=6000)
  ap.add_argument("--num_periods", type=int, default=100)
  ap.add_argument("--batches", default="1,100,1000")
  ap.add_argument("--dt", type=float, default=0.01)
  ap.add_argument("--damping", type=float, default=0.05)
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--slow_max_records", type=int, default=1000,
                  help="eqsig/pyrotd/numpy run on at most this many records; steps/s scale from those.")
  ap.add_argument("--skip_variants", action="store_true")
  ap.add_argument("--variant_batch", type=int, default=100)
  ap.add_argument("--rotd_pairs", type=int, default=1000)
  ap.add_argument("--rotd_samples", type=int, default=3000)
  ap.add_argument("--rotd_pyrotd_pairs", type=int, default=3)
  ap.add_argument("--rotd_only", action="store_true")
  ap.add_argument("--block_batches", default="1,4,11,33,64,128,512",
                  help="Batch sizes of the block-size table.")
  ap.add_argument("--blocks_only", action="store_true", help="Only the block-size table.")
  args = ap.parse_args()
  if args.blocks_only:
    block_table(args)
    return
  if args.rotd_pairs:
    rotd_benchmark(args)
  if args.rotd_only:
    return

  n, dt, damping = args.num_samples, args.dt, args.damping
  periods = spectra.log_periods(0.01, 10.0, args.num_periods)
  batches = [int(b) for b in args.batches.split(",")]
  recs = synthetic_records(max(batches), n, dt)
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind} x{jax.device_count()}; "
        f"n={n}, periods={len(periods)} (0.01-10 s), dt={dt}, damping={damping}")
  header = f"{'B':>5} {'method':<16} {'seconds':>9} {'osc-steps/s':>12} {'ours/this':>10} {'max rel diff':>13}"
  print(header)
  print("-" * len(header))

  ours32 = jax.jit(lambda a: spectra.response_spectrum(a, dt, periods, damping))
  for b in batches:
    x64 = recs[:b]
    x32 = x64.astype(np.float32)
    steps = b * len(periods) * (n - 1)
    t0 = time.perf_counter()
    ours32(x32).block_until_ready()
    compile_s = time.perf_counter() - t0
    t_ours = best_time(lambda: ours32(x32).block_until_ready(), args.repeats)
    print(f"{b:>5} {'ours float32':<16} {t_ours:>9.4f} {steps / t_ours:>12.3g} {1.0:>10.2f} {'':>13}"
          f"  (first call with compile: {compile_s:.2f} s)")
    with jax.enable_x64(True):
      ours64 = jax.jit(lambda a: spectra.response_spectrum(a, dt, periods, damping))
      ref = np.asarray(ours64(x64))
      t64 = best_time(lambda: ours64(x64).block_until_ready(), args.repeats)
    r32 = np.asarray(ours32(x32))
    print(f"{b:>5} {'ours float64':<16} {t64:>9.4f} {steps / t64:>12.3g} {t_ours / t64:>10.3g} "
          f"{np.max(np.abs(r32 - ref) / ref):>13.2e}  (float32 vs float64)")
    m = min(b, args.slow_max_records)
    for name, fn in [("numpy recursion", numpy_recursion), ("eqsig", eqsig_psa), ("pyrotd", pyrotd_psa)]:
      t0 = time.perf_counter()
      out = fn(x64[:m], dt, periods, damping)
      t = (time.perf_counter() - t0) * b / m
      diff = np.abs(out - ref[:m]) / ref[:m]
      worst = np.unravel_index(np.argmax(diff), diff.shape)
      note = f" (extrapolated from {m})" if m < b else ""
      print(f"{b:>5} {name:<16} {t:>9.4f} {steps / t:>12.3g} {t_ours / t:>10.3g} {diff.max():>13.2e}"
            f"  worst at T={periods[worst[1]]:.3g} s{note}")

  if args.skip_variants:
    return
  b = args.variant_batch
  x32 = jnp.asarray(recs[:b].astype(np.float32))
  steps = b * len(periods) * (n - 1)
  print(f"\nKernel formulations, float32, B={b} (same inputs; ours = blocked K="
        f"{spectra._peak_block(b, len(periods), False)}):")
  ref = np.asarray(jax.jit(lambda a: spectra.spectral_displacement(a, dt, periods, damping))(x32))
  variants = [
      ("scan [B,P]", functools.partial(plain_scan, layout="BP")),
      ("scan [P,B]", functools.partial(plain_scan, layout="PB")),
      ("scan unroll 8", functools.partial(plain_scan, unroll=8)),
  ] + [(f"blocked K={k}", functools.partial(blocked, block=k)) for k in (1, 2, 4, 8, 16)] + [
      ("associative_scan", associative),
      ("fft convolution", fft_convolution),
  ]
  for name, fn in variants:
    f = jax.jit(lambda a, fn=fn: fn(a, dt, periods, damping))
    try:
      t0 = time.perf_counter()
      out = np.asarray(f(x32))
      c = time.perf_counter() - t0
      t = best_time(lambda: f(x32).block_until_ready(), args.repeats)
    except Exception as e:  # e.g. out of memory for the O(n log n) forms
      print(f"  {name:<18} failed: {type(e).__name__}: {str(e)[:80]}")
      continue
    print(f"  {name:<18} {t:>8.4f} s {steps / t:>10.3g} steps/s  compile {c:5.2f} s  "
          f"max rel diff {np.max(np.abs(out - ref) / ref):.1e}")
  block_table(args)


if __name__ == "__main__":
  main()
