"""Realism measures of generated records against real ones, against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from cvaegan_jax import evaluate, figures, fit, intensity

DT = 0.01
T = 3000  # 30 s.


def bursts(num, seed=0, t=T, background=0.0):
  """``[num, t]`` noise bursts (m/s^2) with onsets spread over 2-20 s, lengths 4-9 s, and
  zeros before and after (or noise of RMS ``background``): without background their Husid
  times shift exactly with the burst."""
  rng = np.random.default_rng(seed)
  out = background * rng.standard_normal((num, t))
  for i in range(num):
    start = int(rng.integers(200, 2000))
    n = int(rng.integers(400, 900))
    env = np.exp(-np.linspace(0.0, 3.0, n))
    out[i, start:start + n] = rng.uniform(0.5, 2.0) * env * rng.standard_normal(n)
  return out


def test_t5_is_the_husid_crossing_and_shifts_with_the_record():
  a = np.zeros((2, 1000))
  a[0, 200:600] = 1.0
  a[1, 300:700] = 2.0
  t5 = intensity.t5(a, DT)
  # Constant energy from sample 200 (the trapezoid ramps in over half a sample): 5% of 4 s.
  np.testing.assert_allclose(t5, [2.0 - 0.005 + 0.05 * 4.0, 3.0 - 0.005 + 0.05 * 4.0], atol=1e-9)
  np.testing.assert_allclose(intensity.husid_time(a, DT, 0.95) - t5, intensity.d5_95(a, DT), atol=1e-9)
  with pytest.raises(ValueError, match="level"):
    intensity.husid_time(a, DT, 1.5)


def test_log_envelope_windows_and_floor():
  a = np.zeros((2, 1050))
  a[0, 100:300] = 3.0  # Windows 1 and 2 of 1 s.
  a[1] = np.sin(2 * np.pi * 5.0 * np.arange(1050) * DT)  # Whole cycles in each window: RMS 1/sqrt(2).
  env = intensity.log_envelope(a, DT, 1.0)
  assert env.shape == (2, 10)  # The last 0.5 s is dropped.
  np.testing.assert_allclose(env[0], [-8, np.log10(3), np.log10(3)] + [-8] * 7)
  np.testing.assert_allclose(env[1], np.log10(np.sqrt(0.5)), atol=1e-9)
  assert intensity.log_envelope(a, DT, 2.0).shape == (2, 5)
  with pytest.raises(ValueError, match="window_s"):
    intensity.log_envelope(a, DT, 20.0)


def test_envelope_jump_finds_a_step_and_its_size_and_a_ramp_has_none():
  t = np.arange(T) * DT
  tone = np.sin(2 * np.pi * 20.0 * t)  # Two whole cycles per 0.1 s bin: every bin's RMS is 1/sqrt(2).
  step = np.where(t >= 8.0, 10.0, 1.0) * tone * (t >= 1.0)  # P at 1 s, S tenfold at 8 s.
  ramp = 10.0 ** np.clip((t - 6.0) / 5.0, 0.0, 1.0) * tone * (t >= 1.0)  # Tenfold over 5 s.
  onset, jump = intensity.envelope_jump(np.stack([step, ramp]), DT)
  assert onset[0] == pytest.approx(8.0) and jump[0] == pytest.approx(1.0, abs=1e-9)
  # A log-linear rise of 0.2 per s: the 1 s means after and before differ by 0.2 at most.
  assert jump[1] == pytest.approx(0.2, abs=0.02)
  # The P arrival at 1 s jumps further, but before start_s; with start_s = window_s it wins.
  onset, jump = intensity.envelope_jump(step, DT, start_s=1.0)
  assert onset == pytest.approx(1.0) and jump > 5.0
  with pytest.raises(ValueError, match="start_s"):
    intensity.envelope_jump(step, DT, start_s=0.5)
  with pytest.raises(ValueError, match="too short"):
    intensity.envelope_jump(step[:250], DT)


def test_identical_sets_are_perfectly_realistic():
  x = bursts(200)
  m = fit.realism(x, x, DT, per_target=2)
  for name in ("d5_75_s", "d5_95_s", "t5_s", "t_pga_s"):
    assert m[name]["ks"] == 0.0 and m[name]["median_real"] == m[name]["median_generated"]
  assert m["ratio_of_medians"] == pytest.approx({"arias_ms": 1.0, "pgv_ms": 1.0, "pgd_m": 1.0})
  assert m["log_envelope_distance"] == 0.0
  assert m["s_onset"]["ks_time"] == m["s_onset"]["ks_jump"] == 0.0
  assert m["pga_time_max_bin_share"]["generated"] == m["pga_time_max_bin_share"]["real"] <= 0.03
  assert abs(m["sample_correlation"]["generated"]) < 0.05  # Distinct bursts, paired as "samples".
  assert m["passes"] == {"ks_d5_75": True, "ks_d5_95": True, "ks_t5": True, "ks_t_pga": True,
                         "pga_time_bin_share": True, "arias_ratio": True, "pgd_ratio": True,
                         "sample_correlation": True, "all": True}
  assert set(m["_values"]["real"]) == {"d5_75_s", "d5_95_s", "t5_s", "t_pga_s", "s_onset_jump", "log_envelope"}
  assert m["_values"]["real"]["log_envelope"].shape == m["_values"]["envelope_times_s"].shape == (30,)


def test_peaks_at_one_instant_fill_one_bin():
  x = bursts(50)
  g = 0.01 * bursts(50, seed=1)
  g[:, 1234] = 5.0  # Every PGA at 12.34 s.
  m = fit.realism(x, g, DT, per_target=1)
  assert m["pga_time_max_bin_share"]["generated"] == 1.0
  assert m["_values"]["generated"]["t_pga_s"] == pytest.approx(np.full(50, 12.34))
  assert not m["passes"]["pga_time_bin_share"] and not m["passes"]["all"]
  assert m["sample_correlation"]["generated"] is None and m["passes"]["sample_correlation"] is None
  # Bins start at 0 and a time on an edge opens its bin (12.3 s is in [12.3, 12.4)).
  assert fit.pga_time_max_bin_share([12.3, 12.39, 12.4, 0.0], 0.1) == 0.5
  # Sample times in float32 (as the jitted validation gives them) land in the same bins.
  times = np.arange(3000) * 0.01
  np.testing.assert_array_equal(
      [fit.pga_time_max_bin_share(times[i:i + 10], 0.1) for i in range(0, 3000, 10)], 1.0)
  times32 = 0.01 * np.arange(3000, dtype=np.float32)
  assert [fit.pga_time_max_bin_share(times32[i:i + 10], 0.1) for i in range(0, 3000, 10)] == [1.0] * 300
  with pytest.raises(ValueError, match="bin_s"):
    fit.pga_time_max_bin_share([1.0], 0.0)


def test_a_shifted_copy_moves_t5_by_the_shift_and_ks_by_hand():
  x = bursts(40)
  shift = 150  # 1.5 s; every burst ends before 29 s and is all zeros after, so nothing is cut.
  assert not np.any(x[:, -shift:])
  m = fit.realism(x, np.roll(x, shift, axis=-1), DT, per_target=1)
  assert m["t5_s"]["median_generated"] - m["t5_s"]["median_real"] == pytest.approx(1.5, abs=1e-9)
  assert m["t_pga_s"]["median_generated"] - m["t_pga_s"]["median_real"] == pytest.approx(1.5, abs=1e-9)
  onset = m["s_onset"]  # 1.5 s is 15 whole bins: the onsets move by it, the jumps stay.
  assert onset["median_time_generated"] - onset["median_time_real"] == pytest.approx(1.5, abs=1e-9)
  assert onset["median_jump_generated"] == pytest.approx(onset["median_jump_real"])
  for name in ("d5_95_s", "d5_75_s"):  # The same durations, up to rounding (~1e-15 s), which can
    # order a pair of nearly equal values differently: at most one step of the CDF.
    np.testing.assert_allclose(m["_values"]["generated"][name], m["_values"]["real"][name], atol=1e-9)
    assert m[name]["ks"] <= 1 / 40 + 1e-12
  # Tiny example: one burst at onsets 1, 2, 3 s, and the same shifted by 1.5 s. The t5 values
  # are {1, 2, 3} + c and {2.5, 3.5, 4.5} + c; the empirical CDFs differ most just past 2 + c
  # (2/3 against 0) and past 3 + c (1 against 1/3): KS = 2/3.
  burst = np.exp(-np.linspace(0.0, 3.0, 300)) * np.random.default_rng(0).standard_normal(300)
  real = np.zeros((3, 1000))
  for i, onset in enumerate((100, 200, 300)):
    real[i, onset:onset + 300] = burst
  tiny = fit.realism(real, np.roll(real, 150, axis=-1), DT, per_target=1)
  assert tiny["t5_s"]["ks"] == pytest.approx(2.0 / 3.0)
  assert tiny["t5_s"]["median_generated"] - tiny["t5_s"]["median_real"] == pytest.approx(1.5, abs=1e-9)


def test_a_scaled_copy_scales_arias_by_k_squared_and_pgd_by_k():
  x = bursts(30, background=0.01)  # No silent window: the envelope floor plays no part.
  k = 1.7
  m = fit.realism(x, k * x, DT, per_target=3)
  assert m["ratio_of_medians"]["arias_ms"] == pytest.approx(k**2)
  assert m["ratio_of_medians"]["pgd_m"] == pytest.approx(k)
  assert m["ratio_of_medians"]["pgv_ms"] == pytest.approx(k)
  assert m["log_envelope_distance"] == pytest.approx(np.log10(k))
  for name in ("d5_75_s", "d5_95_s", "t5_s", "t_pga_s"):  # Unchanged up to rounding (see above).
    np.testing.assert_allclose(m["_values"]["generated"][name], m["_values"]["real"][name], atol=1e-9)
    assert m[name]["ks"] <= 1 / 30 + 1e-12
  assert not m["passes"]["arias_ratio"] and not m["passes"]["pgd_ratio"]


def test_copies_of_one_record_as_samples_correlate_fully():
  x = bursts(10)
  m = fit.realism(x, np.repeat(x, 2, axis=0), DT, per_target=2)
  assert m["sample_correlation"]["generated"] == pytest.approx(1.0)
  assert m["passes"]["sample_correlation"] is False


def test_bad_inputs_are_named():
  x = bursts(4)
  with pytest.raises(ValueError, match="same T"):
    fit.realism(x, x[:, :-1], DT, per_target=1)
  with pytest.raises(ValueError, match="per_target"):
    fit.realism(x, x[:3], DT, per_target=2)


def test_realism_figure_from_the_measures(tmp_path):
  x = bursts(40, background=0.005)
  per_split = {}
  for split, g in (("test", bursts(80, seed=1)), ("ood_low", 0.3 * bursts(80, seed=2))):
    m = fit.realism(x, g, DT, per_target=2)
    per_split[split] = evaluate._realism_figure_data(m)
  figures.realism(per_split, str(tmp_path / "sub" / "realism.png"))
  assert (tmp_path / "sub" / "realism.png").stat().st_size > 20_000
