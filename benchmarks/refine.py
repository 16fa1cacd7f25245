"""Spectral-matching refinement: ours (refine.match) against REQPY, same seeds, same targets, same run.

Run (from the repo root, after `make quickstart` has trained workdirs/quickstart; REQPY is the
PyPI package `reqpy-M`, in the `bench` extra):
  python benchmarks/refine.py
  python benchmarks/refine.py --num=3 --targets='ec8:type=1,ground=B,ag=0.3g;asce7:sds=1.0,sd1=0.6,tl=8'
  python benchmarks/refine.py --skip_reqpy

Each target (--targets, repeated or ';'-separated; default EC8 type 1 B 0.3 g, ASCE 7 with
SDS 1.0 g, SD1 0.6 g, TL 8 s, and three records of tests/data) is resolved to PSA on the model's
periods by Generator.generate(target, refine="none"). Two seed sets of --num records each:
  raw      the model's unrefined records of that call (seed --seed; each the best of
           --candidates latents, Generator.generate's default),
  simqke   cvaegan_jax.simqke.simqke with its defaults on the target restricted to periods
           >= 2 dt (seed --seed); its warm generation time is the machine's yardstick.
Two matching methods on each seed set, both with the band 0.05-4 s:
  ours     cvaegan_jax.refine.match(accel, dt, periods, target, band_s=(0.05, 4)), all records
           in one call; timed on a second, warm call with the same input,
  reqpy    reqpy_M.generate_single_component_compatible_record (Montejo's CWT matching), one
           record a call, its defaults (30 iterations, 300 scales, sixth-order baseline
           correction; output 'sc'), T1PSA=0.05, T2PSA=4; in g (the seed and target divided by
           g, the output multiplied back); timed after one untimed call (numba compilation).
Both outputs are scored the same way: spectra.response_spectrum on the model's periods,
|PSA / target - 1| at the periods inside 0.05-4 s.

Prints one progress line per (target, seed set, method), then a table per row: mean and worst
|misfit| (all records), the share of records whose worst |misfit| is <= 5% and <= 2%, ms per
record, its ratio to SIMQKE's generation ms per record, and the median ratio output / seed of
Arias intensity, D5-95, PGV and PGD ('seed' rows: the seed set itself, unmatched). Then the
yardsticks (SIMQKE ms/record, REQPY ms / ours ms) and the issue's bars with PASS/FAIL, over
all targets and seed sets together: ours >= 99% of records within 5% worst |misfit|; mean
|misfit| <= 1%; tol 2% reached by >= 95%; <= 50 ms/record; >= 10x REQPY's records/s with a
smaller worst |misfit| than REQPY's; median Arias and D5-95 changed by < 10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import jax
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import common  # noqa: E402
from cvaegan_jax import intensity, refine, sampling, simqke, spectra, validation  # noqa: E402

BAND_S = (0.05, 4.0)
DEFAULT_TARGETS = (
    "ec8:type=1,ground=B,ag=0.3g",
    "asce7:sds=1.0,sd1=0.6,tl=8",
    "record:tests/data/knet/usb000syza/CHB0031412312349.NS",
    "record:tests/data/knet/us2000cnnl/AOM0081801241951.NS",
    "record:tests/data/kiknet/usp000hzq8/NGNH311106302345.EW2",
)
SEED_SETS = ("raw", "simqke")
# The bars (for ours, over all targets and seed sets).
MIN_SHARE_WITHIN_5 = 0.99
MAX_MEAN_MISFIT = 0.01
TOL = 0.02
MIN_SHARE_WITHIN_TOL = 0.95
MAX_MS_PER_RECORD = 50.0
MIN_SPEEDUP_OVER_REQPY = 10.0
MAX_MEDIAN_CHANGE = 0.10
RATIOS = {"arias": intensity.arias_intensity, "d5_95": intensity.d5_95, "pgv": intensity.pgv, "pgd": intensity.pgd,
          "rough": intensity.fourier_roughness}  # Fourier roughness over 1-20 Hz: lines and notches raise it.


def parse_targets(values) -> list[str]:
  """--targets values (repeated and/or ';'-separated) -> target specs; None -> the defaults."""
  if not values:
    return list(DEFAULT_TARGETS)
  out = [s.strip() for v in values for s in v.split(";") if s.strip()]
  if not out:
    raise SystemExit("error: --targets holds no target")
  return out


def short_name(spec: str) -> str:
  code, _, rest = spec.partition(":")
  return f"record:{os.path.basename(rest.split(',')[0])}" if code.strip().lower() == "record" else spec


def ours(accel_ms2, dt, periods_s, target_ms2, damping, smoothing=refine.SMOOTHING):
  """refine.match on all records at once -> (records [N, T] float32, note)."""
  r = refine.match(accel_ms2, dt, periods_s, target_ms2, damping=damping, band_s=BAND_S, smoothing=smoothing)
  note = f"steps {r.steps}, {int(np.sum(r.max_abs_misfit > TOL))} of {len(r.accel_ms2)} above tol"
  return np.asarray(r.accel_ms2, np.float32), note


def reqpy(accel_ms2, dt, periods_s, target_ms2, damping):
  """REQPY, one record a call, in g -> (records [N, T] float64 m/s^2, note)."""
  import reqpy_M
  out, msgs = [], set()
  for a, t in zip(np.asarray(accel_ms2, np.float64), np.asarray(target_ms2, np.float64)):
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always")
      r = reqpy_M.generate_single_component_compatible_record(
          a / validation.G_MS2, 1.0 / dt, np.asarray(periods_s, np.float64), t / validation.G_MS2,
          T1PSA=BAND_S[0], T2PSA=BAND_S[1], zi=damping)
    msgs.update(str(w.message) for w in caught)
    out.append(np.asarray(r["sc"])[:a.size] * validation.G_MS2)  # REQPY pads odd lengths by one zero.
  note = "warnings: " + " | ".join(sorted(msgs)) if msgs else ""
  return np.stack(out), note


def score(x, seed, dt, periods_s, target_ms2, damping) -> dict:
  """Band |misfit| [N, P_band] of records x and their ratios to the seed records' intensities."""
  psa = np.asarray(spectra.response_spectrum(np.asarray(x, np.float32), dt, periods_s, damping), np.float64)
  mis = np.abs(psa / np.asarray(target_ms2, np.float64)[None] - 1.0)[:, spectra.band_mask(periods_s, BAND_S)]
  x64, s64 = np.asarray(x, np.float64), np.asarray(seed, np.float64)
  return {"mis": mis, **{k: f(x64, dt) / f(s64, dt) for k, f in RATIOS.items()}}


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--workdir", default="workdirs/quickstart",
                  help="Training workdir (config.json + checkpoints); relative paths from the repo root.")
  ap.add_argument("--num", type=int, default=11, help="Records per seed set and target.")
  ap.add_argument("--seed", type=int, default=0, help="Seed of both seed sets (model prior and SIMQKE phases).")
  ap.add_argument("--targets", action="append", default=None,
                  help="Target spec (cvaegan_jax.specs.parse); repeat the flag or separate specs with ';' "
                       "(specs hold commas). Default: " + "; ".join(DEFAULT_TARGETS))
  ap.add_argument("--skip_reqpy", action="store_true", help="Leave REQPY out (ours only).")
  ap.add_argument("--candidates", type=int, default=sampling.CANDIDATES,
                  help="Raw seeds: each the best-fitting of this many latents (Generator.generate's default).")
  ap.add_argument("--smoothing", type=float, default=refine.SMOOTHING,
                  help="refine.match's smoothing of its first passes' gain (ln frequency; 0: none).")
  args = ap.parse_args()
  if args.num < 1:
    raise SystemExit(f"error: --num must be >= 1, got {args.num}")
  specs = parse_targets(args.targets)
  if not args.skip_reqpy:
    try:
      import reqpy_M
    except ImportError:
      sys.exit("error: REQPY is not installed: `pip install -e '.[bench]'` (or `pip install reqpy-M`), "
               "or pass --skip_reqpy")

  gen = common.load_generator(args.workdir)
  dt, num, n, periods, damping = gen.dt, args.num, gen.num_samples, gen.periods_s, gen.damping
  band = spectra.band_mask(periods, BAND_S)
  methods = ["ours"] + ([] if args.skip_reqpy else ["reqpy"])
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind} x{jax.device_count()}; workdir {args.workdir} "
        f"(step {gen.step}); {num} records a seed set of {n} samples at dt={dt} s, damping {damping}; "
        f"misfit at the {int(band.sum())} of the model's {periods.size} periods inside {BAND_S[0]}-{BAND_S[1]} s"
        + ("" if args.skip_reqpy else f"; reqpy-M {reqpy_M.__version__}"), flush=True)

  rows, simqke_ms, names = [], {}, {}
  for ti, spec in enumerate(specs, 1):
    label = f"T{ti}"
    raw = gen.generate(spec, num=num, seed=args.seed, refine="none", candidates=args.candidates)
    target = np.asarray(raw.target_ms2[0], np.float64)
    names[label] = (spec, target)
    long_enough = periods >= 2 * dt * (1 - 1e-9)  # SIMQKE rejects periods below 2 dt.
    sq = lambda: simqke.simqke(periods[long_enough], target[long_enough], num, dt, n, seed=args.seed)
    common.timed(sq)  # compile
    sq_res, sq_s = common.timed(sq)
    simqke_ms[label] = 1e3 * sq_s / num
    print(f"[{label}] {short_name(spec)}: SIMQKE generation {simqke_ms[label]:.2f} ms/record (warm)", flush=True)
    seeds = {"raw": np.asarray(raw.accel_ms2, np.float32), "simqke": np.asarray(sq_res.accel_ms2, np.float32)}
    target_n = np.broadcast_to(np.asarray(raw.target_ms2, np.float32), (num, periods.size))
    for set_name in SEED_SETS:
      seed = seeds[set_name]
      s = score(seed, seed, dt, periods, target, damping)
      rows.append(dict(target=label, seeds=set_name, method="seed", ms=None, note="", **s))
      for method in methods:
        if method == "ours":
          fn = lambda: ours(seed, dt, periods, target_n, damping, args.smoothing)
          common.timed(fn)  # compile
        else:
          fn = lambda: reqpy(seed, dt, periods, target_n, damping)
          if not any(r["method"] == "reqpy" for r in rows):
            reqpy(seed[:1], dt, periods, target_n[:1], damping)  # numba compilation, once
        (x, note), secs = common.timed(fn)
        s = score(x, seed, dt, periods, target, damping)
        rows.append(dict(target=label, seeds=set_name, method=method, ms=1e3 * secs / num, note=note, **s))
        worst = s["mis"].max(axis=1)
        print(f"  done {label} {set_name:<6} {method:<5}: {1e3 * secs / num:9.2f} ms/record, mean |misfit| "
              f"{s['mis'].mean():.2%}, worst {worst.max():.2%}, within 5% {np.mean(worst <= 0.05):.0%}"
              + (f"; {note}" if note else ""), flush=True)

  print("\nTargets (PSA on the model's periods, from Generator.generate(target, refine='none')):")
  for label, (spec, target) in names.items():
    print(f"  {label}  {spec}  (PSA at {periods[0]:.3g} s {target[0] / validation.G_MS2:.3g} g, peak "
          f"{target.max() / validation.G_MS2:.3g} g)")

  header = (f"{'target':<6} {'seeds':<6} {'method':<6} {'mean|mis|':>9} {'worst':>8} {'<=5%':>5} {'<=2%':>5} "
            f"{'ms/rec':>9} {'/simqke':>8} {'Arias':>6} {'D5-95':>6} {'PGV':>6} {'PGD':>6} {'rough':>6}")
  print(f"\n|PSA/target - 1| over {BAND_S[0]}-{BAND_S[1]} s ({num} records a row; worst = the largest over records "
        "and periods; <=5%, <=2%: share of records whose worst is within); ms/rec warm; /simqke = ms/rec over "
        "SIMQKE's generation ms/rec for the target; last five: median output/seed (rough: Fourier roughness):")
  print(header)
  print("-" * len(header))
  for r in rows:
    worst = r["mis"].max(axis=1)
    ms = "" if r["ms"] is None else f"{r['ms']:.2f}"
    rel = "" if r["ms"] is None else f"{r['ms'] / simqke_ms[r['target']]:.2f}"
    print(f"{r['target']:<6} {r['seeds']:<6} {r['method']:<6} {r['mis'].mean():>9.2%} {worst.max():>8.2%} "
          f"{np.mean(worst <= 0.05):>5.0%} {np.mean(worst <= TOL):>5.0%} {ms:>9} {rel:>8} "
          + " ".join(f"{np.median(r[k]):>6.3f}" for k in RATIOS))

  def pooled(method, seeds=SEED_SETS):
    sel = [r for r in rows if r["method"] == method and r["seeds"] in seeds]
    if not sel:
      return None
    mis = np.concatenate([r["mis"] for r in sel])
    ms = None if method == "seed" else float(np.mean([r["ms"] for r in sel]))  # equal records a row
    return {"mis": mis, "worst": mis.max(axis=1), "ms": ms, **{k: np.concatenate([r[k] for r in sel]) for k in RATIOS}}

  print("\nAll targets together:")
  print(f"{'seeds':<10} {'method':<6} {'records':>7} {'mean|mis|':>9} {'worst':>8} {'<=5%':>6} {'<=2%':>6} "
        f"{'ms/rec':>9} " + " ".join(f"{k:>6}" for k in ("Arias", "D5-95", "PGV", "PGD", "rough")))
  for seeds in (("raw",), ("simqke",), SEED_SETS):
    for method in ["seed"] + methods:
      p = pooled(method, seeds)
      ms = "" if method == "seed" else f"{p['ms']:.2f}"
      print(f"{'+'.join(seeds):<10} {method:<6} {p['worst'].size:>7} {p['mis'].mean():>9.2%} {p['worst'].max():>8.2%} "
            f"{np.mean(p['worst'] <= 0.05):>6.1%} {np.mean(p['worst'] <= TOL):>6.1%} {ms:>9} "
            + " ".join(f"{np.median(p[k]):>6.3f}" for k in RATIOS))

  o, q = pooled("ours"), pooled("reqpy")
  sq_all = float(np.mean(list(simqke_ms.values())))
  print(f"\nYardsticks: SIMQKE generation {sq_all:.2f} ms/record (mean over targets: "
        + ", ".join(f"{k} {v:.2f}" for k, v in simqke_ms.items()) + ")")
  if q is not None:
    print(f"REQPY ms / ours ms: {q['ms'] / o['ms']:.1f} (REQPY {q['ms']:.1f} ms/record, ours {o['ms']:.2f}); per "
          "target and seed set: " + ", ".join(
              f"{a['target']} {a['seeds']} {b['ms'] / a['ms']:.1f}" for a in rows if a["method"] == "ours"
              for b in rows if b["method"] == "reqpy" and (b["target"], b["seeds"]) == (a["target"], a["seeds"])))

  med = {k: float(np.median(o[k])) for k in ("arias", "d5_95")}
  checks = [
      (f"ours: >= {MIN_SHARE_WITHIN_5:.0%} of records within 5% worst |misfit|", f"{np.mean(o['worst'] <= 0.05):.1%}",
       np.mean(o["worst"] <= 0.05) >= MIN_SHARE_WITHIN_5),
      (f"ours: mean |misfit| <= {MAX_MEAN_MISFIT:.0%}", f"{o['mis'].mean():.2%}", o["mis"].mean() <= MAX_MEAN_MISFIT),
      (f"ours: tol {TOL:.0%} reached by >= {MIN_SHARE_WITHIN_TOL:.0%}", f"{np.mean(o['worst'] <= TOL):.1%}",
       np.mean(o["worst"] <= TOL) >= MIN_SHARE_WITHIN_TOL),
      (f"ours: <= {MAX_MS_PER_RECORD:g} ms/record", f"{o['ms']:.2f} ms/record", o["ms"] <= MAX_MS_PER_RECORD),
  ]
  if q is None:
    checks.append((f"ours: >= {MIN_SPEEDUP_OVER_REQPY:g}x REQPY's records/s, smaller worst |misfit|",
                   "REQPY skipped", None))
  else:
    speedup = q["ms"] / o["ms"]
    checks.append((f"ours: >= {MIN_SPEEDUP_OVER_REQPY:g}x REQPY's records/s, smaller worst |misfit|",
                   f"{speedup:.1f}x; worst {o['worst'].max():.2%} vs REQPY {q['worst'].max():.2%}",
                   speedup >= MIN_SPEEDUP_OVER_REQPY and o["worst"].max() < q["worst"].max()))
  by_set = "; ".join(f"{m} {k} seeds x{np.median(p['arias']):.3f}, x{np.median(p['d5_95']):.3f}"
                     for m in methods for k in SEED_SETS for p in [pooled(m, (k,))])
  checks.append((f"ours: median Arias and D5-95 change < {MAX_MEDIAN_CHANGE:.0%}",
                 f"Arias x{med['arias']:.3f}, D5-95 x{med['d5_95']:.3f} ({by_set})",
                 all(abs(v - 1) < MAX_MEDIAN_CHANGE for v in med.values())))
  print(f"\nBars of the issue (ours, all {len(specs)} targets x {len(SEED_SETS)} seed sets x {num} records):")
  for what, value, ok in checks:
    print(f"  {'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {what:<62} {value}")


if __name__ == "__main__":
  main()
