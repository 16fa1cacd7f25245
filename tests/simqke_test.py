"""SIMQKE baseline generator: spectral match, consistency, baseline, seeds, envelopes, errors."""

import jax
import numpy as np
import pytest

from cvaegan_jax import intensity, simqke, spectra, validation

DT = 0.01
N = 3000  # 30 s at 100 Hz.
PERIODS = spectra.log_periods(0.02, 10.0, 100)
BAND = (PERIODS >= 0.05) & (PERIODS <= 4.0)


def ec8_type1(periods, ag=0.3 * validation.G_MS2, s=1.2, tb=0.15, tc=0.5, td=2.0, eta=1.0):
  """EN 1998-1 elastic spectrum, type 1, ground B (m/s^2), written from the code's formulas."""
  t = np.asarray(periods, np.float64)
  return np.select(
      [t < tb, t < tc, t < td],
      [ag * s * (1 + t / tb * (eta * 2.5 - 1)), ag * s * eta * 2.5, ag * s * eta * 2.5 * tc / t],
      ag * s * eta * 2.5 * tc * td / t**2)


TARGET = ec8_type1(PERIODS)


@pytest.fixture(scope="module")
def result():
  return simqke.simqke(PERIODS, TARGET, num=5, dt=DT, num_samples=N, seed=0, return_history=True)


def small(**kw):
  """A quick run (10 s, 40 periods) for the tests that need no match."""
  periods = spectra.log_periods(0.05, 4.0, 40)
  args = dict(num=3, dt=DT, num_samples=1000, seed=0, iterations=2)
  args.update(kw)
  return simqke.simqke(periods, ec8_type1(periods), **args)


def test_ec8_target_is_matched(result):
  assert result.accel_ms2.shape == (5, N) and result.accel_ms2.dtype == np.float32
  assert result.psa_ms2.shape == result.misfit.shape == (5, PERIODS.size)
  assert np.all(np.isfinite(result.accel_ms2))
  hist = result.history
  assert hist.shape == (result.iterations + 1,) and result.iterations == 15
  # Vanmarcke's start already has the right level; the iteration cuts the misfit
  # and never loses ground (best iterate kept per record).
  assert hist[0] < 1.0
  assert np.all(np.diff(hist) <= 0) and hist[-1] < 0.4 * hist[0]
  m = np.abs(result.misfit[:, BAND])
  # Measured 0.130 (max) and 0.023 (mean) for seed 0: see the module docstring.
  assert m.max() < 0.18
  assert m.mean() < 0.035
  np.testing.assert_allclose(m.max(), hist[-1], rtol=1e-6)
  assert not result.converged  # tol 0.02 is below this method's floor on 100 periods.


def test_psa_is_the_spectrum_of_the_records(result):
  psa = np.asarray(spectra.response_spectrum(result.accel_ms2, DT, PERIODS, 0.05))
  np.testing.assert_array_equal(result.psa_ms2, psa)
  np.testing.assert_allclose(result.misfit, psa / TARGET - 1, rtol=1e-12, atol=1e-12)


def test_final_velocity_and_displacement_vanish(result):
  vel, disp = intensity.velocity_displacement(result.accel_ms2, DT)
  assert np.all(np.abs(vel[:, -1]) < 1e-4 * np.abs(vel).max(axis=-1))
  assert np.all(np.abs(disp[:, -1]) < 1e-3 * np.abs(disp).max(axis=-1))


def test_without_baseline_correction_displacement_drifts():
  raw = small(baseline=False)
  _, disp = intensity.velocity_displacement(raw.accel_ms2, DT)
  assert np.all(np.abs(disp[:, -1]) > 1e-2 * np.abs(disp).max(axis=-1))


def test_seeds():
  a, b, c = small(seed=3), small(seed=3), small(seed=4)
  np.testing.assert_array_equal(a.accel_ms2, b.accel_ms2)
  assert np.abs(a.accel_ms2 - c.accel_ms2).max() > 0.1 * np.abs(a.accel_ms2).max()


def test_records_have_their_own_phases(result):
  corr = np.corrcoef(result.accel_ms2.astype(np.float64))
  off_diagonal = corr[~np.eye(len(corr), dtype=bool)]
  assert np.abs(off_diagonal).max() < 0.2


def test_envelope_is_respected(result):
  a = result.accel_ms2.astype(np.float64)
  rms = lambda t0, t1: np.sqrt(np.mean(a[:, int(t0 / DT):int(t1 / DT)] ** 2, axis=-1))  # noqa: E731
  plateau = rms(3.0, 15.0)  # Default trapezoid: rise 0-3 s, plateau 3-15 s, decay 15-30 s.
  # The envelope alone gives 0.19 (RMS of t / 3 over 0-1 s); measured 0.18-0.31,
  # a 1 s window holding few cycles of the long-period content.
  assert np.all(rms(0.0, 1.0) < 0.4 * plateau)
  assert np.all(rms(N * DT - 1.0, N * DT) < 0.1 * plateau)
  assert result.envelope.shape == (N,) and result.envelope.max() == 1.0


