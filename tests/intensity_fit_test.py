"""Intensity measures, baseline correction and spectral-fit metrics against known answers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

from cvaegan_jax import fit, intensity, validation
from cvaegan_jax import spectra

DT = 0.01


def synthetic_record(seed=0, n=3000, dt=DT, band_hz=(0.1, 20.0)):
  """White noise under a build-up / plateau / decay envelope, then band-passed
  (zero phase, as records are processed), PGA 2 m/s^2. Not baseline-corrected:
  its displacement drifts by up to tens of cm."""
  rng = np.random.default_rng(seed)
  t = np.arange(n) * dt
  env = np.where(t < 3.0, (t / 3.0) ** 2, np.where(t < 10.0, 1.0, np.exp(-(t - 10.0) / 4.0)))
  sos = scipy.signal.butter(4, band_hz, "bandpass", fs=1.0 / dt, output="sos")
  a = scipy.signal.sosfiltfilt(sos, rng.standard_normal(n) * env)
  return 2.0 * a / np.abs(a).max()


def sine(amp, f_hz, duration_s, dt=DT):
  n = int(round(duration_s / dt))
  t = np.arange(n) * dt
  return t, amp * np.sin(2 * np.pi * f_hz * t)


# --- Baseline correction ------------------------------------------------------


def end_errors(accel, dt=DT):
  v, d = intensity.velocity_displacement(accel, dt)
  return np.abs(v[..., -1]) / np.abs(v).max(-1), np.abs(d[..., -1]) / np.abs(d).max(-1)


@pytest.mark.parametrize("order", [3, 4, 5])
def test_baseline_correct_zeroes_final_velocity_and_displacement(order):
  a = synthetic_record()
  t = np.arange(a.size) * DT
  drifting = a + 0.05 + 0.004 * t  # offset and linear drift
  v_raw, d_raw = intensity.velocity_displacement(drifting, DT)
  assert abs(d_raw[-1]) > 10.0  # the drift dominates the raw displacement
  out = intensity.baseline_correct(drifting, DT, order)
  assert out.dtype == np.float64 and out.shape == a.shape
  ev, ed = end_errors(out)
  assert ev <= 1e-6 and ed <= 1e-6


def test_baseline_correct_recovers_clean_record_and_is_idempotent():
  clean = intensity.baseline_correct(synthetic_record(1), DT)
  ev, ed = end_errors(clean)
  assert ev <= 1e-9 and ed <= 1e-9
  np.testing.assert_allclose(intensity.baseline_correct(clean, DT), clean, atol=1e-12)
  t = np.arange(clean.size) * DT
  # Order 3 removes exactly an offset plus linear drift from a clean record.
  np.testing.assert_allclose(intensity.baseline_correct(clean + 0.05 + 0.004 * t, DT), clean, atol=1e-10)
  for order in (4, 5):
    once = intensity.baseline_correct(clean, DT, order)
    np.testing.assert_allclose(intensity.baseline_correct(once, DT, order), once, atol=1e-10)


def test_baseline_correct_leaves_analytic_clean_record_nearly_unchanged():
  # d(t) = sin^2(pi t / D) sin(2 pi f t) starts and ends at rest; a = d''.
  D, f = 20.0, 1.0
  t = np.arange(int(D / DT) + 1) * DT
  w, W = np.pi / D, 2 * np.pi * f
  s2 = np.sin(w * t) ** 2
  ds2 = w * np.sin(2 * w * t)
  dds2 = 2 * w * w * np.cos(2 * w * t)
  a = dds2 * np.sin(W * t) + 2 * ds2 * W * np.cos(W * t) - s2 * W * W * np.sin(W * t)
  out = intensity.baseline_correct(a, DT)
  assert np.abs(out - a).max() <= 1e-3 * np.abs(a).max()


@pytest.mark.parametrize("seed", [0, 4])
def test_baseline_correct_changes_spectrum_less_than_one_percent(seed):
  a = synthetic_record(seed)
  _, d = intensity.velocity_displacement(a, DT)
  assert abs(d[-1]) > 0.2  # a real drift to remove
  periods = spectra.log_periods(0.05, 4.0, 40)
  before = np.asarray(spectra.response_spectrum(a, DT, periods))
  after = np.asarray(spectra.response_spectrum(intensity.baseline_correct(a, DT), DT, periods))
  assert np.max(np.abs(after / before - 1)) < 0.01


def test_baseline_correct_batched_matches_single():
  batch = np.stack([synthetic_record(s) for s in range(4)]).reshape(2, 2, -1)
  out = intensity.baseline_correct(batch, DT)
  assert out.shape == batch.shape
  np.testing.assert_allclose(out[1, 0], intensity.baseline_correct(batch[1, 0], DT), atol=1e-12)


def test_velocity_displacement_of_constant_is_exact():
  v, d = intensity.velocity_displacement(np.full(101, 2.0), 0.1)
  t = np.arange(101) * 0.1
  np.testing.assert_allclose(v, 2.0 * t, atol=1e-12)
  np.testing.assert_allclose(d, t * t, atol=1e-9)  # trapezoid error of t^2 is O(dt^2) per step
  assert v[0] == 0 and d[0] == 0


# --- Energy and duration ------------------------------------------------------


def test_arias_intensity_of_sine():
  amp, f, D = 3.0, 2.0, 10.0
  _, a = sine(amp, f, D)
  expected = np.pi / (2 * validation.G_MS2) * amp**2 * D / 2
  assert intensity.arias_intensity(a, DT) == pytest.approx(expected, rel=1e-3)


def test_husid_linear_and_durations_of_constant_amplitude():
  D = 20.0
  a = np.full(int(D / DT) + 1, 1.5)  # duration (n - 1) dt = D
  h = intensity.husid(a, DT)
  np.testing.assert_allclose(h, np.linspace(0, 1, a.size), atol=1e-12)
  assert intensity.d5_95(a, DT) == pytest.approx(0.9 * D, abs=1e-9)
  assert intensity.d5_75(a, DT) == pytest.approx(0.7 * D, abs=1e-9)
  assert intensity.significant_duration(a, DT, 0.2, 0.3) == pytest.approx(0.1 * D, abs=1e-9)


def test_durations_of_sine_within_a_quarter_period():
  _, a = sine(1.0, 5.0, 20.0)
  assert intensity.d5_95(a, DT) == pytest.approx(18.0, abs=0.05)
  assert intensity.d5_75(a, DT) == pytest.approx(14.0, abs=0.05)


# --- Peaks --------------------------------------------------------------------


def test_peaks_of_sine_from_rest():
  amp, f = 2.0, 0.5
  w = 2 * np.pi * f
  t, a = sine(amp, f, 4.0)  # two cycles
  # v = A/w (1 - cos wt), peak 2A/w; d = A/w (t - sin(wt)/w), peak at the end.
  assert intensity.pga(a) == pytest.approx(amp, rel=1e-4)
  assert intensity.pgv(a, DT) == pytest.approx(2 * amp / w, rel=1e-4)
  t_end = t[-1]
  assert intensity.pgd(a, DT) == pytest.approx(amp / w * (t_end - np.sin(w * t_end) / w), rel=1e-4)


# --- Frequency content --------------------------------------------------------


@pytest.mark.parametrize("f", [0.5, 2.0, 7.0])
def test_mean_period_of_pure_sine(f):
  _, a = sine(1.0, f, 20.0)
  assert intensity.mean_period(a, DT) == pytest.approx(1.0 / f, rel=1e-6)


def test_fourier_amplitude_of_sine():
  amp, f, D = 1.5, 4.0, 10.0
  _, a = sine(amp, f, D)
  freqs, fas = intensity.fourier_amplitude(a, DT)
  k = int(np.argmax(fas))
  assert freqs[k] == pytest.approx(f)
  assert fas[k] == pytest.approx(amp * D / 2, rel=1e-9)


def test_fourier_roughness_of_noise_is_the_rayleigh_value_whatever_its_colour():
  """Random-phase records: log10 |X| of a complex Gaussian has std pi / sqrt(24) / ln 10
  (0.2785), less the share the running mean takes out; a smooth spectral shape changes
  nothing, a jagged (comb) gain raises it."""
  rng = np.random.default_rng(0)
  white = rng.standard_normal((100, 3000))
  freqs = np.fft.rfftfreq(3000, DT)
  brune = freqs**2 / (1 + (freqs / 2.0) ** 2)  # A Brune source's acceleration spectrum, corner 2 Hz.
  coloured = np.fft.irfft(np.fft.rfft(white, axis=-1) * brune, 3000, axis=-1)
  assert np.mean(intensity.fourier_roughness(white, DT)) == pytest.approx(intensity.RAYLEIGH_LOG10_STD, abs=0.01)
  assert np.mean(intensity.fourier_roughness(coloured, DT)) == pytest.approx(intensity.RAYLEIGH_LOG10_STD, abs=0.01)
  comb = np.where(np.sin(2 * np.pi * np.log(np.maximum(freqs, 0.1)) / np.log(1.15)) > 0, 3.0, 1 / 3)  # 15% wide teeth.
  jagged = np.fft.irfft(np.fft.rfft(white, axis=-1) * comb, 3000, axis=-1)
  # Teeth of +-log10(3) add their own spread (about 0.48) to the noise's, in quadrature.
  assert np.mean(intensity.fourier_roughness(jagged, DT)) > 0.5
  with pytest.raises(ValueError, match="relative_width"):
    intensity.fourier_roughness(white, DT, relative_width=0.0)
  with pytest.raises(ValueError, match="f_min"):
    intensity.fourier_roughness(white, DT, f_min=30.0, f_max=20.0)


def test_common_spectral_line_finds_a_line_every_record_shares():
  """Random-phase records share no line (the mean of 100 records' log spectra is flat to
  about 0.04); a 12.5 Hz sine in each, with a random phase and a fifth of the noise's RMS,
  stands out at 12.5 Hz."""
  rng = np.random.default_rng(0)
  noise = rng.standard_normal((100, 3000))
  quiet = fit.common_spectral_line(noise, DT)
  assert quiet["height_log10"] < 0.08
  t = np.arange(3000) * DT
  lined = noise + 0.3 * np.sin(2 * np.pi * 12.5 * t + rng.uniform(0, 2 * np.pi, (100, 1)))
  loud = fit.common_spectral_line(lined, DT)
  assert loud["frequency_hz"] == pytest.approx(12.5, abs=0.1)
  assert loud["height_log10"] > 0.5
  with pytest.raises(ValueError, match="segment_s"):
    fit.common_spectral_line(noise[:, :100], DT)


def test_spectrogram_shapes_and_peak():
  _, a = sine(1.0, 3.0, 20.0)
  freqs, times, power = intensity.spectrogram(np.stack([a, a]), DT, window_s=2.0, overlap=0.5)
  assert power.shape == (2, freqs.size, times.size)
  assert freqs[np.argmax(power[0].mean(-1))] == pytest.approx(3.0, abs=0.5)
  assert times[0] == pytest.approx(1.0, abs=DT)


# --- Summary and comparison ---------------------------------------------------


def test_summary_keys_and_shapes():
  recs = np.stack([intensity.baseline_correct(synthetic_record(s), DT) for s in range(3)])
  s = intensity.summary(recs, DT)
  assert set(s) == {"arias_ms", "d5_75_s", "d5_95_s", "pga_ms2", "t_pga_s", "pgv_ms", "pgd_m", "mean_period_s"}
  for v in s.values():
    assert v.shape == (3,) and np.all(np.isfinite(v)) and np.all(v > 0)
  np.testing.assert_allclose(s["pga_ms2"], np.abs(recs).max(-1))
  np.testing.assert_allclose(s["t_pga_s"], np.argmax(np.abs(recs), -1) * DT)
  assert np.all(s["d5_75_s"] < s["d5_95_s"])


def test_pga_time_known_answer():
  a = np.zeros((2, 500))
  a[0, 123], a[1, 40], a[1, 400] = -3.0, 2.0, 2.0  # A negative peak; a tie takes the first.
  np.testing.assert_allclose(intensity.pga_time(a, 0.02), [123 * 0.02, 40 * 0.02])
  with pytest.raises(ValueError, match="dt"):
    intensity.pga_time(a, 0.0)


def test_compare_ks_identical_and_disjoint():
  x = np.linspace(1.0, 2.0, 30)
  same = fit.compare({"pga_ms2": x}, {"pga_ms2": x})["pga_ms2"]
  assert same["ks"] == 0.0 and same["p_value"] == pytest.approx(1.0)
  assert same["ratio_of_medians"] == pytest.approx(1.0)
  apart = fit.compare({"pga_ms2": x, "only_real": x}, {"pga_ms2": x + 10.0})
  assert set(apart) == {"pga_ms2"}
  assert apart["pga_ms2"]["ks"] == 1.0 and apart["pga_ms2"]["p_value"] < 1e-6
  assert apart["pga_ms2"]["median_generated"] == pytest.approx(11.5)


# --- Spectral fit -------------------------------------------------------------


def test_identical_spectra_fit_perfectly():
  tgt = np.geomspace(0.5, 8.0, 50)
  assert float(fit.spectral_r2(tgt, tgt)) == 1.0
  assert float(fit.spectral_rmse(tgt, tgt)) == 0.0
  assert float(fit.log_spectral_rmse(tgt, tgt)) == 0.0
  np.testing.assert_array_equal(np.asarray(fit.relative_misfit(tgt, tgt)), 0.0)


def test_constant_offset_known_values():
  tgt = np.geomspace(0.5, 8.0, 50)
  c = 0.3
  ss_tot = np.sum((tgt - tgt.mean()) ** 2)
  assert float(fit.spectral_rmse(tgt, tgt + c)) == pytest.approx(c, rel=1e-5)
  assert float(fit.spectral_r2(tgt, tgt + c)) == pytest.approx(1 - tgt.size * c * c / ss_tot, rel=1e-5)
  assert float(fit.log_spectral_rmse(tgt, 10 * tgt)) == pytest.approx(1.0, rel=1e-6)
  np.testing.assert_allclose(np.asarray(fit.relative_misfit(tgt, 1.1 * tgt)), 0.1, rtol=1e-5)
  # Read on peak-normalised spectra, the same offset is c / 8 (the target's peak), and the
  # reading does not change when both spectra are scaled.
  assert float(fit.peak_normalised_rmse(tgt, tgt + c)) == pytest.approx(c / 8.0, rel=1e-5)
  assert float(fit.peak_normalised_rmse(100 * tgt, 100 * (tgt + c))) == pytest.approx(c / 8.0, rel=1e-5)


def test_fit_metrics_batch_broadcast_and_jit():
  tgt = np.geomspace(0.5, 8.0, 20)
  gen = np.stack([tgt, tgt + 0.05, 2 * tgt])
  r2 = jax.jit(fit.spectral_r2)(tgt, gen)
  rmse = jax.jit(fit.spectral_rmse)(tgt, gen)
  assert r2.shape == (3,) and rmse.shape == (3,)
  ok = jax.jit(fit.paper_criterion)(r2, rmse)
  np.testing.assert_array_equal(np.asarray(ok), [True, True, False])
  np.testing.assert_array_equal(np.asarray(fit.paper_criterion(jnp.array([0.8, 0.9]), jnp.array([0.05, 0.1]))),
                                [False, False])  # strict inequalities


def test_flat_target_is_guarded():
  flat = np.full(10, 2.0)
  assert float(fit.spectral_r2(flat, flat)) == 1.0
  r2 = float(fit.spectral_r2(flat, flat + 0.1))
  assert np.isfinite(r2) and r2 < -1e6


# --- Bad input ----------------------------------------------------------------


@pytest.mark.parametrize("fn", [intensity.arias_intensity, intensity.husid, intensity.d5_95, intensity.pgv,
                                intensity.pgd, intensity.mean_period, intensity.fourier_amplitude, intensity.summary,
                                intensity.baseline_correct, intensity.velocity_displacement])
def test_bad_input_raises_naming_argument(fn):
  a = synthetic_record()
  bad = a.copy()
  bad[5] = np.nan
  with pytest.raises(ValueError, match="accel_ms2"):
    fn(bad, DT)
  with pytest.raises(ValueError, match="accel_ms2"):
    fn(np.zeros((0,)), DT)
  for dt in (0.0, -0.01, np.nan):
    with pytest.raises(ValueError, match="dt"):
      fn(a, dt)


def test_bad_options_raise():
  a = synthetic_record()
  with pytest.raises(ValueError, match="order"):
    intensity.baseline_correct(a, DT, order=2)
  with pytest.raises(ValueError, match="start"):
    intensity.significant_duration(a, DT, 0.9, 0.1)
  with pytest.raises(ValueError, match="zero everywhere"):
    intensity.husid(np.zeros(100), DT)
  with pytest.raises(ValueError, match="window_s"):
    intensity.spectrogram(a, DT, window_s=100.0)
  with pytest.raises(ValueError, match="overlap"):
    intensity.spectrogram(a, DT, overlap=1.0)
  with pytest.raises(ValueError, match="target"):
    fit.spectral_r2([1.0, np.nan], [1.0, 2.0])
  with pytest.raises(ValueError, match="generated"):
    fit.spectral_rmse([1.0, 2.0], [])
  with pytest.raises(ValueError, match="generated"):
    fit.log_spectral_rmse([1.0, 2.0], [1.0, -2.0])
  with pytest.raises(ValueError, match="rmse"):
    fit.paper_criterion([0.9], [np.nan])
  with pytest.raises(ValueError, match="empty"):
    fit.compare({"x": []}, {"x": [1.0]})


def test_pair_correlations_known_answers():
  t = np.arange(2000) * 0.01
  s, c = np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)  # Whole cycles: orthogonal.
  r = fit.pair_correlations(np.stack([s, 3 * s + 1, c]))
  np.testing.assert_allclose(np.sort(r), [0, 0, 0, 0, 1, 1], atol=1e-9)
  assert fit.pair_correlations(s[None]).size == 0
