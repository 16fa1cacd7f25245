"""Target response spectra: design codes, spectrum files and recorded motions.

A :class:`Target` is a 5%-damped (or other) pseudo-spectral acceleration
``sa_ms2 [P]`` in m/s^2 at periods ``periods_s [P]`` in seconds. Sources:

- design codes: :func:`asce7` (ASCE/SEI 7-16 / 7-22), :func:`ec8` (EN 1998-1),
  :func:`gb50011` (GB 50011-2010);
- a two-column file of period and Sa: :func:`from_file`;
- a recorded motion (K-NET/KiK-net, PEER AT2, anything ObsPy reads): :func:`from_record`.

:meth:`Target.at` moves a target to other periods by linear interpolation of
log Sa against log T.

Spec strings
------------
:func:`parse` turns one short string (a command-line flag, a config field) into a
Target. Grammar::

    SPEC  := CODE ":" ITEMS
    ITEMS := ITEM ("," ITEM)*
    ITEM  := KEY "=" VALUE | PATH            (PATH: first item of file/record only)

    asce7:sds=1.0,sd1=0.6,tl=8[,edition=16|22]
        sds, sd1: design spectral accelerations SDS, SD1 in g; tl: TL in s.
    ec8:type=1,ground=B,ag=0.3g[,damping=0.05][,importance=1.0]
        type: 1 or 2; ground: A, B, C, D or E; ag: reference peak ground
        acceleration agR on type A ground, with its unit written after the
        number: g, m/s2 (m/s^2, mps2) or gal (cm/s2); importance: gamma_I.
    gb50011:amax=0.16,tg=0.45[,damping=0.05]
        amax: alpha_max (fraction of g); tg: characteristic period Tg in s.
    file:PATH,unit=g[,name=NAME][,damping=0.05]
        a two-column period/Sa file; unit (g, m/s2 or gal) is required; the
        Target keeps the file's periods (move it with Target.at).
    record:PATH[,component=NS][,unit=m/s2][,damping=0.05]
        the response spectrum of a recorded motion; unit applies to formats
        ObsPy reads (K-NET and AT2 files carry their own units).

Rules: CODE is everything before the first ``:``, so a PATH may itself hold
``:`` (``file:C:\\spectra\\uhs.csv,unit=g``); items are split at every ``,``, so a
PATH must not hold a comma. Code names and keys are case-insensitive; spaces
around items are ignored. An unknown code or key, a missing required key, a
repeated key, a value that is not a number, or a value out of range raises
``ValueError`` quoting the spec, naming the key and the valid choices. A spec
gives exactly the Target of the direct call with the same arguments.

Beyond the codes' period ranges: EN 1998-1 defines Se(T) to 4 s and GB 50011 to
6 s; see :func:`ec8` and :func:`gb50011` for how they are continued (a warning is
logged once).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re

import numpy as np

from cvaegan_jax import spectra, validation

__all__ = ["G", "UNITS", "CODES", "Target", "to_ms2", "from_file", "from_record", "asce7", "ec8", "gb50011",
           "parse", "parse_spec"]

# Standard gravity, m/s^2.
G = 9.80665

# Accepted acceleration units: name -> factor to m/s^2.
UNITS = {"g": G, "m/s2": 1.0, "m/s^2": 1.0, "mps2": 1.0, "gal": 0.01, "cm/s2": 0.01, "cm/s^2": 0.01}

# Names :func:`parse` accepts before the first colon.
CODES = ("asce7", "ec8", "gb50011", "file", "record")

# EN 1998-1 Tables 3.2 (type 1) and 3.3 (type 2): ground -> (S, TB, TC, TD) in s.
_EC8_TABLES = {
    1: {"A": (1.0, 0.15, 0.4, 2.0), "B": (1.2, 0.15, 0.5, 2.0), "C": (1.15, 0.20, 0.6, 2.0),
        "D": (1.35, 0.20, 0.8, 2.0), "E": (1.4, 0.15, 0.5, 2.0)},
    2: {"A": (1.0, 0.05, 0.25, 1.2), "B": (1.35, 0.05, 0.25, 1.2), "C": (1.5, 0.10, 0.25, 1.2),
        "D": (1.8, 0.10, 0.30, 1.2), "E": (1.6, 0.05, 0.25, 1.2)},
}
_EC8_T_MAX = 4.0
_GB_T_MAX = 6.0
_KNET_EXT = re.compile(r"\.(EW|NS|UD)[12]?$", re.IGNORECASE)
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
  if key not in _warned:
    _warned.add(key)
    logging.warning("%s", message)


# ---------------------------------------------------------------------------
# Value checks shared by the functions and :func:`parse` (``name`` is the
# argument's or the spec key's name, so errors name what the user wrote).


def _positive(name: str, value) -> float:
  return validation.positive_float(value, name)


def _damping(name: str, value) -> float:
  try:
    v = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be a number, got {value!r}") from None
  if not (0.0 < v < 1.0):
    raise ValueError(f"{name} must lie in (0, 1) (a ratio of critical damping, e.g. 0.05), got {value!r}")
  return v


def _ground(name: str, value) -> str:
  g = str(value).strip().upper()
  if g not in _EC8_TABLES[1]:
    raise ValueError(f"{name} must be one of A, B, C, D, E (EN 1998-1 Table 3.1; S1 and S2 need "
                     f"special studies), got {value!r}")
  return g


def _spectrum_type(name: str, value) -> int:
  ok = str(value).strip() in ("1", "2") if isinstance(value, str) else (
      not isinstance(value, bool) and value in (1, 2))
  if not ok:
    raise ValueError(f"{name} must be 1 or 2 (EN 1998-1 Type 1 or Type 2 spectrum), got {value!r}")
  return int(value)


def _edition(name: str, value) -> str:
  text = str(value).strip().upper().removeprefix("ASCE").strip().removeprefix("7-")
  if text not in ("16", "22"):
    raise ValueError(f"{name} must be 16 or 22 (ASCE 7-16 or 7-22), got {value!r}")
  return text


def _unit(name: str, value) -> str:
  u = str(value).strip().lower()
  if u not in UNITS:
    raise ValueError(f"{name}: unknown unit {value!r}; valid: {', '.join(UNITS)}")
  return u


def _check_periods(name: str, values) -> np.ndarray:
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
      shapes that differ, damping outside (0, 1), pga_ms2 <= 0 or not finite.
  """
  periods_s: np.ndarray
  sa_ms2: np.ndarray
  name: str
  damping: float = 0.05
  pga_ms2: float | None = None

  def __post_init__(self):
    periods = _check_periods("Target.periods_s", self.periods_s)
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
    sa.setflags(write=False)
    if not isinstance(self.name, str):
      raise ValueError(f"Target.name must be a string, got {self.name!r}")
    damping = _damping("Target.damping", self.damping)
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
    q = _check_periods("periods_s", periods_s)
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
  return np.asarray(values, np.float64) * UNITS[_unit("unit", unit)]


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
  factor = UNITS[_unit("unit", unit)]
  damping = _damping("damping", damping)
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


