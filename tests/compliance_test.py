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


@pytest.fixture(scope="module")
def record():
  """One realistic synthetic record: enveloped noise, band-passed, baseline-corrected."""
  rng = np.random.default_rng(0)
  t = np.arange(3000) * DT
  env = np.where(t < 3.0, (t / 3.0) ** 2, np.where(t < 10.0, 1.0, np.exp(-(t - 10.0) / 4.0)))
  sos = scipy.signal.butter(4, (0.1, 20.0), "bandpass", fs=1.0 / DT, output="sos")
  a = scipy.signal.sosfiltfilt(sos, rng.standard_normal(t.size) * env)
  return intensity.baseline_correct(2.0 * a / np.abs(a).max(), DT)


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
