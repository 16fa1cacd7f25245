"""Spectral matching of any records (refine.match, prescale, the multi-peak Jacobian) against known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvaegan_jax import design_codes, intensity, refine, simqke, spectra, targets

P = spectra.DEFAULT_PERIODS
DT = 0.01
CHB003 = "tests/data/knet/usb000syza/CHB0031412312349.NS"  # Issue 26's stalled case: a jagged M4.2 spectrum.


@pytest.fixture(scope="module")
def jagged():
  """(target [P] on P, m/s^2; four SIMQKE seeds [4, 3000] for it, m/s^2)."""
  target = targets.from_record(CHB003).at(P).sa_ms2.astype(np.float32)
  keep = P >= 2 * DT
  seeds = simqke.simqke(P[keep], target[keep], 4, DT, 3000, seed=1).accel_ms2
  return target, seeds


def test_displacement_history_is_the_oscillator_response_and_its_transpose():
  a = jax.random.normal(jax.random.PRNGKey(0), (2, 700))
  u = np.asarray(spectra.displacement_history(a, DT, P))
  ref = np.asarray(spectra.sdof_response(a, DT, P).disp)
  np.testing.assert_allclose(u, ref, atol=1e-5 * np.abs(ref).max())
  # Per-oscillator drive: oscillator p sees drive[:, p] only.
  drive = jnp.zeros((2, P.size, 700)).at[:, 7].set(a)
  u7 = np.asarray(spectra.displacement_history(drive, DT, P))
  np.testing.assert_allclose(u7[:, 7], ref[:, 7], atol=1e-5 * np.abs(ref).max())
  assert np.all(u7[:, :7] == 0)
  # The transpose by time reversal: <H a, q> = <a, H^T q>, exact away from the end samples
  # (the first sample has its own weight), here zero.
  a0 = np.asarray(a).copy()
  a0[:, [0, -1]] = 0
  q = np.array(jax.random.normal(jax.random.PRNGKey(1), (2, P.size, 700)))
  q[..., [0, -1]] = 0
  ha = np.asarray(spectra.displacement_history(a0, DT, P))
  ht_q = np.asarray(spectra.displacement_history(q[..., ::-1], DT, P))[..., ::-1]
  lhs, rhs = np.sum(ha * q, axis=-1), np.sum(a0[:, None] * ht_q, axis=-1)  # [2, P]
  scale = np.sum(np.abs(ha * q), axis=-1)
  assert np.all(np.abs(lhs - rhs) < 1e-4 * scale)
  # Time-major layout: the same numbers, time on the first axis in and out.
  np.testing.assert_array_equal(np.asarray(spectra.displacement_history(a.T, DT, P, time_major=True)),
                                np.moveaxis(u, -1, 0))
  np.testing.assert_array_equal(np.asarray(spectra.displacement_history(np.moveaxis(q, -1, 0), DT, P,
                                                                        time_major=True)),
                                np.moveaxis(np.asarray(spectra.displacement_history(q, DT, P)), -1, 0))
  with pytest.raises(ValueError, match="drive must be"):
    spectra.displacement_history(jnp.zeros((2, 3, 700)), DT, P)
  with pytest.raises(ValueError, match=r"drive must be \[time, B\]"):
    spectra.displacement_history(jnp.zeros((700, 2, 3)), DT, P, time_major=True)


def test_active_rows_are_the_exact_gradient_at_one_peak_and_the_mean_at_two():
  periods = (0.1, 0.2, 0.3)
  omega2 = (2 * np.pi / np.asarray(periods)) ** 2
  a = jax.random.normal(jax.random.PRNGKey(2), (1, 600)) * jnp.hanning(600)
  psa_ref = spectra.response_spectrum(a, DT, np.asarray(periods))
  exact = jax.jacrev(lambda x: spectra.response_spectrum(x, DT, np.asarray(periods)))(a)[0, :, 0]  # [P, T]
  # A target above the peak: the one peak is the row, and it is the exact (custom VJP) gradient.
  psa, rows = refine._active_jacobian(a, 2 * psa_ref / omega2, DT, periods, 0.05)
  rows = jnp.moveaxis(rows, 0, -1)  # [T, N, P] -> [N, P, T]
  np.testing.assert_allclose(psa, psa_ref, rtol=1e-5)
  # (The first sample has its own weight in the recurrence, which the rows leave out.)
  np.testing.assert_allclose(rows[0, :, 1:], exact[:, 1:], atol=2e-3 * float(jnp.abs(exact).max()))
  # Two copies of one pulse far apart: two equal peaks; a target just below them takes both,
  # each with half the weight, so lowering the row by r lowers each peak by r.
  pulse = jnp.zeros((1, 2000)).at[:, 100:700].set(a)  # 10 s apart: the first response has died out.
  twice = pulse + jnp.roll(pulse, 1000, axis=-1)
  rows_of = lambda x, tu: jnp.moveaxis(refine._active_jacobian(x, tu, DT, periods, 0.05)[1], 0, -1)
  psa2 = refine._active_jacobian(twice, 0.9999 * psa_ref / omega2, DT, periods, 0.05)[0]
  rows2 = rows_of(twice, 0.9999 * psa_ref / omega2)
  one = rows_of(pulse, 2 * psa_ref / omega2)
  other = rows_of(jnp.roll(pulse, 1000, axis=-1), 2 * psa_ref / omega2)
  both = 0.5 * (one + other)
  np.testing.assert_allclose(psa2, psa_ref, rtol=1e-4)
  np.testing.assert_allclose(rows2[..., 1:], both[..., 1:], atol=2e-3 * float(jnp.abs(both).max()))


@pytest.mark.parametrize("order", [3, 6])
def test_baseline_projector_is_the_baseline_correction(order):
  # Reference: intensity.baseline_correct in float64, a different code path (a constrained
  # least-squares solve per record); P is a projector, so correcting twice changes nothing.
  u, m = refine.baseline_projector(3000, DT, order)
  a = np.random.default_rng(order).normal(size=(3, 3000))
  projected = a - (a @ m.T) @ u.T
  ref = intensity.baseline_correct(a, DT, order=order)
  np.testing.assert_allclose(projected, ref, atol=1e-5 * np.abs(a).max())
  np.testing.assert_allclose(projected - (projected @ m.T) @ u.T, projected, atol=1e-5 * np.abs(a).max())


def test_prescale_doubles_a_record_whose_target_is_twice_its_spectrum(jagged):
  _, seeds = jagged
  x = jnp.asarray(seeds[:2])
  own = spectra.response_spectrum(x, DT, P)
  out = refine.prescale(x, jnp.log10(2 * own), jnp.ones(P.size), dt=DT, periods=tuple(P.tolist()), damping=0.05,
                        iterations=1)
  # The gain is ln 2 at every frequency of the periods; it tapers below 1 / 15 s, and the
  # phase of that taper (the filter is minimum-phase) moves single ordinates by up to 5%.
  psa = np.asarray(spectra.response_spectrum(out, DT, P))
  band = spectra.band_mask(P, (0.05, 4.0))
  ratio = psa[:, band] / np.asarray(own)[:, band]
  np.testing.assert_allclose(ratio, 2.0, rtol=0.05)
  np.testing.assert_allclose(np.median(ratio, axis=1), 2.0, rtol=5e-3)


def test_prescale_builds_no_ramp_at_the_windows_end(jagged):
  # Seeds that end at rest (a 2 s half-cosine taper, as the generator's high-pass leaves them);
  # the target asks twice their spectrum at long periods. The causal filter's response to the
  # last arrivals is cut at the window's end: without the end taper of each pass's change the
  # last 0.2 s grew to 0.03-0.07 of the record's RMS over 60 passes here (to 0.1-0.3 after
  # refine.match on a generated record whose PGA then sat on the last sample).
  _, seeds = jagged
  n = seeds.shape[1]
  t_left = DT * (n - 1 - np.arange(n))
  x = jnp.asarray(seeds * (0.5 - 0.5 * np.cos(np.pi * np.clip(t_left / 2.0, 0, 1))), jnp.float32)
  own = np.asarray(spectra.response_spectrum(x, DT, P))
  factor = 1.0 + np.clip(np.log10(P / 0.3), 0.0, 1.0)  # 1 below 0.3 s, 2 from 3 s.
  out = np.asarray(refine.prescale(x, jnp.log10(own * factor), jnp.ones(P.size), dt=DT, periods=tuple(P.tolist()),
                                   damping=0.05, iterations=60))
  rms = np.sqrt(np.mean(out**2, axis=1))
  assert np.all(np.abs(out[:, -1]) < 0.01 * rms) and np.all(np.sqrt(np.mean(out[:, -20:] ** 2, axis=1)) < 0.015 * rms)
  # The passes still do their work: the long periods rose.
  psa = np.asarray(spectra.response_spectrum(jnp.asarray(out), DT, P))
  long = (P >= 1.0) & (P <= 4.0)
  assert np.median(psa[:, long] / own[:, long]) > 1.6


def test_minimum_phase_has_the_gains_amplitude_and_is_causal():
  # |H| = exp(log gain) on every bin; the impulse response lives at t >= 0 (the second half
  # of the circular response, negative times, holds nothing); a zero gain is the identity.
  m = 6000
  log_f = np.log(np.maximum(np.fft.rfftfreq(m, DT), 1e-9))
  nodes = -np.log(P)[::-1]
  rng = np.random.default_rng(0)
  gain = jnp.asarray(np.interp(log_f, nodes, rng.normal(0, 0.4, P.size)), jnp.float32)[None]
  h = np.asarray(refine.minimum_phase(gain))
  np.testing.assert_allclose(np.abs(h), np.exp(np.asarray(gain)), rtol=1e-4)
  impulse = np.fft.irfft(h, m)[0]
  assert np.sum(impulse[m // 2:] ** 2) < 1e-4 * np.sum(impulse**2)  # Float32 cepstrum: ~2e-5.
  np.testing.assert_allclose(refine.minimum_phase(jnp.zeros((1, m // 2 + 1))), 1.0, atol=1e-6)


def test_match_keeps_a_quiet_stretch_quiet_and_the_s_onset_sharp(jagged):
  # Seeds quiet (3%) for 8 s, then strong: the causal frequency-domain passes and the
  # envelope-weighted time-domain corrections leave the quiet stretch at most 1.8 times its
  # RMS and the S onset's jump (intensity.envelope_jump) within 15% (a zero-phase gain and
  # unweighted corrections: 2.4-3.9 times, and the jump halved).
  target, seeds = jagged
  t = np.arange(seeds.shape[1]) * DT
  x = (seeds * np.where(t < 8, 0.03, 1.0)).astype(np.float32)
  got = refine.match(x, DT, P, target)
  assert got.max_abs_misfit.max() <= 0.05
  rms = lambda a, lo, hi: np.sqrt(np.mean(np.asarray(a, np.float64)[:, (t > lo) & (t < hi)] ** 2, axis=1))
  assert np.all(rms(got.accel_ms2, 2, 7.5) < 1.8 * rms(x, 2, 7.5)), rms(got.accel_ms2, 2, 7.5) / rms(x, 2, 7.5)
  jump = lambda a: intensity.envelope_jump(np.asarray(a, np.float64), DT)[1]
  assert np.all(jump(got.accel_ms2) > 0.85 * jump(x)), (jump(x), jump(got.accel_ms2))
  passes = refine.prescale(jnp.asarray(x), jnp.log10(jnp.asarray(np.tile(target, (4, 1)))), jnp.ones(P.size), dt=DT,
                           periods=tuple(P.tolist()), damping=0.05, iterations=10)
  assert np.all(rms(passes, 2, 7.5) < 1.3 * rms(x, 2, 7.5))


def test_match_keeps_the_records_fourier_texture_on_a_code_spectrum():
  """Random-phase seeds (SIMQKE, for the ASCE 7 shape) have Rayleigh Fourier amplitudes
  (roughness ~0.28 log10). Matched to the EC8 spectrum with the smoothed first passes they
  keep it (within 5%; 1.026 times when written); passes that follow the ratio period by
  period leave narrow-band gains that ring, lines across the window (1.13 times)."""
  target = design_codes.ec8(1, "B", 0.3 * 9.80665, periods_s=P).sa_ms2.astype(np.float32)
  keep = P >= 2 * DT
  other = design_codes.asce7(1.0, 0.6, 8.0, periods_s=P).sa_ms2.astype(np.float32)
  seeds = simqke.simqke(P[keep], other[keep], 6, DT, 3000, seed=3).accel_ms2
  rough = lambda a: np.median(intensity.fourier_roughness(np.asarray(a, np.float64), DT))
  smooth = refine.match(seeds, DT, P, target)
  assert smooth.max_abs_misfit.max() <= 0.02
  assert abs(rough(smooth.accel_ms2) / rough(seeds) - 1) < 0.05, (rough(smooth.accel_ms2), rough(seeds))
  jagged_gain = refine.match(seeds, DT, P, target, smoothing=0.0)
  assert rough(jagged_gain.accel_ms2) > 1.1 * rough(seeds), (rough(jagged_gain.accel_ms2), rough(seeds))


def test_match_converges_on_the_jagged_target_where_the_steps_alone_stall(jagged):
  target, seeds = jagged
  alone = refine.match(seeds, DT, P, target, prescale_steps=0, max_steps=20, retries=0)
  got = refine.match(seeds, DT, P, target)
  assert got.max_abs_misfit.max() <= 0.05 and np.abs(got.misfit[:, spectra.band_mask(P, (0.05, 4.0))]).mean() <= 0.01
  assert got.max_abs_misfit.max() < alone.max_abs_misfit.max()
  np.testing.assert_allclose(got.psa_ms2, spectra.response_spectrum(got.accel_ms2, DT, P), rtol=1e-6)
  # The record keeps its timing and stays baseline-corrected, without added drift (with
  # order-3 corrections throughout, PGD grew to 2.5-4.7 times the seed's).
  d = intensity.d5_95(got.accel_ms2, DT) / intensity.d5_95(seeds, DT)
  assert np.all(np.abs(d - 1) < 0.1)
  assert np.median(intensity.pgd(got.accel_ms2, DT) / intensity.pgd(seeds, DT)) < 1.25
  vel, disp = intensity.velocity_displacement(got.accel_ms2.astype(np.float64), DT)
  assert np.all(np.abs(disp[:, -1]) < 1e-3 * np.abs(disp).max(axis=1))  # float32 rounding of weak records.


def test_retries_bring_stalled_records_to_tol_and_leave_the_others(jagged):
  # Twelve steps alone (order-6 baseline, no passes, no unsmoothed second matching) leave three
  # of the four CHB003 seeds above tol (2.9-4.7%); two retries from their best iterates lower
  # each of them and bring at least two to tol, and the record the first round already brought
  # within tol comes back exactly as that round left it. (Which records end where depends on
  # the CPU's floating-point kernels: the iteration on a jagged target amplifies the last digits.)
  target, seeds = jagged
  # (outside_weight 0.25, the default when this case was found.)
  kw = dict(prescale_steps=0, baseline_order=6, outside_weight=0.25, smoothing=0.0, max_steps=12)
  first = refine.match(seeds, DT, P, target, retries=0, **kw)
  stalled = first.max_abs_misfit > 0.02
  assert np.sum(stalled) >= 2 and first.max_abs_misfit.max() > 0.04
  again = refine.match(seeds, DT, P, target, retries=2, **kw)
  assert np.all(again.max_abs_misfit[stalled] < first.max_abs_misfit[stalled]) and again.steps > first.steps
  assert np.sum(again.max_abs_misfit <= 0.02) >= np.sum(~stalled) + 2
  done = ~stalled
  np.testing.assert_array_equal(again.accel_ms2[done], first.accel_ms2[done])
  assert np.all(again.max_abs_misfit <= first.max_abs_misfit + 1e-7)
  with pytest.raises(ValueError, match="retries"):
    refine.match(seeds, DT, P, target, retries=-1)


def test_a_record_the_smoothed_passes_leave_above_tol_is_matched_again_unsmoothed(monkeypatch):
  # Eight SIMQKE seeds for CHB003: with the smoothed first passes and three retries one ends at
  # 2.9% (above tol); matched from its seed with unsmoothed passes it reaches 1.2%. match()
  # returns that record's better result and every other record as the smoothed matching left it.
  # (One share of records, as the reference below: batched kernels of another size round
  # differently, and the matching of a jagged target amplifies the last digits.)
  monkeypatch.setattr(refine, "_cpu_workers", lambda: 1)
  target = targets.from_record(CHB003).at(P).sa_ms2.astype(np.float32)
  seeds = simqke.simqke(P[P >= 2 * DT], target[P >= 2 * DT], 8, DT, 3000, seed=2).accel_ms2
  kw = dict(damping=spectra.DEFAULT_DAMPING, band_s=(0.05, 4.0), outside_weight=refine.OUTSIDE_WEIGHT,
            prescale_steps=refine.PRESCALE_STEPS, max_steps=20, baseline_order=5, retries=3)
  smoothed = refine._match_once(np.asarray(seeds, np.float32)[:, None], DT, P, np.broadcast_to(target, (8, P.size)),
                                None, smoothing=refine.SMOOTHING, tol=0.02, **kw)
  left = smoothed.max_abs_misfit > 0.02
  assert 0 < left.sum() < 8
  unsmoothed = refine.match(seeds[left], DT, P, target, smoothing=0.0)  # No fallback without smoothing.
  got = refine.match(seeds, DT, P, target)
  np.testing.assert_array_equal(got.accel_ms2[~left], smoothed.accel_ms2[~left])
  better = np.where(unsmoothed.max_abs_misfit < smoothed.max_abs_misfit[left], unsmoothed.max_abs_misfit,
                    smoothed.max_abs_misfit[left])
  np.testing.assert_array_equal(got.max_abs_misfit[left], better)
  assert np.all(got.max_abs_misfit <= 0.02)


def test_each_share_of_records_is_matched_as_the_whole_batch_would_be(monkeypatch):
  # match() splits the records into one share per CPU core, matched in threads; every record
  # is matched on its own, so three shares give the records one share gives (to float32
  # rounding: the batched passes of another size round differently), in the caller's order.
  per = spectra.log_periods(0.02, 5.0, 50)
  target = design_codes.ec8(1, "B", 0.3 * 9.80665, periods_s=per).sa_ms2
  seeds = simqke.simqke(per, target, 5, DT, 2000, seed=3).accel_ms2 * np.array([[1.0], [0.8], [1.2], [1.0], [0.9]])
  monkeypatch.setattr(refine, "_cpu_workers", lambda: 1)
  one = refine.match(seeds, DT, per, target)
  monkeypatch.setattr(refine, "_cpu_workers", lambda: 3)
  three = refine.match(seeds, DT, per, target)
  np.testing.assert_allclose(three.accel_ms2, one.accel_ms2, rtol=0, atol=1e-5 * np.abs(one.accel_ms2).max())
  np.testing.assert_allclose(three.max_abs_misfit, one.max_abs_misfit, atol=1e-5)
  assert np.all(three.max_abs_misfit <= 0.02)


def test_match_returns_a_record_already_on_its_target_unchanged(jagged):
  _, seeds = jagged
  x = refine.match(seeds, DT, P, 1.0, prescale_steps=0, max_steps=0).accel_ms2  # Baseline-corrected only.
  own = np.asarray(spectra.response_spectrum(x, DT, P))
  got = refine.match(x, DT, P, own)
  np.testing.assert_allclose(got.accel_ms2, x, rtol=0, atol=1e-6 * np.abs(x).max())  # Rounding of the baseline step.
  assert got.steps == 0 and got.max_abs_misfit.max() < 1e-5
  # Beside a record that has to be matched, it still comes back as it was.
  target = own[:2].copy()
  target[1] *= 1.5
  mixed = refine.match(x[:2], DT, P, target)
  np.testing.assert_allclose(mixed.accel_ms2[0], x[0], rtol=0, atol=1e-6 * np.abs(x[0]).max())
  assert mixed.max_abs_misfit[0] < 1e-5 and mixed.max_abs_misfit[1] < 0.05


def test_match_flags_a_record_it_cannot_bring_within_tol(jagged):
  _, seeds = jagged
  x = seeds[:2]
  target = np.asarray(spectra.response_spectrum(x, DT, P)).copy()
  j = int(np.argmin(np.abs(P - 0.5)))
  target[:, j] *= 0.3  # A notch no 5%-damped oscillator can follow: its neighbours are 7% away.
  got = refine.match(x, DT, P, target, max_steps=5)
  assert np.all(got.max_abs_misfit > 0.02)
  np.testing.assert_allclose(got.max_abs_misfit, np.abs(got.misfit[:, spectra.band_mask(P, (0.05, 4.0))]).max(1))


def test_the_steps_stop_where_they_stall(jagged):
  # The notch target of the test above: no step size lowers the misfit once the damping is at its
  # largest, and every further step would repeat the last. The steps stop there, long before
  # max_steps, and started again from where they stopped, with the damping at its largest,
  # they take one step and leave the record as it was.
  _, seeds = jagged
  x = jnp.asarray(refine.match(seeds, DT, P, 1.0, prescale_steps=0, max_steps=0).accel_ms2)
  keep = P >= 2 * DT
  target = np.asarray(spectra.response_spectrum(x, DT, P)).copy()
  target[:, int(np.argmin(np.abs(P - 0.5)))] *= 0.3
  u, m = (jnp.asarray(v) for v in refine.baseline_projector(3000, DT, 5))
  kw = dict(dt=DT, periods=tuple(P[keep].tolist()), damping=0.05, tol=0.02)
  args = (jnp.log10(jnp.asarray(target[:, keep])), jnp.ones(int(keep.sum())),
          jnp.asarray(spectra.band_mask(P[keep], (0.05, 4.0))), u, m)
  out, steps = refine.waveform(x, *args, max_steps=100, damping_mu=1e-3, **kw)
  assert np.all(np.asarray(steps) < 50)
  again, more = refine.waveform(out, *args, max_steps=5, damping_mu=refine._MU_MAX, **kw)
  np.testing.assert_array_equal(np.asarray(more), 1)
  np.testing.assert_array_equal(np.asarray(again), np.asarray(out))


@pytest.mark.parametrize("kwargs, message", [
    (dict(accel_ms2=np.zeros((2,))), "accel_ms2 must be"),
    (dict(accel_ms2=np.zeros((2, 100))), r"record\(s\) \[0, 1\] are all zeros"),
    (dict(periods_s=P[::-1]), "periods_s must be"),
    (dict(target_ms2=-np.ones(P.size)), "target_ms2 must be finite and > 0"),
    (dict(target_ms2=np.ones(3)), "target_ms2 of shape"),
    (dict(outside_weight=2.0), "outside_weight"),
    (dict(tol=0.0), "tol must be > 0"),
    (dict(prescale_steps=-1), "prescale_steps"),
    (dict(baseline_order=2), "baseline_order must be an integer >= 3"),
    (dict(smoothing=-0.1), "smoothing must be >= 0"),
])
def test_match_names_bad_input(kwargs, message):
  args = dict(accel_ms2=np.ones((2, 100), np.float32), dt=DT, periods_s=P, target_ms2=np.ones(P.size))
  args.update(kwargs)
  with pytest.raises(ValueError, match=message):
    refine.match(args.pop("accel_ms2"), args.pop("dt"), args.pop("periods_s"), args.pop("target_ms2"), **args)


def _pairs(n: int, num: int = 1500, seed: int = 0) -> np.ndarray:
  """``n`` pairs of independent enveloped noise ``[n, 2, num]`` (m/s^2), shared envelope."""
  t = np.arange(num) * DT
  env = (t / 4.0) ** 2 * np.exp(-t / 2.0)
  return (np.random.default_rng(seed).standard_normal((n, 2, num)) * env / env.max()).astype(np.float32)


@pytest.mark.parametrize("percentile", [100.0, 50.0])
def test_pair_rows_are_the_exact_gradient_of_rotdnn(percentile):
  # One pair, a few periods: each row of _pair_jacobian is the gradient of that period's RotDnn
  # (autodiff through the function matched: the orbit's peak for RotD100, rotd_spectrum on the
  # same angles for RotD50; with a target above the peak only the largest peak is active, as
  # autodiff's max).
  periods = (0.1, 0.3, 1.0)
  a = jnp.asarray(_pairs(1, 600))
  value, rows = refine._pair_jacobian(a, jnp.full((1, 3), 1e6), DT, periods, 0.05, percentile)
  rows = jnp.transpose(rows, (1, 3, 2, 0))  # [T, N, 2, P] -> [N, P, 2, T]
  if percentile == 100:
    ref = jax.jacrev(lambda x: spectra.max_direction_spectrum(x, DT, periods)[0])(a)  # [P, 1, 2, T]
  else:
    ref = jax.jacrev(lambda x: spectra.rotd_spectrum(x, DT, periods, percentiles=(percentile,),
                                                     num_angles=refine.ROTD_ANGLES)[0, 0])(a)
  np.testing.assert_allclose(value[0], refine.pair_spectrum(a, DT, np.asarray(periods), 0.05, percentile)[0],
                             rtol=1e-5)
  # Sample 0 has its own weight in the transposed pass (displacement_history): compared from 1.
  scale = np.abs(np.asarray(ref)).max()
  np.testing.assert_allclose(np.asarray(rows)[0, ..., 1:], np.asarray(ref)[:, 0, :, 1:], atol=2e-3 * scale)


@pytest.mark.parametrize("percentile", [100.0, 50.0])
def test_match_pairs_brings_the_rotdnn_to_the_target_and_keeps_the_components_apart(percentile):
  x = _pairs(3, 3000)
  per = spectra.log_periods(0.01, 4.0, 40)
  target = design_codes.ec8(1, "B", 0.3 * 9.80665, periods_s=per).sa_ms2
  got = refine.match_pairs(x, DT, per, target, percentile=percentile, max_steps=20)
  assert got.accel_ms2.shape == x.shape
  # The pairs' own RotDnn, recomputed independently, within the 2% tol over the band (0.05-4 s).
  rot = np.asarray(spectra.rotd_spectrum(got.accel_ms2, DT, per, percentiles=(percentile,)))[:, 0]
  band = spectra.band_mask(per, (0.05, 4.0))
  assert np.abs(rot / target - 1)[:, band].max() < 0.02 + 1e-4
  np.testing.assert_allclose(got.max_abs_misfit, np.abs(rot / target - 1)[:, band].max(axis=1), atol=1e-4)
  # Both components stay their own records (correlation near 0) and baseline-corrected.
  for pair in got.accel_ms2:
    assert abs(np.corrcoef(pair.astype(np.float64))[0, 1]) < 0.3
    vel, disp = intensity.velocity_displacement(pair.astype(np.float64), DT)
    assert np.all(np.abs(vel[:, -1]) < 1e-6 * np.abs(vel).max())


def test_a_pair_at_its_target_comes_back_and_bad_pairs_are_named():
  x = refine.match_pairs(_pairs(2), DT, P[P >= 0.05], 1.0, prescale_steps=0, max_steps=0).accel_ms2
  own = np.asarray(spectra.max_direction_spectrum(x, DT, P[P >= 0.05]))
  got = refine.match_pairs(x, DT, P[P >= 0.05], own)
  np.testing.assert_allclose(got.accel_ms2, x, atol=1e-6 * np.abs(x).max())
  assert got.steps == 0
  with pytest.raises(ValueError, match=r"\[N, 2, T\]"):
    refine.match_pairs(np.zeros((2, 3, 100), np.float32), DT, P, 1.0)
  with pytest.raises(ValueError, match="percentile"):
    refine.match_pairs(x, DT, P[P >= 0.05], own, percentile=0.0)