def _read_motion(path: str, component: str | None, unit: str) -> tuple[np.ndarray, float, str]:
  """(accel [T] float64 in m/s^2, dt in s, label) from a record file."""
  base = os.path.basename(path)
  if _KNET_EXT.search(path):
    from data_prep import knet
    rec = knet.read_knet_file(path)
    if component is not None and rec.component != component.strip().upper():
      raise ValueError(f"{path}: a K-NET/KiK-net {rec.component} file, but component={component!r} was asked")
    return np.asarray(rec.accel_ms2, np.float64), rec.dt, base
  if path.lower().endswith(".at2"):
    from cvaegan_jax import exports
    accel, dt, _ = exports.read_at2(path)
    return accel, dt, base
  import obspy  # Slow to import; only this reader needs it.
  try:
    stream = obspy.read(path)
  except Exception as e:  # ObsPy raises many types for unreadable files.
    raise ValueError(f"{path}: not a record ObsPy can read ({type(e).__name__}: {e})") from e
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
      file, or any file ``obspy.read`` reads (MiniSEED, SAC, ...).
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
  periods = _check_periods("periods_s", periods_s)
  damping = _damping("damping", damping)
  unit = _unit("unit", unit)
  accel, dt, label = _read_motion(path, component, unit)
  if accel.size < 2 or not np.all(np.isfinite(accel)):
    raise ValueError(f"{path}: fewer than 2 samples or NaN/inf values")
  accel = accel - accel.mean()
  pga = float(np.max(np.abs(accel)))
  if pga == 0:
    raise ValueError(f"{path}: the record has no motion (all samples equal)")
  sa = spectra.response_spectrum(accel[None].astype(np.float32), dt, periods, damping)
  sa = np.asarray(sa[0], np.float64)
  if np.any(sa <= 0):
    raise ValueError(f"{path}: zero spectral acceleration at T = {periods[np.argmax(sa <= 0)]:g} s")
  return Target(periods, sa, label, damping, pga)


