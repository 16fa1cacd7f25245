"""Target response spectra: the :class:`Target` type, units, spectrum files, recorded motions.

A :class:`Target` is a 5%-damped (or other) pseudo-spectral acceleration
``sa_ms2 [P]`` in m/s^2 at periods ``periods_s [P]`` in seconds. Sources here:

- a two-column file of period and Sa: :func:`from_file`;
- a recorded motion (K-NET/KiK-net, PEER AT2, MiniSEED, SAC, GSE2, SEG-Y): :func:`from_record`.

Design-code spectra are in :mod:`cvaegan_jax.design_codes`; the one-string spec language
(``ec8:type=1,ground=B,ag=0.3g``) in :mod:`cvaegan_jax.specs`. :meth:`Target.at` moves a
target to other periods by linear interpolation of log Sa against log T. The value checks
here (``check_*``) name the argument or spec key at fault.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re

import numpy as np

from cvaegan_jax import exports, spectra, validation
from data_prep import knet

__all__ = ["G", "MAX_SA_MS2", "UNITS", "OBSPY_FORMATS", "Target", "to_ms2", "from_file", "from_record", "check_positive",
           "check_damping", "check_unit", "check_periods", "warn_once"]

# Standard gravity, m/s^2.
G = validation.G_MS2
MAX_SA_MS2 = 20.0 * G  # A target ordinate above 20 g is a unit error or a typo (recorded PSA: < 10 g).

# Accepted acceleration units: name -> factor to m/s^2.
UNITS = {"g": G, "m/s2": 1.0, "m/s^2": 1.0, "mps2": 1.0, "gal": 0.01, "cm/s2": 0.01, "cm/s^2": 0.01}

_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
  """Log ``message`` as a warning the first time ``key`` is seen in this process."""
  if key not in _warned:
    _warned.add(key)
    logging.warning("%s", message)


# ---------------------------------------------------------------------------
# Value checks shared with design_codes and specs (``name`` is the
# argument's or the spec key's name, so errors name what the user wrote).


def check_positive(name: str, value) -> float:
  return validation.positive_float(value, name)


def check_damping(name: str, value) -> float:
  try:
    v = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be a number, got {value!r}") from None
  if not (0.0 < v < 1.0):
    raise ValueError(f"{name} must lie in (0, 1) (a ratio of critical damping, e.g. 0.05), got {value!r}")
  return v


def check_unit(name: str, value) -> str:
  u = str(value).strip().lower()
  if u not in UNITS:
    raise ValueError(f"{name}: unknown unit {value!r}; valid: {', '.join(UNITS)}")
  return u


def check_periods(name: str, values) -> np.ndarray:
  """1-D, finite, > 0, strictly increasing float64 periods (a read-only copy)."""
  try:
    p = np.array(values, dtype=np.float64)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be numbers of seconds, got {values!r}") from None
  if p.ndim != 1 or p.size == 0:
    raise ValueError(f"{name} must be a non-empty 1-D array of seconds, got shape {p.shape}")
  bad = np.flatnonzero(~np.isfinite(p))
  if bad.size:
    raise ValueError(f"{name}[{bad[0]}] = {p[bad[0]]} is not finite")
  bad = np.flatnonzero(p <= 0)
  if bad.size:
    raise ValueError(f"{name}[{bad[0]}] = {p[bad[0]]:g} s is not > 0")
  bad = np.flatnonzero(np.diff(p) <= 0)
  if bad.size:
    i = bad[0] + 1
    raise ValueError(f"{name} must be strictly increasing: {name}[{i}] = {p[i]:g} s follows "
                     f"{name}[{i - 1}] = {p[i - 1]:g} s")
  p.setflags(write=False)
  return p


# ---------------------------------------------------------------------------
# Target.


@dataclasses.dataclass(frozen=True, eq=False)
class Target:
  """A target response spectrum.

  Attributes:
    periods_s: ``[P]`` float64 periods in seconds, > 0, strictly increasing.
    sa_ms2: ``[P]`` float64 pseudo-spectral acceleration in m/s^2, > 0, finite.
    name: a label for logs, files and figures.
    damping: ratio of critical damping the spectrum is for, in (0, 1).
    pga_ms2: the zero-period value (peak ground acceleration) in m/s^2 when
      known, else None.

  Both arrays are stored as read-only float64 copies. Two Targets are equal
  when all fields are equal (arrays element by element).

  Raises:
    ValueError: on construction, naming the field and the offending value or
      index: NaN/inf, periods <= 0, unsorted or repeated periods, Sa <= 0,
      shapes that differ, damping outside (0, 1), pga_ms2 <= 0 or not finite, Sa
      above ``MAX_SA_MS2`` (20 g).
  """
  periods_s: np.ndarray
  sa_ms2: np.ndarray
  name: str
  damping: float = 0.05
  pga_ms2: float | None = None

  def __post_init__(self):
    periods = check_periods("Target.periods_s", self.periods_s)
    try:
      sa = np.array(self.sa_ms2, dtype=np.float64)
    except (TypeError, ValueError):
      raise ValueError(f"Target.sa_ms2 must be numbers in m/s^2, got {self.sa_ms2!r}") from None
    if sa.shape != periods.shape:
      raise ValueError(f"Target.sa_ms2 has shape {sa.shape} but Target.periods_s has shape {periods.shape}")
    bad = np.flatnonzero(~np.isfinite(sa))
    if bad.size:
      raise ValueError(f"Target.sa_ms2[{bad[0]}] = {sa[bad[0]]} is not finite")
    bad = np.flatnonzero(sa <= 0)
    if bad.size:
      raise ValueError(f"Target.sa_ms2[{bad[0]}] = {sa[bad[0]]:g} m/s^2 (at T = {periods[bad[0]]:g} s) is not > 0")
    bad = np.flatnonzero(sa > MAX_SA_MS2)
    if bad.size:
      raise ValueError(f"Target.sa_ms2[{bad[0]}] = {sa[bad[0]]:g} m/s^2 ({sa[bad[0]] / G:.3g} g, at T = "
                       f"{periods[bad[0]]:g} s) is above {MAX_SA_MS2 / G:g} g, more than any recorded motion: "
                       "a unit or a typo?")
    sa.setflags(write=False)
    if not isinstance(self.name, str):
      raise ValueError(f"Target.name must be a string, got {self.name!r}")
    damping = check_damping("Target.damping", self.damping)
    pga = self.pga_ms2
    if pga is not None:
      pga = float(pga)
      if not (math.isfinite(pga) and pga > 0):
        raise ValueError(f"Target.pga_ms2 must be a positive finite number or None, got {self.pga_ms2!r}")
    object.__setattr__(self, "periods_s", periods)
    object.__setattr__(self, "sa_ms2", sa)
    object.__setattr__(self, "damping", damping)
    object.__setattr__(self, "pga_ms2", pga)

  def __eq__(self, other):
    if not isinstance(other, Target):
      return NotImplemented
    return (np.array_equal(self.periods_s, other.periods_s) and np.array_equal(self.sa_ms2, other.sa_ms2)
            and self.name == other.name and self.damping == other.damping and self.pga_ms2 == other.pga_ms2)

  __hash__ = None

  def at(self, periods_s, extrapolate: bool = False) -> Target:
    """This spectrum at other periods, linear in log Sa vs log T.

    Requested periods equal to stored ones get the stored values exactly.

    Args:
      periods_s: ``[Q]`` periods in seconds, > 0, strictly increasing.
      extrapolate: allow periods outside ``[periods_s[0], periods_s[-1]]``; they
        continue the first or last segment as a straight line in log-log
        (a power law through the two end points).

    Returns:
      A Target with the same name, damping and pga_ms2.

    Raises:
      ValueError: bad periods; requested periods outside the covered range
        without ``extrapolate`` (the message gives both ranges); fewer than 2
        stored points when a period is not one of them.
    """
    q = check_periods("periods_s", periods_s)
    p, sa = self.periods_s, self.sa_ms2
    tol = 1e-9  # Relative: a grid computed another way may differ in the last bits.
    lo, hi = p[0] * (1 - tol), p[-1] * (1 + tol)
    if (q[0] < lo or q[-1] > hi) and not extrapolate:
      raise ValueError(
          f"target {self.name!r} covers periods {p[0]:g}-{p[-1]:g} s, but {q[0]:g}-{q[-1]:g} s were "
          "requested; pass extrapolate=True (CLI: allow_extrapolation) to continue the end segments "
          "linearly in log Sa vs log T")
    q_eval = np.where((q >= lo) & (q < p[0]), p[0], np.where((q <= hi) & (q > p[-1]), p[-1], q))
    exact = np.searchsorted(p, q_eval)
    hit = (exact < p.size) & (p[np.minimum(exact, p.size - 1)] == q_eval)
    out = np.empty_like(q)
    out[hit] = sa[exact[hit]]
    if not np.all(hit):
      if p.size < 2:
        raise ValueError(f"target {self.name!r} has a single period ({p[0]:g} s): nothing to interpolate")
      lp, ls, lq = np.log(p), np.log(sa), np.log(q_eval[~hit])
      i = np.clip(np.searchsorted(lp, lq, side="right") - 1, 0, p.size - 2)
      slope = (ls[i + 1] - ls[i]) / (lp[i + 1] - lp[i])
      out[~hit] = np.exp(ls[i] + slope * (lq - lp[i]))
    return Target(q, out, self.name, self.damping, self.pga_ms2)


# ---------------------------------------------------------------------------
# Units and files.


def to_ms2(values, unit: str) -> np.ndarray:
  """Convert accelerations to m/s^2.

  Args:
    values: array-like in ``unit``.
    unit: ``"g"`` (x 9.80665), ``"m/s2"`` (also ``"m/s^2"``, ``"mps2"``) or
      ``"gal"`` (cm/s^2, also ``"cm/s2"``, ``"cm/s^2"``); case-insensitive.

  Returns:
    float64 array of the same shape in m/s^2.

  Raises:
    ValueError: an unknown unit (lists the valid ones).
  """
  return np.asarray(values, np.float64) * UNITS[check_unit("unit", unit)]


def _numeric(token: str) -> float | None:
  try:
    return float(token)
  except ValueError:
    return None


def from_file(path: str | os.PathLike, unit: str, name: str | None = None, damping: float = 0.05) -> Target:
  """Read a target spectrum from a two-column text file: period (s) and Sa.

  Columns are separated by commas, semicolons, tabs or spaces. Empty lines,
  ``#`` comments and non-numeric lines before the first data row (headers) are
  skipped. A row with period 0 gives ``pga_ms2``. Rows may be in increasing or
  decreasing period order.

  Args:
    path: the file (``.csv``, ``.txt``, anything textual).
    unit: the unit of the Sa column, ``g``, ``m/s2`` or ``gal`` (see
      :func:`to_ms2`); required, never guessed.
    name: the Target's name, default the file name.
    damping: the damping ratio the spectrum is for, in (0, 1).

  Returns:
    A :class:`Target` at the file's periods, Sa in m/s^2.

  Raises:
    FileNotFoundError: no such file.
    ValueError: naming the file (and line where there is one): a data row
      without exactly two numbers, a non-numeric row after data started, NaN or
      inf, a negative period, Sa <= 0, periods out of order or repeated, a second
      zero-period row, fewer than 2 positive periods, an unknown unit.
  """
  factor = UNITS[check_unit("unit", unit)]
  damping = check_damping("damping", damping)
  path = os.fspath(path)
  rows: list[tuple[int, float, float]] = []
  pga = None
  with open(path, encoding="utf-8-sig", errors="replace") as f:
    for lineno, line in enumerate(f, 1):
      text = line.split("#", 1)[0].strip()
      if not text:
        continue
      fields = [t for t in re.split(r"[,;\s]+", text) if t]
      values = [_numeric(t) for t in fields]
      if values[0] is None:
        if rows or pga is not None:
          raise ValueError(f"{path}, line {lineno}: not a number in a data row: {text[:60]!r}")
        continue  # A header line.
      if len(values) != 2 or None in values:
        raise ValueError(f"{path}, line {lineno}: expected two numbers (period in s, Sa in {unit}), "
                         f"got {text[:60]!r}")
      t, s = values
      if not (math.isfinite(t) and math.isfinite(s)):
        raise ValueError(f"{path}, line {lineno}: NaN or inf in {text[:60]!r}")
      if t < 0:
        raise ValueError(f"{path}, line {lineno}: negative period {t:g} s")
      if s <= 0:
        raise ValueError(f"{path}, line {lineno}: Sa = {s:g} {unit} is not > 0")
      if t == 0:
        if pga is not None:
          raise ValueError(f"{path}, line {lineno}: a second row with period 0")
        pga = s * factor
        continue
      rows.append((lineno, t, s))
  if len(rows) < 2:
    raise ValueError(f"{path}: {len(rows)} rows with a positive period; a target spectrum needs at least 2")
  if rows[-1][1] < rows[0][1]:
    rows.reverse()
  for (_, t0, _), (lineno, t1, _) in zip(rows, rows[1:]):
    if t1 <= t0:
      raise ValueError(f"{path}, line {lineno}: period {t1:g} s is out of order or repeated (after {t0:g} s); "
                       "periods must be strictly increasing or strictly decreasing")
  periods = np.array([r[1] for r in rows])
  sa = np.array([r[2] for r in rows]) * factor
  return Target(periods, sa, name if name is not None else os.path.basename(path), damping, pga)


# ---------------------------------------------------------------------------
# Recorded motions.


# Below this fraction of a record's largest |value|, its motion after removing the mean is rounding.
_FLAT_FRACTION = 1e-9
# Seismic formats a record target may be, read by ObsPy with the format named: never ObsPy's
# format detection, whose PICKLE plugin would unpickle (run) a crafted file.
OBSPY_FORMATS = ("MSEED", "SAC", "GSE2", "SEGY")
_OBSPY_SUFFIXES = {".mseed": "MSEED", ".miniseed": "MSEED", ".ms": "MSEED", ".sac": "SAC", ".gse": "GSE2",
                   ".gse2": "GSE2", ".segy": "SEGY", ".sgy": "SEGY"}


def _read_obspy(path: str):
  """An ObsPy Stream from ``path`` in one of :data:`OBSPY_FORMATS`: the format its suffix
  names, or else each allowed format in turn. Raises ValueError naming the file and the formats."""
  import obspy  # Slow to import; only this reader needs it.
  suffix = os.path.splitext(path)[1].lower()
  formats = (_OBSPY_SUFFIXES[suffix],) if suffix in _OBSPY_SUFFIXES else OBSPY_FORMATS
  errors = []
  for fmt in formats:
    try:
      return obspy.read(path, format=fmt)
    except Exception as e:  # ObsPy raises many types for unreadable files.
      errors.append(f"{fmt}: {type(e).__name__}: {e}")
  raise ValueError(f"{path}: not a record in the formats read here (K-NET/KiK-net, PEER AT2, "
                   f"{', '.join(OBSPY_FORMATS)}): {'; '.join(errors)}")


def _read_motion(path: str, component: str | None, unit: str) -> tuple[np.ndarray, float, str]:
  """(accel [T] float64 in m/s^2, dt in s, label) from a record file."""
  base = os.path.basename(path)
  if knet.is_record_file(path):
    rec = knet.read_knet_file(path)
    if component is not None and rec.component != component.strip().upper():
      raise ValueError(f"{path}: a K-NET/KiK-net {rec.component} file, but component={component!r} was asked")
    return np.asarray(rec.accel_ms2, np.float64), rec.dt, base
  if path.lower().endswith(".at2"):
    accel, dt, _ = exports.read_at2(path)
    return accel, dt, base
  stream = _read_obspy(path)
  traces = list(stream)
  if component is not None:
    want = component.strip().upper()
    traces = [tr for tr in stream if str(tr.stats.channel).upper().endswith(want)]
    if not traces:
      raise ValueError(f"{path}: no trace whose channel ends with {component!r}; channels: "
                       f"{[tr.stats.channel for tr in stream]}")
  if not traces:
    raise ValueError(f"{path}: no traces")
  tr = traces[0]
  label = f"{base} {tr.id}"
  return to_ms2(np.asarray(tr.data, np.float64), unit), float(tr.stats.delta), label


def from_record(path: str | os.PathLike, periods_s=spectra.DEFAULT_PERIODS, damping: float = 0.05,
                component: str | None = None, unit: str = "m/s2") -> Target:
  """The response spectrum of a recorded motion as a target.

  The mean is removed, then :func:`cvaegan_jax.spectra.response_spectrum`
  (float32) gives PSA at ``periods_s``; ``pga_ms2`` is the peak |a| of the
  demeaned record.

  Args:
    path: a K-NET/KiK-net file (``.EW/.NS/.UD``, ``.EW1``...), a PEER ``.AT2``
      file, or a MiniSEED, SAC, GSE2 or SEG-Y file (:data:`OBSPY_FORMATS`; ObsPy reads it with
      the format named, never by detection, so no file is ever unpickled).
    periods_s: ``[P]`` periods in seconds, > 0, strictly increasing.
    damping: ratio of critical damping in (0, 1).
    component: for ObsPy files, take the trace whose channel code ends with it
      (e.g. ``"NS"``, ``"E"``, ``"Z"``; default the first trace); for K-NET
      files, a check that the file is that component; ignored for AT2.
    unit: the unit of ObsPy data (``g``, ``m/s2``, ``gal``); K-NET and AT2
      files carry their own units.

  Returns:
    A :class:`Target` named after the file.

  Raises:
    FileNotFoundError: no such file.
    ValueError: an unreadable file (``KnetFormatError`` is a ValueError), no
      trace matching ``component``, fewer than 2 samples, NaN, a record with no
      motion (zero spectrum), bad periods, damping or unit.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file")
  periods = check_periods("periods_s", periods_s)
  damping = check_damping("damping", damping)
  unit = check_unit("unit", unit)
  accel, dt, label = _read_motion(path, component, unit)
  if accel.size < 2 or not np.all(np.isfinite(accel)):
    raise ValueError(f"{path}: fewer than 2 samples or NaN/inf values")
  level = float(np.max(np.abs(accel)))
  accel = accel - accel.mean()
  pga = float(np.max(np.abs(accel)))
  # Rounding leaves ~1e-16 of a constant record's level after the mean is removed: a record
  # whose motion is below a billionth of its level (or zero) has none.
  if pga <= max(_FLAT_FRACTION * level, 0.0):
    raise ValueError(f"{path}: the record has no motion (PGA {pga:.3g} m/s^2 after removing the mean, "
                     f"below {_FLAT_FRACTION:g} of its level {level:.3g} m/s^2)")
  sa = spectra.response_spectrum(accel[None].astype(np.float32), dt, periods, damping)
  sa = np.asarray(sa[0], np.float64)
  if np.any(sa <= 0):
    raise ValueError(f"{path}: zero spectral acceleration at T = {periods[np.argmax(sa <= 0)]:g} s")
  return Target(periods, sa, label, damping, pga)
