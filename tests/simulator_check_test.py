"""A simulated catalog against Afshari & Stewart (2016) durations and published PSA models.

PSA: Boore et al. (2014, japan) for hypocentres to 20 km, Abrahamson, Gregor & Addo
(2016, BC Hydro, interface) for deeper ones.

The same measurement as ``benchmarks/simulator.py`` (loaded from there), on
make quickstart's catalog: 60 events at seed 0 (330 stations, 660 horizontal
components; ~20 s).
"""

import math

import numpy as np
import pytest

from tests.conftest import load_benchmark

pytest.importorskip("pygmm")


bench = load_benchmark("simulator")


@pytest.fixture(scope="module")
def catalog():
  return bench.simulated_records(60, seed=0)


def test_as16_medians_known_values():
  # Afshari & Stewart (2016), strike-slip, Vs30 620 m/s, M5.6 at 94 km: D5-95 = 17.7 s (the issue's
  # example). M3.5 at 73 km: below M5.2 the source term is the constant 2.302 s, the path
  # 0.3165 * 10 + 0.2539 * 40 + 0.0932 * 23 s, the site factor (600 / 369.9)^-0.3183: 15.23 s.
  # At R = 0 and the reference Vs30 (369.9 m/s) only the source term is left.
  d75, d95 = bench.as16_medians([5.6, 3.5, 4.0], [94.0, 73.0, 0.0], 620.0)
  assert d95[0] == pytest.approx(17.7, abs=0.05)
  assert d95[1] == pytest.approx((2.302 + 3.165 + 0.2539 * 40 + 0.0932 * 23) * (600 / 369.9) ** -0.3183, rel=1e-4)
  assert bench.as16_medians([4.0], [0.0], 369.9)[1][0] == pytest.approx(2.302, rel=1e-4)
  assert np.all(d75 < d95)


def test_random_effects_recovers_tau_and_phi():
  rng = np.random.default_rng(0)
  groups = np.repeat(np.arange(300), 6)
  r = 0.3 + 0.4 * rng.standard_normal(300)[groups] + 0.6 * rng.standard_normal(groups.size)
  mean, tau, phi = bench.random_effects(r, groups)
  assert (mean, tau, phi) == pytest.approx((0.3, 0.4, 0.6), abs=0.05)


def test_durations_last_like_as16(catalog):
  # The bounds: mean ln(D / AS16) in [-0.1, 0.4], std in [0.3, 0.6] (real K-NET in tests/data:
  # D5-95 +0.38, std 0.46); before this simulator, D5-95 was -1.00 (std 0.44).
  res = bench.duration_residuals(catalog, bench.SIM_VS30_MS)
  for key in ("D5-75", "D5-95"):
    assert -0.1 <= res[key].mean() <= 0.4, (key, res[key].mean())
    assert 0.3 <= res[key].std() <= 0.6, (key, res[key].std())
  # No trend: every magnitude and distance bin with 40 components or more within 0.35 of the mean.
  d95 = res["D5-95"]
  for x, edges in ((catalog.magnitude, bench.M_BINS), (catalog.dist_km, bench.R_BINS_KM)):
    for lo, hi in zip(edges[:-1], edges[1:]):
      sel = (x >= lo) & (x < hi)
      if sel.sum() >= 40:
        assert abs(d95[sel].mean() - d95.mean()) <= 0.35, (lo, hi, d95[sel].mean())


def test_depth_split_model_takes_bssa14_shallow_and_aga16_interface_deep():
  # Hypocentres to 20 km against BSSA14 (R_JB = epicentral distance), deeper ones against AGA16's
  # interface model (rupture distance = hypocentral distance).
  m, r, epi, z = np.array([5.0, 6.0]), np.array([40.0, 80.0]), np.array([37.0, 72.0]), np.array([15.0, 35.0])
  split = bench.psa_medians_ms2("BSSA14+AGA16-interface", m, r, epi, z, 620.0)
  np.testing.assert_allclose(split[0], bench.bssa14_medians_ms2(m[:1], epi[:1], 620.0)[0], rtol=1e-9)
  np.testing.assert_allclose(split[1], bench.aga16_medians_ms2(m[1:], r[1:], z[1:], 620.0)[0], rtol=1e-9)
  with pytest.raises(ValueError):
    bench.psa_medians_ms2("ASK14", m, r, epi, z, 620.0)


def test_psa_scales_like_bssa14_and_aga16_interface(catalog):
  # The bar over every simulated event: M 4-7.5, 10-200 km, all hypocentral depths (the
  # catalog draws 5-60 km), against BSSA14 (japan) to 20 km and AGA16 interface deeper: mean residual
  # within +-0.3 at 0.1, 0.3, 1 and 3 s, total sigma (between- and within-event) in [0.5, 0.9].
  # Seed 0: -0.10, +0.00, -0.01, +0.23 (sigma 0.59-0.70); BSSA14 alone to 20 km: -0.02 to +0.03.
  res, events = bench.psa_residuals(catalog, bench.SIM_VS30_MS, bench.in_psa_range(catalog, (0.0, np.inf)),
                                    model="BSSA14+AGA16-interface")
  assert res.shape[0] >= 100 and np.unique(events).size >= 20
  for j, period in enumerate(bench.PERIODS_S):
    mean, tau, phi = bench.random_effects(res[:, j], events)
    assert abs(mean) <= 0.3, (period, mean)
    assert 0.5 <= math.hypot(tau, phi) <= 0.9, (period, tau, phi)
