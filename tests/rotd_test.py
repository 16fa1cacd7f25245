"""Orientation-independent spectra of horizontal pairs (RotD0/50/100, geometric mean):
known answers, pyrotd on real K-NET pairs, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvaegan_jax import spectra
from data_prep import knet
from tests.conftest import DATA_DIR

PERIODS = np.geomspace(0.05, 10.0, 20)


def _pair(station: str) -> np.ndarray:
  """The EW and NS records of one station of the M6.2 Aomori event, demeaned: ``[2, T]``."""
  recs = [knet.read_knet_file(DATA_DIR / f"knet/us2000cnnl/{station}1801241951.{c}") for c in ("EW", "NS")]
  return np.stack([r.accel_ms2 - r.accel_ms2.mean() for r in recs])


def test_unidirectional_motion_has_rotd100_of_its_psa_and_rotd0_zero():
  a = _pair("AOM008")[0, 3000:6000].astype(np.float32)
  psa = np.asarray(spectra.response_spectrum(a, 0.01, PERIODS))
  for azimuth_deg in (30.0, 131.0):  # On the 1-degree grid: the orthogonal angle is on it too.
    phi = np.radians(azimuth_deg)
    pair = np.stack([np.cos(phi) * a, np.sin(phi) * a])
    rot = np.asarray(spectra.rotd_spectrum(pair, 0.01, PERIODS, percentiles=spectra.ROTD_PERCENTILES))
    np.testing.assert_allclose(rot[2], psa, rtol=1e-5)
    assert np.all(rot[0] < 1e-5 * psa)
    # RotD50 of a line: the median over angles of |cos(theta - phi)| PSA, cos(45 deg) PSA.
    np.testing.assert_allclose(rot[1], np.cos(np.radians(45.0)) * psa, rtol=1e-4)
  # Off the grid by half a degree, RotD100 misses the peak by at most 1 - cos(0.5 deg) = 4e-5.
  phi = np.radians(30.5)
  rot = np.asarray(spectra.rotd_spectrum(np.stack([np.cos(phi) * a, np.sin(phi) * a]), 0.01, PERIODS,
                                         percentiles=100))
  assert np.all(rot[0] <= psa * (1 + 1e-5)) and np.all(rot[0] >= psa * (np.cos(np.radians(0.5)) - 1e-5))


def test_circular_motion_is_the_same_in_every_direction():
  # a = (cos wt, sin wt) under a smooth 30 s ramp: in steady state every oscillator moves on a circle,
  # so its peak is the same at every angle: RotD0 = RotD50 = RotD100, up to what is left of the
  # start's transient (free vibration along fixed directions; periods to 2 s, 5% damping).
  dt, t = 0.01, 0.01 * np.arange(12000)
  ramp = np.where(t < 30.0, 0.5 * (1.0 - np.cos(np.pi * t / 30.0)), 1.0)  # Smooth: no kick.
  w = 2 * np.pi * 1.3
  pair = np.stack([ramp * np.cos(w * t), ramp * np.sin(w * t)]).astype(np.float32)
  periods = np.geomspace(0.05, 2.0, 12)
  rot = np.asarray(spectra.rotd_spectrum(pair, dt, periods, percentiles=spectra.ROTD_PERCENTILES))
  np.testing.assert_allclose(rot[0], rot[2], rtol=2e-3)
  np.testing.assert_allclose(rot[1], rot[2], rtol=2e-3)


def test_rotd_does_not_depend_on_the_sensor_orientation():
  # The defining property: the pair turned by any whole number of degrees has the same RotDnn.
  x = _pair("AOM005")[:, 2000:7000].astype(np.float32)
  rot = np.asarray(spectra.rotd_spectrum(x, 0.01, PERIODS, percentiles=spectra.ROTD_PERCENTILES))
  for deg in (17.0, 90.0, 233.0):
    c, s_ = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    turned = np.stack([c * x[0] + s_ * x[1], -s_ * x[0] + c * x[1]])
    np.testing.assert_allclose(spectra.rotd_spectrum(turned, 0.01, PERIODS, percentiles=spectra.ROTD_PERCENTILES),
                               rot, rtol=2e-5)


@pytest.mark.parametrize("station", ["AOM001", "AOM005", "AOM008"])
def test_matches_pyrotd_on_real_knet_pairs(station):
  # pyrotd (frequency domain, Kottke) peaks a band-limited interpolation of the response,
  # ours the samples; both agree to 1e-3 where an oscillator period spans >= 150 samples
  # (their single-component PSA too). The records are zero-padded so that pyrotd's circular
  # convolution does not wrap; our spectra include the same free vibration after the record.
  pyrotd = pytest.importorskip("pyrotd")  # In the `test` extra: installed by `make test`.
  x = _pair(station)
  x = np.concatenate([x, np.zeros((2, 2 * x.shape[1]))], axis=1)
  periods = np.geomspace(1.5, 10.0, 12)
  ours = np.asarray(spectra.rotd_spectrum(x.astype(np.float32), 0.01, periods,
                                          percentiles=spectra.ROTD_PERCENTILES))
  ref = pyrotd.calc_rotated_spec_accels(0.01, x[0], x[1], 1.0 / periods, 0.05, percentiles=[0, 50, 100],
                                        method="rigorous")
  theirs = np.array([[r.spec_accel for r in ref if r.percentile == q] for q in (0, 50, 100)])
  np.testing.assert_allclose(ours, theirs, rtol=1e-3)
  # RotD0 <= geometric mean <= RotD100 for any pair.
  gm = np.asarray(spectra.geometric_mean_spectrum(x.astype(np.float32), 0.01, periods))
  psa = np.asarray(spectra.response_spectrum(x.astype(np.float32), 0.01, periods))
  np.testing.assert_allclose(gm, np.sqrt(psa[0] * psa[1]), rtol=1e-6)
  assert np.all(ours[0] <= gm * (1 + 1e-6)) and np.all(gm <= ours[2] * (1 + 1e-6))


def test_rotd_gradient_matches_central_differences():
  x = _pair("AOM008")[:, 3000:3400]
  periods = np.array([0.1, 0.5, 2.0])

  def loss(pair):
    return jnp.sum(jnp.log(spectra.rotd_spectrum(pair, 0.01, periods, percentiles=(50.0, 100.0), num_angles=36)))

  with jax.enable_x64(True):
    p = jnp.asarray(x, jnp.float64)
    g = np.asarray(jax.grad(loss)(p))
    assert g.shape == (2, 400) and np.all(np.isfinite(g))
    for c, i in list(zip(*np.unravel_index(np.argsort(-np.abs(g), axis=None)[:6], g.shape))):
      e = jnp.zeros_like(p).at[c, i].set(1e-7)
      fd = (loss(p + e) - loss(p - e)) / 2e-7
      assert float(fd) == pytest.approx(g[c, i], rel=1e-4), (c, i)


def test_bad_pairs_and_percentiles_name_the_problem():
  with pytest.raises(ValueError, match=r"\[\.\.\., 2, time\]"):
    spectra.rotd_spectrum(np.zeros((3, 100)), 0.01, PERIODS)
  with pytest.raises(ValueError, match="percentiles"):
    spectra.rotd_spectrum(np.ones((2, 100)), 0.01, PERIODS, percentiles=(50, 120))
  with pytest.raises(ValueError, match="periods must be > 0"):
    spectra.rotd_spectrum(np.ones((2, 100)), 0.01, [0.0, 1.0])


def test_max_direction_spectrum_is_rotd100_over_every_angle():
  # The orbit's length is the largest rotated response at each instant: on real pairs it is
  # RotD100 from 180 angles a degree apart, and above it by at most 1 - cos(0.5 deg) = 4e-5.
  pairs = np.stack([_pair("AOM008")[:, 3000:6000], _pair("AOM007")[:, 3000:6000]]).astype(np.float32)
  grid = np.asarray(spectra.rotd_spectrum(pairs, 0.01, PERIODS, percentiles=(100.0,)))[:, 0]
  exact = np.asarray(spectra.max_direction_spectrum(pairs, 0.01, PERIODS))
  assert np.all(exact >= grid * (1 - 1e-5)) and np.all(exact <= grid * (1 + 4e-5 + 1e-5))  # float32 rounding
  # A line along an azimuth off the grid: RotD100 is the line's PSA exactly.
  a = pairs[0, 0]
  phi = np.radians(37.3)
  line = np.stack([np.cos(phi) * a, np.sin(phi) * a])
  np.testing.assert_allclose(spectra.max_direction_spectrum(line, 0.01, PERIODS),
                             spectra.response_spectrum(a, 0.01, PERIODS), rtol=1e-5)
  with pytest.raises(ValueError, match="two horizontal components"):
    spectra.max_direction_spectrum(pairs[:, :1], 0.01, PERIODS)


def test_rotated_peaks_are_each_angles_peak_with_its_time_and_sign():
  # Against the reference recursion (sdof_response) on the record rotated by hand: the peak
  # |u| at each angle, the sample where it occurs and u's sign there; their percentile over
  # the angles is rotd_spectrum's RotD50.
  pair = _pair("AOM008")[:, 3000:4500].astype(np.float32)
  periods = np.array([0.1, 0.5, 2.0])
  peak, idx, sign = (np.asarray(v) for v in spectra.rotated_peaks(pair[None], 0.01, periods, num_angles=12))
  assert peak.shape == idx.shape == sign.shape == (1, 12, 3)
  for k in (0, 5, 11):
    theta = np.pi * k / 12
    u = np.asarray(spectra.sdof_response(np.cos(theta) * pair[0] + np.sin(theta) * pair[1], 0.01, periods).disp)
    u = u.reshape((-1, u.shape[-1]))  # [P, T]
    np.testing.assert_allclose(peak[0, k], np.abs(u).max(axis=-1), rtol=1e-4)
    np.testing.assert_allclose(np.abs(u[np.arange(3), idx[0, k]]), peak[0, k], rtol=1e-4)
    np.testing.assert_array_equal(sign[0, k], np.sign(u[np.arange(3), idx[0, k]]))
  omega2 = (2 * np.pi / periods) ** 2
  np.testing.assert_allclose(np.percentile(peak[0] * omega2, 50.0, axis=0),
                             np.asarray(spectra.rotd_spectrum(pair, 0.01, periods, num_angles=12))[0], rtol=1e-5)
  with pytest.raises(ValueError, match=r"\[N, 2, time\]"):
    spectra.rotated_peaks(pair, 0.01, periods)