# ---------------------------------------------------------------------------
# Design codes.


def asce7(sds_g: float, sd1_g: float, tl_s: float, periods_s=spectra.DEFAULT_PERIODS,
          edition: str = "16") -> Target:
  """ASCE/SEI 7 design response spectrum (5% damping).

  ASCE 7-16 §11.4.6 (Fig. 11.4-1); the same two-period spectrum in ASCE 7-22
  §11.4.6. With T0 = 0.2 SD1/SDS and TS = SD1/SDS::

    Sa = SDS (0.4 + 0.6 T/T0)   T < T0              (11.4-5)
    Sa = SDS                    T0 <= T <= TS
    Sa = SD1 / T                TS < T <= TL        (11.4-6)
    Sa = SD1 TL / T^2           T > TL              (11.4-7)

  Args:
    sds_g: SDS, design short-period spectral acceleration in g, > 0.
    sd1_g: SD1, design 1-s spectral acceleration in g, > 0.
    tl_s: TL, long-period transition period in s, >= TS.
    periods_s: ``[P]`` periods in s, > 0, increasing (default 0.01-10 s, 100 log-spaced).
    edition: ``"16"`` or ``"22"`` (only the name and citation differ).

  Returns:
    A Target in m/s^2 (values in g x 9.80665), damping 0.05, ``pga_ms2 = 0.4 SDS g``.

  Raises:
    ValueError: a non-positive or non-finite parameter, TL < TS, an unknown
      edition, bad periods.
  """
  sds = _positive("sds_g", sds_g)
  sd1 = _positive("sd1_g", sd1_g)
  tl = _positive("tl_s", tl_s)
  edition = _edition("edition", edition)
  t = _check_periods("periods_s", periods_s)
  t0, ts = 0.2 * sd1 / sds, sd1 / sds
  if tl < ts:
    raise ValueError(f"tl_s = {tl:g} s must be >= TS = SD1/SDS = {ts:g} s")
  sa = np.where(t < t0, sds * (0.4 + 0.6 * t / t0),
                np.where(t <= ts, sds, np.where(t <= tl, sd1 / t, sd1 * tl / t**2)))
  return Target(t, sa * G, f"ASCE 7-{edition} (SDS={sds:g} g, SD1={sd1:g} g, TL={tl:g} s)", 0.05, 0.4 * sds * G)


