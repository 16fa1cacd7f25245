"""Code compliance of a suite of accelerograms with a target response spectrum.

:func:`check_suite` applies the suite rules of a seismic code to records and a
target spectrum, and returns a :class:`SuiteCheck`: the verdict, each check
with its clause, a per-period table and per-band verdicts. A suite is either
``accel_ms2 [N, T]`` (m/s^2, one horizontal component per record, as this
project generates) or ``[N, 2, T]``: N ground motions, each a pair of
orthogonal horizontal components.

Rules (``rule=``):

* ``"asce7-16"``: ASCE/SEI 7-16 §16.2.2 (at least 11 ground motions), §16.2.3.1
  (period range from at most 0.2 T_lower to at least 2 T_upper) and §16.2.3.2
  (for each pair of horizontal components a maximum-direction spectrum is
  constructed; their average shall not fall below 90% of the target at any
  period in the range). Spectrally matched suites (``matched=True``):
  §16.2.3.3, the average of the matched records' maximum-direction spectra at
  or above 110% of the target over the range.
* ``"asce7-22"``: ASCE/SEI 7-22 §16.2.2-16.2.3, the same requirements (matched
  suites: §16.2.3.3, 110%).
* ``"ec8"``: EN 1998-1:2004 §3.2.3.1.2(4): a) at least 3 accelerograms; b) the
  mean of the records' zero-period spectral accelerations (their PGAs) not
  smaller than a_g S; c) between 0.2 T1 and 2 T1 no value of the mean 5%-damped
  spectrum less than 90% of the target. EC8 has no separate rule for matched
  records.

What is averaged (:attr:`SuiteCheck.spectrum`):

* pairs under ASCE: each pair's maximum-direction spectrum RotD100
  (:func:`cvaegan_jax.spectra.max_direction_spectrum`, exact over every angle), one per ground motion;
* pairs under EC8: the spectra of all 2N components, each a record of its own
  (both horizontal directions are loaded by distinct accelerograms, EN 1998-1
  §4.3.3.4.3), with the mean of their 2N PGAs for (4)b;
* one component per record (``[N, T]``, any rule): the records' own 5%-damped
  spectra, which is what a single-component suite allows; under ASCE this stands
  in for the maximum-direction spectra the code asks for.

The count rules count ground motions (pairs for ``[N, 2, T]``). The per-period
comparison uses the arithmetic mean of pseudo-spectral accelerations
(:func:`cvaegan_jax.spectra.response_spectrum`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from cvaegan_jax import spectra, validation

__all__ = ["RULES", "MATCHED_RATIO", "SuiteCheck", "check_suite"]

# rule -> its clause, minimum number of records (ground motions), and the clause of each
# check; matched_*: the clauses for spectrally matched suites (ASCE only).
RULES: dict[str, dict[str, Any]] = {
    "asce7-16": {
        "clause": "ASCE/SEI 7-16 §16.2.2-16.2.3.2",
        "min_records": 11, "count_clause": "§16.2.2", "range_clause": "§16.2.3.1",
        "spectrum_clause": "§16.2.3.2",
        "matched_clause": "ASCE/SEI 7-16 §16.2.2-16.2.3.3", "matched_spectrum_clause": "§16.2.3.3",
    },
    "asce7-22": {
        "clause": "ASCE/SEI 7-22 §16.2.2-16.2.3",
        "min_records": 11, "count_clause": "§16.2.2", "range_clause": "§16.2.3.1",
        "spectrum_clause": "§16.2.3",
        "matched_clause": "ASCE/SEI 7-22 §16.2.2-16.2.3", "matched_spectrum_clause": "§16.2.3.3",
    },
    "ec8": {
        "clause": "EN 1998-1:2004 §3.2.3.1.2(4)",
        "min_records": 3, "count_clause": "§3.2.3.1.2(4)a", "range_clause": "§3.2.3.1.2(4)c",
        "spectrum_clause": "§3.2.3.1.2(4)c", "pga_clause": "§3.2.3.1.2(4)b",
    },
}

# Fraction of the target the mean spectrum must reach (all three rules).
_REQUIRED_RATIO = 0.9
# The same for spectrally matched suites under ASCE 7-16/7-22 §16.2.3.3.
MATCHED_RATIO = 1.1
# Periods of the dense log grid spanning the checked range.
_N_GRID = 50
# SuiteCheck.spectrum -> its words in the report.
_SPECTRUM_TEXT = {
    "record": "the records' spectra",
    "RotD100": "the pairs' maximum-direction (RotD100) spectra",
    "component": "the spectra of all 2N components",
}


@dataclasses.dataclass
class SuiteCheck:
  """Result of :func:`check_suite`.

  Attributes:
    rule: the rule key, e.g. ``"ec8"``.
    clause: the clause checked, e.g. ``"EN 1998-1:2004 §3.2.3.1.2(4)"``.
    passed: True when every check passed.
    checks: ``(name, passed, detail)`` per requirement, in the code's order.
    table: one dict per period, increasing: ``period_s``, ``target_ms2``,
      ``mean_ms2`` (suite mean of the ``spectrum`` kind), ``ratio`` (mean / target),
      ``required_ratio``, ``passed``.
    bands: one dict per period band: ``name``, ``lower_s``, ``upper_s``,
      ``passed``, ``min_ratio``, ``period_at_min_s``. The range is split at T1
      into ``"short"`` [lower, T1] (higher modes) and ``"long"`` [T1, upper]
      (period elongation); a single band ``"all"`` when T1 is not inside the range.
    period_range_s: ``(lower, upper)`` checked, seconds.
    t1_s: fundamental period used, seconds.
    n_records: number of ground motions: records, or pairs when ``components`` is 2.
    components: horizontal components per ground motion, 1 (``[N, T]``) or 2 (``[N, 2, T]``).
    spectrum: what was averaged: ``"record"`` (each record's own spectrum, one
      component per record), ``"RotD100"`` (each pair's maximum-direction
      spectrum, ASCE) or ``"component"`` (each of the 2N components of N pairs as
      a record of its own, EC8).
    matched: True when the suite was declared spectrally matched (ASCE: the
      110% rule of §16.2.3.3; no effect under EC8).
  """
  rule: str
  clause: str
  passed: bool
  checks: list[tuple[str, bool, str]]
  table: list[dict[str, Any]]
  bands: list[dict[str, Any]]
  period_range_s: tuple[float, float]
  t1_s: float
  n_records: int
  components: int = 1
  spectrum: str = "record"
  matched: bool = False

  def to_dict(self) -> dict[str, Any]:
    """JSON-serialisable dict of all fields (Python floats, bools and lists)."""
    return {
        "rule": self.rule, "clause": self.clause, "passed": bool(self.passed),
        "checks": [{"name": n, "passed": bool(p), "detail": d} for n, p, d in self.checks],
        "table": [{k: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v)) for k, v in row.items()}
                  for row in self.table],
        "bands": [{k: (v if isinstance(v, str) else bool(v) if isinstance(v, (bool, np.bool_)) else float(v))
                   for k, v in band.items()} for band in self.bands],
        "period_range_s": [float(x) for x in self.period_range_s],
        "t1_s": float(self.t1_s), "n_records": int(self.n_records),
        "components": int(self.components), "spectrum": self.spectrum, "matched": bool(self.matched),
    }

  def to_text(self) -> str:
    """A readable report: verdict, checks, bands and the per-period table."""
    verdict = "PASS" if self.passed else "FAIL"
    if self.components == 2:
      suite = f"{self.n_records} pairs of horizontal components (mean of {_SPECTRUM_TEXT[self.spectrum]})"
    else:
      suite = f"{self.n_records} records (mean of {_SPECTRUM_TEXT[self.spectrum]})"
    lines = [f"{self.clause} ({self.rule}): {verdict}",
             f"{suite}{', spectrally matched' if self.matched else ''}, T1 = {self.t1_s:.3g} s, "
             f"period range {self.period_range_s[0]:.3g}-{self.period_range_s[1]:.3g} s", "", "Checks:"]
    for name, ok, detail in self.checks:
      lines.append(f"  [{'pass' if ok else 'FAIL'}] {name}: {detail}")
    lines += ["", "Bands:"]
    for b in self.bands:
      lines.append(f"  [{'pass' if b['passed'] else 'FAIL'}] {b['name']:<5} {b['lower_s']:.3g}-{b['upper_s']:.3g} s: "
                   f"min ratio {b['min_ratio']:.3f} at {b['period_at_min_s']:.3g} s")
    lines += ["", f"{'period_s':>9} {'target':>9} {'mean':>9} {'ratio':>7} {'need':>6}  ok",]
    for r in self.table:
      lines.append(f"{r['period_s']:9.4g} {r['target_ms2']:9.4g} {r['mean_ms2']:9.4g} "
                   f"{r['ratio']:7.3f} {r['required_ratio']:6.2f}  {'yes' if r['passed'] else 'NO'}")
    return "\n".join(lines)


def _target_arrays(target) -> tuple[np.ndarray, np.ndarray, float | None]:
  try:
    periods = np.asarray(target.periods_s, dtype=np.float64)
    sa = np.asarray(target.sa_ms2, dtype=np.float64)
  except AttributeError:
    raise ValueError("target must have periods_s [P] (s) and sa_ms2 [P] (m/s^2)") from None
  if periods.ndim != 1 or periods.shape != sa.shape or periods.size < 2:
    raise ValueError(f"target.periods_s and target.sa_ms2 must be 1-D of the same length >= 2, "
                     f"got {periods.shape} and {sa.shape}")
  if not (np.all(np.isfinite(periods)) and np.all(np.isfinite(sa))):
    raise ValueError("target.periods_s and target.sa_ms2 must be finite")
  if np.any(np.diff(periods) <= 0) or periods[0] < 0:
    raise ValueError("target.periods_s must be >= 0 and strictly increasing")
  if np.any(sa <= 0):
    raise ValueError("target.sa_ms2 must be > 0 (it is interpolated log-log)")
  pga = getattr(target, "pga_ms2", None)
  if pga is not None:
    pga = float(pga)
    if not (np.isfinite(pga) and pga > 0):
      raise ValueError(f"target.pga_ms2 must be a positive number of m/s^2 or None, got {pga!r}")
  return periods, sa, pga


def _check_period(value, name: str) -> float:
  return validation.positive_float(value, name, "seconds")


def _max_direction(pairs, dt: float, periods, damping: float) -> np.ndarray:
  """Maximum-direction (RotD100) spectra of pairs ``[N, 2, T]`` (m/s^2): ``[N, P]`` m/s^2.

  ``periods [P]`` in seconds (> 0), ``dt`` in seconds. The one place the
  compliance check computes RotD100: exact over every angle
  (:func:`cvaegan_jax.spectra.max_direction_spectrum`).
  """
  psa = spectra.max_direction_spectrum(pairs, dt, periods, damping)
  return np.asarray(psa, dtype=np.float64)


def _check_accel(accel_ms2) -> np.ndarray:
  """``accel_ms2`` as float64 ``[N, T]`` or ``[N, 2, T]`` (``[T]`` becomes ``[1, T]``)."""
  a = np.asarray(accel_ms2)
  if a.ndim == 1:
    a = a[None]
  if a.ndim not in (2, 3) or a.size == 0:
    raise ValueError(f"accel_ms2 must be [N, T] (records, samples) or [N, 2, T] (pairs of horizontal "
                     f"components), got shape {np.shape(accel_ms2)}")
  if a.ndim == 3 and a.shape[1] != 2:
    raise ValueError(f"accel_ms2 [N, 2, T] must hold 2 horizontal components on axis 1, "
                     f"got shape {np.shape(accel_ms2)}")
  if a.dtype.kind not in "biuf":
    raise ValueError(f"accel_ms2 must be a real numeric array, got dtype {a.dtype}")
  a = a.astype(np.float64)
  if not np.all(np.isfinite(a)):
    raise ValueError("accel_ms2 contains NaN or inf")
  return a


def check_suite(accel_ms2, dt: float, target, rule: str, t1_s: float | None = None,
                t_lower_s: float | None = None, t_upper_s: float | None = None,
                damping: float = spectra.DEFAULT_DAMPING,
                required_ratio: float | None = None, matched: bool = False) -> SuiteCheck:
  """Check a suite of records against a target spectrum under a code's rule.

  The checked period range is ``[t_lower_s, t_upper_s]``, by default
  ``[0.2 t1_s, 2 t1_s]``: ASCE/SEI 7-16 and 7-22 §16.2.3.1 require a range whose
  upper bound is at least twice the largest first-mode period and whose lower
  bound is at most 20% of the smallest first-mode period (pass them as
  ``t_upper_s`` and ``t_lower_s`` for a two-direction structure, and ``t1_s``
  for either); EN 1998-1 §3.2.3.1.2(4)c uses 0.2 T1 - 2 T1. A range narrower
  than ``[0.2 t1_s, 2 t1_s]`` fails the "period range" check.

  The records' spectra are computed at a 50-period log grid spanning the range
  plus the target's own periods inside it; the target is interpolated log-log
  onto that grid. At every period the suite mean must reach ``required_ratio``
  times the target: 0.9 under ASCE §16.2.3.2 (for 7-22 §16.2.3) and EC8 (4)c;
  1.1 under ASCE §16.2.3.3 when ``matched`` (spectrally matched records).

  What is averaged depends on the suite's shape and the rule:

  * ``[N, 2, T]`` pairs, ASCE: each pair's maximum-direction spectrum RotD100
    (§16.2.3.2: "for each pair of horizontal ground motion components a
    maximum-direction spectrum shall be constructed"); N pairs are averaged.
  * ``[N, 2, T]`` pairs, EC8: the 2N components, each a record of its own (the
    mean of their 2N spectra for (4)c and of their 2N PGAs for (4)b). A pair's
    two components are distinct accelerograms, as EN 1998-1 §4.3.3.4.3 asks when
    both horizontal directions are loaded (the same accelerogram may not be used
    along both), so the result equals that of the 2N components passed as
    ``[2N, T]``, except for the count.
  * ``[N, T]`` single components, any rule: each record's own spectrum. Under
    ASCE this stands in for the maximum-direction spectra, and ``matched``
    applies the 110% ratio to the mean of these component spectra.

  The count rule (ASCE §16.2.2: at least 11; EC8 (4)a: at least 3) counts
  ground motions: records for ``[N, T]``, pairs for ``[N, 2, T]``.

  EC8 (4)b compares the mean PGA of the records with a_g S, taken as
  ``target.pga_ms2``; when the target has none (``None`` or no attribute), Sa at
  the target's shortest period stands in for it (exact when that period is 0,
  close when it is short, e.g. 0.01 s).

  Args:
    accel_ms2: accelerations in m/s^2: ``[N, T]``, one horizontal component per
      record (``[T]`` is one record), or ``[N, 2, T]``, N pairs of orthogonal
      horizontal components (axis 1).
    dt: sampling interval in seconds.
    target: any object with ``periods_s [P]`` (s, increasing), ``sa_ms2 [P]``
      (m/s^2, > 0) and optionally ``pga_ms2`` (m/s^2 or None), e.g.
      :class:`cvaegan_jax.targets.Target`.
    rule: ``"asce7-16"``, ``"asce7-22"`` or ``"ec8"``.
    t1_s: fundamental period of the structure in seconds, > 0 (required).
    t_lower_s: lower bound of the period range in seconds (default 0.2 t1_s).
    t_upper_s: upper bound of the period range in seconds (default 2 t1_s).
    damping: ratio of critical damping of the spectra (the codes use 0.05).
    required_ratio: fraction of the target the mean must reach, by default
      0.9 (1.1 for matched suites under ASCE); given, it overrides both, e.g.
      1.1 to apply a stricter project criterion to a scaled suite.
    matched: the records were spectrally matched to the target: under ASCE
      (7-16 and 7-22 §16.2.3.3) their mean spectrum must reach 110% of the
      target instead of 90%. EC8 has no such rule: ``matched`` changes nothing
      there but is recorded in the result.

  Returns:
    :class:`SuiteCheck`.

  Raises:
    ValueError: unknown ``rule`` (lists the valid ones); ``t1_s`` missing or
      <= 0; ``t_lower_s >= t_upper_s``; a period range not inside the target's
      periods (naming the range); an invalid target; NaN, empty or
      non-[N, T] / [N, 2, T] ``accel_ms2`` (a 3-D array whose axis 1 is not 2);
      ``dt <= 0``.
  """
  if rule not in RULES:
    raise ValueError(f"unknown rule {rule!r}; valid rules: {', '.join(sorted(RULES))}")
  spec = RULES[rule]
  if t1_s is None:
    raise ValueError(f"t1_s (fundamental period, s) is required by rule {rule!r}")
  t1 = _check_period(t1_s, "t1_s")
  lower = 0.2 * t1 if t_lower_s is None else _check_period(t_lower_s, "t_lower_s")
  upper = 2.0 * t1 if t_upper_s is None else _check_period(t_upper_s, "t_upper_s")
  if lower >= upper:
    raise ValueError(f"period range [t_lower_s, t_upper_s] = [{lower}, {upper}] s is empty")
  asce_matched = bool(matched) and "matched_clause" in spec  # EC8 has no matched rule
  rule_ratio = MATCHED_RATIO if asce_matched else _REQUIRED_RATIO
  need = rule_ratio if required_ratio is None else float(required_ratio)
  if not (np.isfinite(need) and need > 0):
    raise ValueError(f"required_ratio must be a positive number, got {required_ratio!r}")

  periods, sa, pga_target = _target_arrays(target)
  positive = periods > 0
  tp, tsa = periods[positive], sa[positive]
  if tp.size < 2 or lower < tp[0] * (1 - 1e-9) or upper > tp[-1] * (1 + 1e-9):
    raise ValueError(f"period range [{lower:.4g}, {upper:.4g}] s is outside the target's positive periods "
                     f"[{tp[0] if tp.size else float('nan'):.4g}, {tp[-1]:.4g}] s")

  a = _check_accel(accel_ms2)
  dt = validation.positive_float(dt, "dt", "seconds")
  n = a.shape[0]
  components = 2 if a.ndim == 3 else 1

  grid = np.geomspace(lower, upper, _N_GRID)
  inside = tp[(tp > lower) & (tp < upper)]
  grid = np.unique(np.concatenate([grid, inside]))
  target_grid = np.exp(np.interp(np.log(grid), np.log(tp), np.log(tsa)))
  records = a.reshape(-1, a.shape[-1])  # every component as a record: [N or 2N, T]
  if components == 2 and rule != "ec8":
    kind, psa = "RotD100", _max_direction(a, dt, grid, damping)
  else:
    kind = "record" if components == 1 else "component"
    psa = np.asarray(spectra.response_spectrum(records, dt, grid, damping), dtype=np.float64)
  mean = psa.mean(axis=0)
  ratio = mean / target_grid
  ok = ratio >= need
  table = [{"period_s": float(p), "target_ms2": float(t), "mean_ms2": float(m), "ratio": float(r),
            "required_ratio": need, "passed": bool(o)}
           for p, t, m, r, o in zip(grid, target_grid, mean, ratio, ok)]

  checks = []
  counted = "records" if components == 1 else "pairs of horizontal components"
  checks.append(("record count", n >= spec["min_records"],
                 f"at least {spec['min_records']} {counted} ({spec['count_clause']}); {n} given"))
  covers = lower <= 0.2 * t1 * (1 + 1e-9) and upper >= 2.0 * t1 * (1 - 1e-9)
  checks.append(("period range", covers,
                 f"[{lower:.4g}, {upper:.4g}] s must include [0.2 T1, 2 T1] = [{0.2 * t1:.4g}, {2 * t1:.4g}] s "
                 f"({spec['range_clause']})"))
  if rule == "ec8":
    pga_mean = float(np.max(np.abs(records), axis=-1).mean())
    if pga_target is None:
      pga_ref, source = float(sa[0]), f"Sa({periods[0]:.3g} s) of the target, which has no pga_ms2"
    else:
      pga_ref, source = pga_target, "target.pga_ms2"
    checks.append(("mean PGA", pga_mean >= pga_ref,
                   f"mean PGA {pga_mean:.4g} m/s^2 >= a_g S = {pga_ref:.4g} m/s^2 ({source}; {spec['pga_clause']})"))
  worst = int(np.argmin(ratio))
  if asce_matched:
    source = f"{spec['matched_spectrum_clause']}; matched records: {MATCHED_RATIO:.0%}"
    if required_ratio is not None:
      source += f", required_ratio {need:g} used instead"
  else:
    source = spec["spectrum_clause"]
  checks.append((f"mean spectrum >= {need:g} target", bool(np.all(ok)),
                 f"min ratio {ratio[worst]:.3f} at {grid[worst]:.4g} s; {int((~ok).sum())} of {grid.size} "
                 f"periods below ({source})"))

  bands = []
  if lower < t1 < upper:
    edges = [("short", lower, t1), ("long", t1, upper)]
  else:
    edges = [("all", lower, upper)]
  for name, lo, hi in edges:
    sel = (grid >= lo * (1 - 1e-12)) & (grid <= hi * (1 + 1e-12))
    r = ratio[sel]
    k = int(np.argmin(r))
    bands.append({"name": name, "lower_s": float(lo), "upper_s": float(hi), "passed": bool(np.all(r >= need)),
                  "min_ratio": float(r[k]), "period_at_min_s": float(grid[sel][k])})

  clause = spec["matched_clause"] if asce_matched else spec["clause"]
  return SuiteCheck(rule=rule, clause=clause, passed=all(c[1] for c in checks), checks=checks,
                    table=table, bands=bands, period_range_s=(float(lower), float(upper)), t1_s=t1,
                    n_records=n, components=components, spectrum=kind, matched=bool(matched))