def test_envelope_shapes():
  t = np.arange(N) * DT
  trap = simqke.envelope_function("trapezoidal", N, DT, rise_s=2.0, strong_s=10.0)
  np.testing.assert_allclose(np.interp(1.0, t, trap), 0.5)
  assert np.all(trap[(t >= 2.0) & (t <= 12.0)] == 1.0)
  np.testing.assert_allclose(np.interp(21.0, t, trap), 0.5)
  comp = simqke.envelope_function("compound", N, DT, rise_s=2.0, strong_s=10.0)
  np.testing.assert_allclose(np.interp(1.0, t, comp), 0.25)
  np.testing.assert_allclose(comp[-1], 0.05, rtol=0.01)
  sh = simqke.envelope_function("saragoni_hart", N, DT, rise_s=5.0)
  assert abs(t[np.argmax(sh)] - 5.0) <= DT and sh[0] == 0.0
  np.testing.assert_allclose(sh[-1], 0.05, rtol=0.01)
  custom = simqke.envelope_function(2.0 * trap, N, DT)
  np.testing.assert_array_equal(custom, trap)


def test_other_envelopes_and_options_run():
  for env in ("compound", "saragoni_hart", np.hanning(1000)):
    r = small(envelope=env)
    assert np.all(np.isfinite(r.accel_ms2))
  r = small(band=None, iterations=0, return_history=True)
  assert r.iterations == 0 and r.history.shape == (1,)
  assert small().history is None


def test_tolerance_stops_early():
  r = small(iterations=15, tol=0.5, return_history=True)
  assert r.converged and r.iterations < 15
  assert r.history[-1] <= 0.5 and np.abs(r.misfit).max() <= 0.5


def test_float64_records():
  if not jax.config.jax_enable_x64:
    with pytest.raises(ValueError, match="dtype"):
      small(dtype=np.float64)
  with pytest.raises(ValueError, match="dtype"):
    small(dtype=np.int32)


def test_vanmarcke_start_has_the_target_level():
  # Before any correction, records drawn from Vanmarcke's PSD already have the
  # target's level (measured: geometric-mean ratio 0.97-1.03 over seeds 0-3) and
  # shape (suite geometric mean within 0.76-1.30 of the target at every period).
  r = simqke.simqke(PERIODS, TARGET, num=5, dt=DT, num_samples=N, seed=0, iterations=0)
  log_q = np.log(r.psa_ms2[:, BAND] / TARGET[BAND])
  assert abs(np.mean(log_q)) < 0.1
  assert np.all(np.abs(np.mean(log_q, axis=0)) < np.log(1.4))


def test_initial_psd_support():
  freqs = np.linspace(0.0, 50.0, 3001)
  psd = simqke.initial_psd(freqs, PERIODS, TARGET, 0.05, 12.0)
  assert psd.shape == freqs.shape and np.all(psd >= 0) and psd[0] == 0.0
  inside = (freqs > 1 / PERIODS[-1]) & (freqs < 1 / PERIODS[0])
  assert np.all(psd[inside] > 0)
  # Half-cosine taper: no energy an octave beyond the longest period.
  assert np.all(psd[freqs <= 0.5 / PERIODS[-1]] == 0.0)


@pytest.mark.parametrize("change, name", [
    (dict(periods_s=np.where(np.arange(40) == 3, np.nan, 1.0) * spectra.log_periods(0.05, 4.0, 40)), "periods_s"),
    (dict(periods_s=-spectra.log_periods(0.05, 4.0, 40)), "periods_s"),
    (dict(periods_s=spectra.log_periods(0.05, 4.0, 40)[::-1].copy()), "periods_s"),
    (dict(sa_ms2=np.full(40, np.nan)), "sa_ms2"),
    (dict(sa_ms2=np.zeros(40)), "sa_ms2"),
    (dict(sa_ms2=np.ones(39)), "sa_ms2"),
    (dict(periods_s=spectra.log_periods(0.01, 4.0, 40)), "periods_s"),  # below 2 dt
    (dict(periods_s=spectra.log_periods(0.05, 20.0, 40)), "periods_s"),  # beyond 10 s record
    (dict(num=0), "num"),
    (dict(num=2.5), "num"),
    (dict(dt=0.0), "dt"),
    (dict(dt=np.nan), "dt"),
    (dict(num_samples=8), "num_samples"),
    (dict(damping=0.0), "damping"),
    (dict(iterations=-1), "iterations"),
    (dict(tol=np.nan), "tol"),
    (dict(band=(4.0, 0.05)), "band"),
    (dict(band=(20.0, 30.0)), "band"),
    (dict(envelope="boxcar"), "envelope"),
    (dict(envelope=np.ones(10)), "envelope"),
    (dict(rise_s=-1.0), "rise_s"),
    (dict(rise_s=5.0, strong_s=8.0), "strong_s"),
])
def test_bad_inputs_name_the_argument(change, name):
  periods = spectra.log_periods(0.05, 4.0, 40)
  args = dict(periods_s=periods, sa_ms2=ec8_type1(periods), num=2, dt=DT, num_samples=1000,
              iterations=0)
  args.update(change)
  with pytest.raises(ValueError, match=name):
    simqke.simqke(**args)