def ec8(spectrum_type: int, ground: str, ag_ms2: float, damping: float = 0.05, importance: float = 1.0,
        periods_s=spectra.DEFAULT_PERIODS) -> Target:
  """EN 1998-1 (Eurocode 8) horizontal elastic response spectrum Se(T).

  §3.2.2.2, eqs. (3.2)-(3.5), with S, TB, TC, TD from Table 3.2 (Type 1) or
  Table 3.3 (Type 2), ag = gamma_I agR (§3.2.1(3)) and the damping correction
  eta = sqrt(10 / (5 + xi)) >= 0.55, xi in percent (3.6)::

    Se = ag S (1 + T/TB (2.5 eta - 1))   0 <= T <= TB
    Se = ag S eta 2.5                    TB <= T <= TC
    Se = ag S eta 2.5 TC / T             TC <= T <= TD
    Se = ag S eta 2.5 TC TD / T^2        TD <= T <= 4 s

  EN 1998-1 defines Se to 4 s (longer periods: Annex A, displacement spectrum).
  Beyond 4 s this function continues the TD branch (constant spectral
  displacement) and logs a warning once.

  Args:
    spectrum_type: 1 (Ms > 5.5) or 2.
    ground: ground type ``"A"``-``"E"`` (case-insensitive).
    ag_ms2: agR, the reference peak ground acceleration on type A ground, m/s^2, > 0.
    damping: viscous damping ratio xi in (0, 1), 0.05 gives eta = 1.
    importance: importance factor gamma_I, > 0.
    periods_s: ``[P]`` periods in s, > 0, increasing.

  Returns:
    A Target in m/s^2, ``pga_ms2 = ag S``.

  Raises:
    ValueError: spectrum_type not 1/2, ground not A-E, ag_ms2 or importance not
      positive, damping outside (0, 1), bad periods.
  """
  kind = _spectrum_type("spectrum_type", spectrum_type)
  ground = _ground("ground", ground)
  ag_r = _positive("ag_ms2", ag_ms2)
  xi = _damping("damping", damping)
  gamma_i = _positive("importance", importance)
  t = _check_periods("periods_s", periods_s)
  s, tb, tc, td = _EC8_TABLES[kind][ground]
  eta = max(math.sqrt(10.0 / (5.0 + 100.0 * xi)), 0.55)
  ag = gamma_i * ag_r
  if t[-1] > _EC8_T_MAX:
    _warn_once("ec8", f"EN 1998-1 defines Se(T) up to {_EC8_T_MAX:g} s; longer periods (to {t[-1]:g} s) "
               "continue the TD branch ag S eta 2.5 TC TD / T^2")
  se = np.where(t <= tb, ag * s * (1.0 + t / tb * (2.5 * eta - 1.0)),
                np.where(t <= tc, ag * s * eta * 2.5,
                         np.where(t <= td, ag * s * eta * 2.5 * tc / t, ag * s * eta * 2.5 * tc * td / t**2)))
  name = (f"EC8 type {kind} ground {ground} (agR={ag_r:.4g} m/s^2, gamma_I={gamma_i:g}, "
          f"damping={xi:g})")
  return Target(t, se, name, xi, ag * s)


def _gb_alpha(t: np.ndarray, alpha_max: float, tg: float, zeta: float) -> np.ndarray:
  """GB 50011-2010 Fig. 5.1.5 curve alpha(T), its formulas applied at any T."""
  gamma = 0.9 + (0.05 - zeta) / (0.3 + 6.0 * zeta)
  eta1 = max(0.02 + (0.05 - zeta) / (4.0 + 32.0 * zeta), 0.0)
  eta2 = max(1.0 + (0.05 - zeta) / (0.08 + 1.6 * zeta), 0.55)
  rising = alpha_max * (0.45 + (eta2 - 0.45) * t / 0.1)
  plateau = eta2 * alpha_max
  power = (tg / t) ** gamma * eta2 * alpha_max
  linear = (eta2 * 0.2**gamma - eta1 * (t - 5.0 * tg)) * alpha_max
  return np.where(t < 0.1, rising, np.where(t <= tg, plateau, np.where(t <= 5.0 * tg, power, linear)))


