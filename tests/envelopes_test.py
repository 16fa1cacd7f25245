"""Envelopes of simulated S waves against published values and closed forms."""

import math

import numpy as np
import pytest

from data_prep import envelopes


def test_path_duration_is_boore_thompson_2014_table_1():
  # Their Table 1 (active crust): R_ps 0, 7, 45, 125, 175, 270 km -> 0, 2.4, 8.4, 10.9, 17.4, 34.2 s,
  # linear in between, 0.156 s/km beyond 270 km.
  r = [0.0, 7.0, 45.0, 125.0, 175.0, 270.0]
  np.testing.assert_allclose(envelopes.path_duration_s(r), [0.0, 2.4, 8.4, 10.9, 17.4, 34.2], atol=1e-12)
  assert envelopes.path_duration_s(26.0) == pytest.approx(2.4 + 19.0 / 38.0 * 6.0)
  assert envelopes.path_duration_s(370.0) == pytest.approx(34.2 + 15.6)
  assert envelopes.excitation_duration_s(3.0, 45.0) == pytest.approx(11.4)
  with pytest.raises(ValueError, match="r_ps_km"):
    envelopes.path_duration_s(-1.0)


def test_coda_q_in_aki_chouet_1975_range_for_western_japan():
  # "Q of coda waves ... increasing from 50-200 at 1 Hz to about 1000-2000 at 20 Hz".
  q1, q20 = envelopes.coda_q([1.0, 20.0])
  assert 50 <= q1 <= 200 and 1000 <= q20 <= 2000
  assert q20 == pytest.approx(100.0 * 20.0 ** 0.8)


def test_sato_k_closed_form():
  # K(tau) = ln((tau + 1) / (tau - 1)) / tau: K(2) = ln(3) / 2, K(3) = ln(2) / 3, and 2 / tau^2 far out.
  np.testing.assert_allclose(envelopes.sato_k([2.0, 3.0]), [math.log(3) / 2, math.log(2) / 3], rtol=1e-12)
  assert envelopes.sato_k(1000.0) == pytest.approx(2e-6, rel=1e-6)
  with pytest.raises(ValueError, match="tau"):
    envelopes.sato_k(1.0)


def test_saragoni_hart_peak_and_eta():
  t_eta = 10.0
  t = np.linspace(0.0, 20.0, 200001)
  w = envelopes.saragoni_hart(t, t_eta)
  assert w.max() == pytest.approx(1.0, abs=1e-9) and t[np.argmax(w)] == pytest.approx(0.2 * t_eta, abs=1e-3)
  assert envelopes.saragoni_hart(t_eta, t_eta) == pytest.approx(0.05, rel=1e-12)
  assert envelopes.saragoni_hart(-1.0, t_eta) == 0.0
  # The P window ramps from 0 to the Saragoni-Hart value within ramp_s.
  assert envelopes.p_envelope(0.005, 4.0, 0.01, 0.05) == pytest.approx(0.5 * envelopes.saragoni_hart(0.005, 4.0, 0.05))


def test_band_weights_split_white_noise_power():
  centres = envelopes.band_centres_hz(50.0)
  assert centres[0] == 0.125 and centres[-1] == 64.0 and np.allclose(np.diff(np.log2(centres)), 1.0)
  f = np.linspace(0.0, 50.0, 5001)
  w = envelopes.band_weights(f, centres)
  np.testing.assert_allclose((w ** 2).sum(axis=0), 1.0, rtol=1e-12)
  # Each band is strongest at its own centre.
  assert all(np.argmax(envelopes.band_weights(centres, centres), axis=0) == np.arange(centres.size))


def test_coda_envelope_closed_form():
  # Lapse time t = 60 s at 1 Hz, 30 s travel, T_e = 10 s: C^2 = E_D g0 beta K(2) exp(-2 pi 30 / Q_c(1))
  # with E_D the energy of the Saragoni-Hart window of t_eta = 20 s.
  dt = 0.01
  t = np.arange(0.0, 100.0, dt)
  travel, te, g0, beta = 30.0, 10.0, 0.02, 3.5
  c = envelopes.coda_envelopes(t, 5.0, travel, te, [1.0], g0, beta)[0]
  e_d = np.sum(envelopes.saragoni_hart(np.arange(1, 200001) * 0.001, 2 * te) ** 2) * 0.001
  expect = math.sqrt(e_d * g0 * beta * math.log(3) / 2 * math.exp(-2 * math.pi * 30.0 / 100.0))
  assert c[int(round((5.0 + 30.0) / dt))] == pytest.approx(expect, rel=1e-3)
  # Nothing before the S onset; constant until the direct window ends; faster decay at 10 Hz than at 1 Hz.
  assert np.all(c[: int(5.0 / dt) + 1] == 0.0)
  assert c[int(6.0 / dt)] == pytest.approx(c[int(15.0 / dt)], rel=1e-12)
  c10 = envelopes.coda_envelopes(t, 5.0, travel, te, [10.0], g0, beta)[0]
  assert c10[int(80.0 / dt)] / c10[int(20.0 / dt)] < c[int(80.0 / dt)] / c[int(20.0 / dt)]


def test_coda_length_fixed_point():
  x = envelopes.coda_length_s(40.0, 0.02)
  k = math.pi / 100.0
  assert (40.0 / (40.0 + x)) * math.exp(-k * x) == pytest.approx(0.02, rel=1e-6)
