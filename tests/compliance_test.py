"""Suite compliance checks on records whose spectra are known relative to the target."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.signal

from cvaegan_jax import compliance
from cvaegan_jax import intensity
from cvaegan_jax import spectra

DT = 0.01
T1 = 1.0  # default range 0.2-2 s, bands short [0.2, 1] and long [1, 2]


@dataclasses.dataclass
class Target:
  periods_s: np.ndarray
  sa_ms2: np.ndarray
  pga_ms2: float | None = None


def synthetic(seed, n):
  """A realistic synthetic record [n] (m/s^2, PGA 2): enveloped noise, band-passed, baseline-corrected."""
  rng = np.random.default_rng(seed)
  t = np.arange(n) * DT
  env = np.where(t < 3.0, (t / 3.0) ** 2, np.where(t < 10.0, 1.0, np.exp(-(t - 10.0) / 4.0)))
  sos = scipy.signal.butter(4, (0.1, 20.0), "bandpass", fs=1.0 / DT, output="sos")
  a = scipy.signal.sosfiltfilt(sos, rng.standard_normal(t.size) * env)
  return intensity.baseline_correct(2.0 * a / np.abs(a).max(), DT)


@pytest.fixture(scope="module")
def record():
  """One realistic synthetic record of 3000 samples."""
  return synthetic(0, 3000)


@pytest.fixture(scope="module")
def short_records():
  """22 distinct short records [22, 1500] (15 s), PGAs 1-2 m/s^2: the components of pair tests."""
  return np.stack([(1.0 + k / 21) * synthetic(100 + k, 1500) for k in range(22)])


@pytest.fixture(scope="module")
def own_spectrum(record):
  """The record's spectrum on a dense grid (200 periods, 0.01-10 s): the target's shape."""
  periods = spectra.log_periods(0.01, 10.0, 200)
  return periods, np.asarray(spectra.response_spectrum(record, DT, periods), np.float64)


def suite(record, n):
  return np.stack([record] * n)


def ratios(check):
  return np.array([r["ratio"] for r in check.table]), np.array([r["period_s"] for r in check.table])


@pytest.mark.parametrize("rule,n", [("asce7-16", 11), ("asce7-22", 11), ("ec8", 3)])
def test_own_spectrum_passes(record, own_spectrum, rule, n):
  periods, sa = own_spectrum
  check = compliance.check_suite(suite(record, n), DT, Target(periods, sa, 0.99 * np.abs(record).max()),
                                 rule, t1_s=T1)
  assert check.passed, check.to_text()
  assert all(ok for _, ok, _ in check.checks)
  r, p = ratios(check)
  # Identical records: mean = the record's spectrum; only the log-log
  # interpolation of the target separates the ratio from 1.
  assert np.all(np.abs(r - 1) < 0.06)
  assert p[0] == pytest.approx(0.2 * T1) and p[-1] == pytest.approx(2 * T1)
  assert np.all(np.diff(p) > 0) and p.size >= 50
  assert check.period_range_s == pytest.approx((0.2, 2.0))
  assert [b["name"] for b in check.bands] == ["short", "long"]
  assert all(b["passed"] for b in check.bands)


@pytest.mark.parametrize("rule,n", [("asce7-16", 11), ("ec8", 3)])
def test_target_twenty_percent_high_fails_everywhere(record, own_spectrum, rule, n):
  periods, sa = own_spectrum
  check = compliance.check_suite(suite(record, n), DT, Target(periods, 1.2 * sa, 0.5), rule, t1_s=T1)
  assert not check.passed
  r, _ = ratios(check)
  assert np.all(r < 0.9) and np.all(np.abs(r - 1 / 1.2) < 0.06)
  assert not any(row["passed"] for row in check.table)
  assert not any(b["passed"] for b in check.bands)
  names = {name: ok for name, ok, _ in check.checks}
  assert names["record count"] and names["period range"] and not names["mean spectrum >= 0.9 target"]


def test_bump_fails_only_in_its_band(record, own_spectrum):
  periods, sa = own_spectrum
  bump = np.where((periods >= 0.3) & (periods <= 0.6), 1.2, 1.0)
  check = compliance.check_suite(suite(record, 11), DT, Target(periods, sa * bump), "asce7-16", t1_s=T1)
  assert not check.passed
  bands = {b["name"]: b for b in check.bands}
  assert not bands["short"]["passed"] and bands["long"]["passed"]
  assert 0.3 <= bands["short"]["period_at_min_s"] <= 0.6
  assert bands["short"]["lower_s"] == pytest.approx(0.2) and bands["short"]["upper_s"] == pytest.approx(T1)
  r, p = ratios(check)
  failing = p[r < 0.9]
  assert failing.size and failing.min() >= 0.28 and failing.max() <= 0.65
  inside = (p >= 0.32) & (p <= 0.58)
  assert np.all(r[inside] < 0.9)


def test_too_few_records_fail_the_count(record, own_spectrum):
  periods, sa = own_spectrum
  for rule, n in (("asce7-16", 10), ("asce7-22", 10), ("ec8", 2)):
    check = compliance.check_suite(suite(record, n), DT, Target(periods, sa, 1.0), rule, t1_s=T1)
    names = {name: ok for name, ok, _ in check.checks}
    assert not names["record count"] and not check.passed
    assert names["mean spectrum >= 0.9 target"]
    assert check.n_records == n


def test_ec8_mean_pga_around_target(record, own_spectrum):
  periods, sa = own_spectrum
  pga = float(np.abs(record).max())
  for factor, expected in ((0.99, True), (1.01, False)):
    check = compliance.check_suite(suite(record, 3), DT, Target(periods, sa, factor * pga), "ec8", t1_s=T1)
    names = {name: ok for name, ok, _ in check.checks}
    assert names["mean PGA"] is expected and check.passed is expected


def test_ec8_without_pga_uses_shortest_period(record, own_spectrum):
  periods, sa = own_spectrum
  pga = float(np.abs(record).max())
  # A target starting at T = 0 carries the PGA itself.
  for first, expected in ((0.99 * pga, True), (1.01 * pga, False)):
    tgt = Target(np.concatenate([[0.0], periods]), np.concatenate([[first], sa]), None)
    check = compliance.check_suite(suite(record, 3), DT, tgt, "ec8", t1_s=T1)
    detail = next(d for name, _, d in check.checks if name == "mean PGA")
    assert "no pga_ms2" in detail
    assert check.passed is expected


def test_asce_has_no_pga_check(record, own_spectrum):
  periods, sa = own_spectrum
  check = compliance.check_suite(suite(record, 11), DT, Target(periods, sa, 100.0), "asce7-22", t1_s=T1)
  assert check.passed and "mean PGA" not in [name for name, _, _ in check.checks]
  assert "7-22" in check.clause


def test_period_range_overrides(record, own_spectrum):
  periods, sa = own_spectrum
  wide = compliance.check_suite(suite(record, 11), DT, Target(periods, sa), "asce7-16", t1_s=T1,
                                t_lower_s=0.1, t_upper_s=3.0)
  assert wide.passed and wide.period_range_s == pytest.approx((0.1, 3.0))
  narrow = compliance.check_suite(suite(record, 11), DT, Target(periods, sa), "asce7-16", t1_s=T1,
                                  t_upper_s=1.5)
  names = {name: ok for name, ok, _ in narrow.checks}
  assert not names["period range"] and names["mean spectrum >= 0.9 target"] and not narrow.passed
  outside_t1 = compliance.check_suite(suite(record, 11), DT, Target(periods, sa), "asce7-16", t1_s=T1,
                                      t_lower_s=1.2, t_upper_s=3.0)
  assert [b["name"] for b in outside_t1.bands] == ["all"]


def test_required_ratio_option(record, own_spectrum):
  periods, sa = own_spectrum
  check = compliance.check_suite(suite(record, 11), DT, Target(periods, sa), "asce7-16", t1_s=T1,
                                 required_ratio=1.1)
  assert not check.passed and all(row["required_ratio"] == 1.1 for row in check.table)


def test_reports_are_readable_and_json(record, own_spectrum):
  periods, sa = own_spectrum
  check = compliance.check_suite(suite(record, 3), DT, Target(periods, 1.2 * sa, 1.0), "ec8", t1_s=T1)
  text = check.to_text()
  assert "EN 1998-1" in text and "FAIL" in text and "short" in text and "period_s" in text
  assert len(text.splitlines()) > len(check.table)
  d = json.loads(json.dumps(check.to_dict()))
  assert d["passed"] is False and d["rule"] == "ec8" and len(d["table"]) == len(check.table)
  assert {"name", "passed", "detail"} <= set(d["checks"][0])


def test_errors(record, own_spectrum):
  periods, sa = own_spectrum
  tgt = Target(periods, sa)
  recs = suite(record, 3)
  with pytest.raises(ValueError, match="asce7-16, asce7-22, ec8"):
    compliance.check_suite(recs, DT, tgt, "nzs1170", t1_s=T1)
  for t1 in (None, 0.0, -1.0):
    with pytest.raises(ValueError, match="t1_s"):
      compliance.check_suite(recs, DT, tgt, "ec8", t1_s=t1)
  short = Target(spectra.log_periods(0.1, 1.0, 20), np.ones(20))
  with pytest.raises(ValueError, match="period range"):
    compliance.check_suite(recs, DT, short, "ec8", t1_s=T1)
  with pytest.raises(ValueError, match="period range"):
    compliance.check_suite(recs, DT, tgt, "ec8", t1_s=T1, t_lower_s=1.0, t_upper_s=0.5)
  bad = recs.copy()
  bad[1, 10] = np.nan
  with pytest.raises(ValueError, match="accel_ms2"):
    compliance.check_suite(bad, DT, tgt, "ec8", t1_s=T1)
  with pytest.raises(ValueError, match="dt"):
    compliance.check_suite(recs, 0.0, tgt, "ec8", t1_s=T1)
  with pytest.raises(ValueError, match="sa_ms2"):
    compliance.check_suite(recs, DT, Target(periods, -sa), "ec8", t1_s=T1)
  with pytest.raises(ValueError, match="periods_s"):
    compliance.check_suite(recs, DT, object(), "ec8", t1_s=T1)


def unidirectional(records, azimuths_deg):
  """Pairs [N, 2, T] moving along one azimuth each: (a cos(phi), a sin(phi))."""
  phi = np.deg2rad(np.asarray(azimuths_deg, np.float64))[:, None]
  return np.stack([records * np.cos(phi), records * np.sin(phi)], axis=1)


def test_unidirectional_pairs_are_their_records(short_records):
  # A motion along one azimuth has RotD100 = PSA of the motion itself, at any
  # azimuth and sign, so the pairs' suite is the single-component suite.
  recs = short_records[:11]
  pairs = unidirectional(recs, [0, 17, 30, 45, 90, 123, 150, 179, 200, 250, 333])
  periods = spectra.log_periods(0.05, 5.0, 30)
  sa = np.asarray(spectra.response_spectrum(recs, DT, periods), np.float64).mean(axis=0)
  for rule in ("asce7-16", "asce7-22"):
    for factor, expected in ((1.0, True), (1.2, False)):
      tgt = Target(periods, factor * sa)
      single = compliance.check_suite(recs, DT, tgt, rule, t1_s=T1)
      paired = compliance.check_suite(pairs, DT, tgt, rule, t1_s=T1)
      assert single.passed is expected and paired.passed is expected, paired.to_text()
      assert [c[:2] for c in paired.checks] == [c[:2] for c in single.checks]
      np.testing.assert_allclose([r["mean_ms2"] for r in paired.table], [r["mean_ms2"] for r in single.table],
                                 rtol=1e-4)
      assert [r["period_s"] for r in paired.table] == [r["period_s"] for r in single.table]
      assert [b["passed"] for b in paired.bands] == [b["passed"] for b in single.bands]
      assert (paired.components, paired.spectrum, paired.n_records) == (2, "RotD100", 11)
      assert (single.components, single.spectrum) == (1, "record")
  # The count counts pairs.
  few = compliance.check_suite(pairs[:10], DT, Target(periods, sa), "asce7-16", t1_s=T1)
  names = {name: ok for name, ok, _ in few.checks}
  assert not names["record count"] and names["mean spectrum >= 0.9 target"] and not few.passed
  assert "11 pairs" in next(d for name, _, d in few.checks if name == "record count")


def test_matched_pairs_need_110_percent(short_records):
  pairs = short_records.reshape(11, 2, -1)  # two distinct components per pair
  # The target on the check's own period grid, so the ratio is exact there.
  periods = np.geomspace(0.2 * T1, 2 * T1, compliance._N_GRID)
  rotd100 = np.asarray(spectra.rotd_spectrum(pairs, DT, periods, percentiles=(100.0,))[..., 0, :], np.float64)
  sa = rotd100.mean(axis=0)
  # RotD100 is at least either component's spectrum.
  own = np.asarray(spectra.response_spectrum(pairs, DT, periods), np.float64)
  assert np.all(rotd100 >= own.max(axis=1) * (1 - 1e-5))

  scaled = compliance.check_suite(pairs, DT, Target(periods, sa), "asce7-16", t1_s=T1)
  r, p = ratios(scaled)
  np.testing.assert_allclose(p, periods, rtol=1e-12)
  np.testing.assert_allclose(r, 1.0, atol=1e-4)
  assert scaled.passed and not scaled.matched and "§16.2.3.2" in scaled.checks[-1][2]

  for rule in ("asce7-16", "asce7-22"):
    matched = compliance.check_suite(pairs, DT, Target(periods, sa), rule, t1_s=T1, matched=True)
    name, ok, detail = matched.checks[-1]
    assert not matched.passed and not ok and name == "mean spectrum >= 1.1 target"
    assert "§16.2.3.3" in detail and "matched records: 110%" in detail
    assert "16.2.3" in matched.clause and matched.matched
    assert all(row["required_ratio"] == pytest.approx(1.1) for row in matched.table)
  assert compliance.check_suite(pairs, DT, Target(periods, sa), "asce7-16", t1_s=T1, matched=True).clause \
      == "ASCE/SEI 7-16 §16.2.2-16.2.3.3"

  above = compliance.check_suite(pairs, DT, Target(periods, sa / 1.12), "asce7-16", t1_s=T1, matched=True)
  assert above.passed, above.to_text()
  np.testing.assert_allclose(ratios(above)[0], 1.12, atol=1e-4)
  # required_ratio still overrides the matched rule.
  relaxed = compliance.check_suite(pairs, DT, Target(periods, sa), "asce7-16", t1_s=T1, matched=True,
                                   required_ratio=0.9)
  assert relaxed.passed and "required_ratio 0.9 used instead" in relaxed.checks[-1][2]


def test_matched_single_components_and_ec8(record, own_spectrum):
  periods, sa = own_spectrum
  # Single components: the same 110% on the records' own mean spectrum (ratio 1 +- 0.06).
  at = compliance.check_suite(suite(record, 11), DT, Target(periods, sa), "asce7-22", t1_s=T1, matched=True)
  assert not at.passed and at.checks[-1][0] == "mean spectrum >= 1.1 target" and at.spectrum == "record"
  low = compliance.check_suite(suite(record, 11), DT, Target(periods, sa / 1.2), "asce7-22", t1_s=T1,
                               matched=True)
  assert low.passed
  # EC8 has no matched rule: the same check, flagged.
  tgt = Target(periods, sa, 0.99 * np.abs(record).max())
  plain = compliance.check_suite(suite(record, 3), DT, tgt, "ec8", t1_s=T1)
  flagged = compliance.check_suite(suite(record, 3), DT, tgt, "ec8", t1_s=T1, matched=True)
  assert plain.passed and flagged.passed and flagged.matched and not plain.matched
  assert flagged.checks == plain.checks and flagged.table == plain.table and flagged.clause == plain.clause


def test_ec8_pairs_are_their_components(short_records):
  # EC8 with both components: all 2N components are records of their own.
  pairs = short_records[:6].reshape(3, 2, -1)
  comps = short_records[:6]
  periods = spectra.log_periods(0.05, 5.0, 30)
  sa = np.asarray(spectra.response_spectrum(comps, DT, periods), np.float64).mean(axis=0)
  pga = float(np.abs(comps).max(axis=-1).mean())
  for factor, pga_factor, expected in ((0.95, 0.99, True), (1.2, 0.99, False), (0.95, 1.01, False)):
    tgt = Target(periods, factor * sa, pga_factor * pga)
    paired = compliance.check_suite(pairs, DT, tgt, "ec8", t1_s=T1)
    single = compliance.check_suite(comps, DT, tgt, "ec8", t1_s=T1)
    assert paired.passed is expected and single.passed is expected
    assert paired.table == single.table and paired.bands == single.bands
    assert [c[:2] for c in paired.checks] == [c[:2] for c in single.checks]
    assert [c for c in paired.checks if c[0] != "record count"] == \
        [c for c in single.checks if c[0] != "record count"]
    assert (paired.n_records, paired.components, paired.spectrum) == (3, 2, "component")
    assert single.n_records == 6
  # Counted in pairs: 2 pairs (4 components) are too few, 4 single records are enough.
  tgt = Target(periods, 0.5 * sa, 0.5 * pga)
  two = compliance.check_suite(pairs[:2], DT, tgt, "ec8", t1_s=T1)
  four = compliance.check_suite(comps[:4], DT, tgt, "ec8", t1_s=T1)
  assert four.passed and not two.passed
  assert {n: ok for n, ok, _ in two.checks} == {"record count": False, "period range": True, "mean PGA": True,
                                                 "mean spectrum >= 0.9 target": True}


def test_pair_reports(short_records):
  pairs = short_records[:6].reshape(3, 2, -1)
  periods = spectra.log_periods(0.05, 5.0, 30)
  check = compliance.check_suite(pairs, DT, Target(periods, np.full(30, 100.0), 1.0), "ec8", t1_s=T1,
                                 matched=True)
  text = check.to_text()
  assert "3 pairs of horizontal components" in text and "2N components" in text and "matched" in text
  d = json.loads(json.dumps(check.to_dict()))
  assert (d["components"], d["spectrum"], d["matched"], d["n_records"]) == (2, "component", True, 3)
  single = compliance.check_suite(short_records[:3], DT, Target(periods, np.full(30, 100.0), 1.0), "ec8",
                                  t1_s=T1).to_dict()
  assert (single["components"], single["spectrum"], single["matched"]) == (1, "record", False)


def test_pair_shape_errors(short_records):
  tgt = Target(spectra.log_periods(0.05, 5.0, 30), np.ones(30))
  recs = short_records[:6]
  for bad in (recs.reshape(2, 3, -1), recs.reshape(6, 1, -1)):
    with pytest.raises(ValueError, match="2 horizontal components on axis 1"):
      compliance.check_suite(bad, DT, tgt, "asce7-16", t1_s=T1)
  for bad in (recs.reshape(3, 2, 1, -1), np.zeros((0, 2, 1500))):
    with pytest.raises(ValueError, match=r"accel_ms2 must be \[N, T\].*\[N, 2, T\]"):
      compliance.check_suite(bad, DT, tgt, "ec8", t1_s=T1)
  nan = recs.reshape(3, 2, -1).copy()
  nan[1, 1, 5] = np.nan
  with pytest.raises(ValueError, match="accel_ms2"):
    compliance.check_suite(nan, DT, tgt, "asce7-22", t1_s=T1)