def gb50011(alpha_max: float, tg_s: float, damping: float = 0.05, periods_s=spectra.DEFAULT_PERIODS) -> Target:
  """GB 50011-2010 (Chinese seismic design code) seismic influence coefficient curve.

  §5.1.5 and Fig. 5.1.5, with the damping adjustments of §5.1.5 (eqs. 5.1.5-1
  to 5.1.5-3)::

    gamma = 0.9 + (0.05 - zeta) / (0.3 + 6 zeta)
    eta1  = 0.02 + (0.05 - zeta) / (4 + 32 zeta),   >= 0
    eta2  = 1 + (0.05 - zeta) / (0.08 + 1.6 zeta),  >= 0.55

    alpha = alpha_max (0.45 + (eta2 - 0.45) T / 0.1)       0 <= T < 0.1 s
    alpha = eta2 alpha_max                                  0.1 s <= T <= Tg
    alpha = (Tg / T)^gamma eta2 alpha_max                  Tg < T <= 5 Tg
    alpha = [eta2 0.2^gamma - eta1 (T - 5 Tg)] alpha_max   5 Tg < T <= 6 s

  and Sa = alpha g. The code stops at 6 s. Beyond 6 s this function continues
  the code's formula, but never lets it fall below alpha(6 s) (6 / T)^2 (the
  decay of constant spectral displacement): the straight line alone would
  reach zero (near 14 s for Tg = 0.45 s, 5% damping). The curve stays
  continuous at 6 s; a warning is logged once.

  Args:
    alpha_max: maximum seismic influence coefficient (fraction of g), > 0
      (e.g. 0.16 for intensity 7 / 0.15 g, rare earthquake 0.72 ...).
    tg_s: characteristic period Tg in s, >= 0.1 (Table 5.1.4-2 gives 0.20-0.90 s).
    damping: damping ratio zeta in (0, 1).
    periods_s: ``[P]`` periods in s, > 0, increasing.

  Returns:
    A Target in m/s^2, ``pga_ms2 = 0.45 alpha_max g``.

  Raises:
    ValueError: alpha_max or tg_s not positive, tg_s < 0.1 s, damping outside
      (0, 1), bad periods.
  """
  amax = _positive("alpha_max", alpha_max)
  tg = _positive("tg_s", tg_s)
  if tg < 0.1:
    raise ValueError(f"tg_s must be >= 0.1 s (the plateau starts at 0.1 s; GB 50011 Table 5.1.4-2 "
                     f"gives 0.20-0.90 s), got {tg_s!r}")
  zeta = _damping("damping", damping)
  t = _check_periods("periods_s", periods_s)
  alpha = _gb_alpha(t, amax, tg, zeta)
  if t[-1] > _GB_T_MAX:
    _warn_once("gb50011", f"GB 50011-2010 defines alpha(T) up to {_GB_T_MAX:g} s; longer periods (to "
               f"{t[-1]:g} s) continue its formula, floored at alpha(6 s) (6/T)^2")
    a6 = _gb_alpha(np.array([_GB_T_MAX]), amax, tg, zeta)[0]
    alpha = np.where(t > _GB_T_MAX, np.maximum(alpha, a6 * (_GB_T_MAX / t) ** 2), alpha)
  name = f"GB 50011-2010 (alpha_max={amax:g}, Tg={tg:g} s, damping={zeta:g})"
  return Target(t, alpha * G, name, zeta, 0.45 * amax * G)


# ---------------------------------------------------------------------------
# Spec strings.


def _accel_with_unit(name: str, text: str) -> float:
  m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*", text)
  if not m:
    raise ValueError(f"{name} must be a number with a unit (e.g. 0.3g, 2.94m/s2, 294gal), got {text!r}")
  if not m.group(2):
    raise ValueError(f"{name} needs a unit after the number: g, m/s2 or gal (e.g. {m.group(1)}g), got {text!r}")
  value = float(to_ms2(float(m.group(1)), _unit(name, m.group(2))))
  if not (math.isfinite(value) and value > 0):
    raise ValueError(f"{name} must be a positive acceleration, got {text!r}")
  return value


# code -> (function, takes a path, {key: (argument, converter(key, text), required)}).
_SPEC_KEYS = {
    "asce7": (asce7, False, {
        "sds": ("sds_g", _positive, True),
        "sd1": ("sd1_g", _positive, True),
        "tl": ("tl_s", _positive, True),
        "edition": ("edition", _edition, False)}),
    "ec8": (ec8, False, {
        "type": ("spectrum_type", _spectrum_type, True),
        "ground": ("ground", _ground, True),
        "ag": ("ag_ms2", _accel_with_unit, True),
        "damping": ("damping", _damping, False),
        "importance": ("importance", _positive, False)}),
    "gb50011": (gb50011, False, {
        "amax": ("alpha_max", _positive, True),
        "tg": ("tg_s", _positive, True),
        "damping": ("damping", _damping, False)}),
    "file": (from_file, True, {
        "unit": ("unit", _unit, True),
        "name": ("name", lambda k, v: v, False),
        "damping": ("damping", _damping, False)}),
    "record": (from_record, True, {
        "component": ("component", lambda k, v: v, False),
        "unit": ("unit", _unit, False),
        "damping": ("damping", _damping, False)}),
}


def parse_spec(spec: str) -> tuple[str, dict]:
  """The code and the converted arguments of a spec string, without computing the spectrum
  (no file is read): what :func:`parse` passes to the function of the code.

  Args:
    spec: the spec string (grammar in the module docstring).

  Returns:
    ``(code, kwargs)``: ``code`` one of :data:`CODES` (lower case); ``kwargs`` the keyword
    arguments of :func:`asce7`, :func:`ec8`, :func:`gb50011`, :func:`from_file` or
    :func:`from_record` that the spec gives (``path`` for file and record; optional keys
    only when given), e.g. ``("asce7", {"sds_g": 1.0, "sd1_g": 0.6, "tl_s": 8.0})``.

  Raises:
    ValueError: the errors of the spec that :func:`parse` lists.
  """
  if not isinstance(spec, str) or ":" not in spec:
    raise ValueError(f"target spec {spec!r}: expected CODE:KEY=VALUE,... with CODE one of {', '.join(CODES)}")
  code, rest = spec.split(":", 1)
  code = code.strip().lower()
  if code not in _SPEC_KEYS:
    raise ValueError(f"target spec {spec!r}: unknown target {code!r}; valid: {', '.join(CODES)}")
  _, takes_path, keys = _SPEC_KEYS[code]
  items = [s.strip() for s in rest.split(",")]
  kwargs = {}
  if takes_path:
    path = items.pop(0) if items else ""
    if not path or ("=" in path and path.split("=", 1)[0].strip().lower() in keys):
      raise ValueError(f"target spec {spec!r}: {code} needs a PATH right after '{code}:' "
                       f"(e.g. {code}:spectrum.csv,unit=g)")
    kwargs["path"] = path
  seen = set()
  for item in items:
    if not item:
      continue
    if "=" not in item:
      raise ValueError(f"target spec {spec!r}: expected KEY=VALUE, got {item!r} (valid keys for {code}: "
                       f"{', '.join(keys)}; commas are not allowed in paths)")
    key, value = (s.strip() for s in item.split("=", 1))
    key = key.lower()
    if key not in keys:
      raise ValueError(f"target spec {spec!r}: unknown key {key!r} for {code}; valid keys: {', '.join(keys)}")
    if key in seen:
      raise ValueError(f"target spec {spec!r}: key {key!r} given twice")
    seen.add(key)
    arg, convert, _ = keys[key]
    try:
      kwargs[arg] = convert(key, value)
    except ValueError as e:
      raise ValueError(f"target spec {spec!r}: key {key!r}: {e}") from None
  missing = [k for k, (_, _, required) in keys.items() if required and k not in seen]
  if missing:
    required = [k for k, (_, _, r) in keys.items() if r]
    raise ValueError(f"target spec {spec!r}: missing required key(s) {', '.join(missing)} for {code} "
                     f"(required: {', '.join(required)}; optional: "
                     f"{', '.join(k for k in keys if k not in required) or 'none'})")
  return code, kwargs


def parse(spec: str, periods_s=None) -> Target:
  """A Target from a spec string (grammar in the module docstring).

  Examples: ``"asce7:sds=1.0,sd1=0.6,tl=8"``, ``"ec8:type=1,ground=B,ag=0.3g"``,
  ``"gb50011:amax=0.16,tg=0.45"``, ``"file:uhs.csv,unit=g"``,
  ``"record:AOM0081801241951.NS"``.

  Args:
    spec: the spec string.
    periods_s: ``[P]`` periods in s at which design codes and records are
      computed; None: ``spectra.DEFAULT_PERIODS``. A file always keeps its own
      periods (move it with :meth:`Target.at`, which decides about
      extrapolation), so ``parse`` never fails for want of coverage.

  Returns:
    The Target the direct call (:func:`asce7`, :func:`ec8`, :func:`gb50011`,
    :func:`from_file`, :func:`from_record`) gives for the same arguments.

  Raises:
    ValueError: quoting the spec: no ``:``, an unknown code (lists the valid
      ones), an item without ``=``, an unknown key (lists the valid keys), a
      repeated or missing required key, a value that is not a number or out of
      range (names the key), a missing PATH; and the errors of the function called.
  """
  code, kwargs = parse_spec(spec)
  fn = _SPEC_KEYS[code][0]
  try:
    if code == "file":
      return fn(**kwargs)
    periods = spectra.DEFAULT_PERIODS if periods_s is None else periods_s
    return fn(**kwargs, periods_s=periods)
  except ValueError as e:
    raise ValueError(f"target spec {spec!r}: {e}") from e
