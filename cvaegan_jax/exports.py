"""Writing generated accelerograms in the formats engineers load, and reading them back.

Records are ``accel_ms2`` arrays ``[N, T]`` (or ``[T]`` for one record) in m/s^2
with a sampling interval ``dt`` in seconds and optional record names. A suite of
pairs of horizontal components is ``[N, 2, T]``: record n, component 0 = H1 and
1 = H2 (two orthogonal horizontals, orientation not stated), time; each record
keeps one name and its components carry the suffixes ``_H1`` / ``_H2``.

Formats (single records / pairs):

- PEER NGA ``.AT2`` (:func:`write_at2`, :func:`read_at2`): one component per
  file, values in g, five per line; a pair is two files ``<name>_H1.AT2`` and
  ``<name>_H2.AT2``, read with two calls. The reader also takes the common PEER
  variants (``NPTS= 2000 DT= .005``, with or without commas and ``SEC``, the
  older ``2000 0.005 NPTS, DT`` line, any column layout).
- CSV (:func:`write_csv`, :func:`read_csv`): one file, a ``# dt=... unit=m/s^2``
  line, then ``time_s,<name>_ms2,...`` columns; pairs add ``components=H1/H2``
  to that line and write ``time_s,<name>_H1_ms2,<name>_H2_ms2,...``, and read
  back as ``[N, 2, T]``.
- NumPy ``.npz`` (:func:`write_npz`, :func:`read_npz`): the records (``[N, T]``,
  ``[T]`` or ``[N, 2, T]``, stored as given) plus any arrays (periods, spectra,
  misfits, names, target Sa ...).
- MiniSEED and SAC through ObsPy (:func:`write_obspy`), float32 in m/s^2: one
  trace per component, channel ``<band>N1`` (H1) and ``<band>N2`` (H2), one
  location code per record; SAC is one file per trace.

:func:`export` writes a suite (single records or pairs) into a directory in one
of these formats.

Precision: float32 input survives AT2 and CSV bit-for-bit once cast back to
float32 (ten significant digits are written, more than float32's nine); float64
input is written with seventeen significant digits. MiniSEED and SAC hold float32.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re

import numpy as np

from cvaegan_jax import validation

__all__ = ["G", "FORMATS", "COMPONENTS", "write_at2", "read_at2", "write_csv", "read_csv", "write_npz", "read_npz",
           "write_obspy", "export"]

# Standard gravity in m/s^2 (the factor between g and m/s^2 everywhere in the project).
G = validation.G_MS2

# Formats accepted by :func:`export`.
FORMATS = ("at2", "csv", "npz", "mseed", "sac")

# Suffixes of the two horizontal components of a pair, in the order of axis 1 of [N, 2, T].
COMPONENTS = ("H1", "H2")

_AT2_FIRST_LINE = "PEER NGA STRONG MOTION DATABASE RECORD"
_AT2_UNIT_LINE = "ACCELERATION TIME SERIES IN UNITS OF G"
_NAME_OK = re.compile(r"^[A-Za-z0-9_.+-]+$")
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][-+]?\d+)?"
_FLOAT_RUN = re.compile(rf"(?:{_FLOAT})+")
_FLOAT_ONE = re.compile(_FLOAT)
# Factor to m/s^2 for the units an AT2-like header may state.
_AT2_UNITS = {"G": G, "CM/S/S": 0.01, "CM/SEC/SEC": 0.01, "CM/S^2": 0.01, "CM/S2": 0.01, "CM/SEC2": 0.01,
              "GAL": 0.01, "M/S/S": 1.0, "M/SEC/SEC": 1.0, "M/S^2": 1.0, "M/S2": 1.0}


def _check_names(names, n: int) -> list[str]:
  if names is None:
    return [f"record_{i + 1:03d}" for i in range(n)]
  if isinstance(names, str):
    names = [names]
  names = [str(s) for s in names]
  if len(names) != n:
    raise ValueError(f"names has {len(names)} entries for {n} records")
  for s in names:
    if not _NAME_OK.match(s):
      raise ValueError(f"record name {s!r} may use only letters, digits and _ . + - "
                       "(it becomes a file name or a CSV column)")
  dup = sorted({s for s in names if names.count(s) > 1})
  if dup:
    raise ValueError(f"record names must be unique; repeated: {dup}")
  return names


def _check_suite(accel_ms2) -> np.ndarray:
  """``[T]`` or ``[N, T]`` -> ``[N, T]``; ``[N, 2, T]`` pairs stay 3-D (any array of 3 or more axes is
  checked as pairs, so ``[N, 3, T]`` is refused by name)."""
  if np.ndim(accel_ms2) >= 3:
    return validation.check_pairs(accel_ms2)
  return validation.check_records(accel_ms2)


def _flat(arr: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
  """``[N, 2, T]`` pairs -> ``[2N, T]`` in order H1, H2, H1, H2... and names ``<name>_H1``, ``<name>_H2``;
  ``[N, T]`` passes through."""
  if arr.ndim == 2:
    return arr, names
  return arr.reshape(-1, arr.shape[-1]), [f"{s}_{c}" for s in names for c in COMPONENTS]


def _fmt_for(dtype) -> str:
  # float32 needs 9 significant digits to round trip, float64 17.
  return "%.9E" if dtype == np.float32 else "%.16E"


# ---------------------------------------------------------------------------
# PEER AT2.


def _at2_dt_text(dt: float) -> str:
  """PEER writes ``.0100``; keep that look when it reads back as exactly dt."""
  text = f"{dt:.4f}"
  if float(text) != dt:
    text = repr(dt)
  return text[1:] if text.startswith("0.") else text


def write_at2(path: str | os.PathLike, accel_ms2, dt: float,
              title: str = "cvaegan-jax generated accelerogram") -> str:
  """Write one record as a PEER NGA ``.AT2`` file.

  The file has the four PEER header lines (``PEER NGA STRONG MOTION DATABASE
  RECORD``, ``title``, ``ACCELERATION TIME SERIES IN UNITS OF G``,
  ``NPTS=  3000, DT=   .0100 SEC``) and the values in g, five per line, E-format.
  AT2 holds one component: write a pair ``x [2, T]`` as two files,
  ``write_at2("<name>_H1.AT2", x[0], dt)`` and ``write_at2("<name>_H2.AT2", x[1], dt)``
  (what :func:`export` does for ``[N, 2, T]``).

  Args:
    path: the file to write (overwritten).
    accel_ms2: ``[T]`` acceleration in m/s^2 (a ``[1, T]`` array is accepted).
    dt: sampling interval in seconds; written so that it reads back exactly.
    title: the second header line (line breaks become spaces).

  Returns:
    ``path`` as a string.

  Raises:
    ValueError: more than one record, NaN/inf values, or a non-positive dt.
    TypeError: a non-numeric array or dt.
  """
  arr = validation.check_records(accel_ms2)
  if arr.shape[0] != 1:
    raise ValueError(f"write_at2 writes one record per file; got accel_ms2 of shape {np.shape(accel_ms2)}")
  dt = validation.check_dt(dt)
  x = arr[0]
  g_values = x.astype(np.float64) / G
  fmt = _fmt_for(x.dtype)
  title = " ".join(str(title).splitlines()) or "untitled"
  path = os.fspath(path)
  lines = [_AT2_FIRST_LINE, title, _AT2_UNIT_LINE, f"NPTS={x.size:7d}, DT={_at2_dt_text(dt):>9s} SEC"]
  for i in range(0, x.size, 5):
    lines.append("  ".join(fmt % v for v in g_values[i:i + 5]))
  with open(path, "w", encoding="ascii", newline="\n") as f:
    f.write("\n".join(lines) + "\n")
  return path


def _npts_dt(line: str):
  """(npts, dt) from a PEER NPTS/DT line, or None."""
  upper = line.upper()
  if "NPTS" not in upper or "DT" not in upper:
    return None
  m_n = re.search(r"NPTS\s*[=:]?\s*(\d+)", upper)
  m_dt = re.search(rf"\bDT\s*[=:]?\s*({_FLOAT})", upper)
  if m_n and m_dt:
    return int(m_n.group(1)), float(m_dt.group(1).replace("D", "E"))
  # Older PEER layout: "  2000   0.0050   NPTS, DT".
  nums = _FLOAT_ONE.findall(upper.split("NPTS")[0])
  if len(nums) >= 2:
    return int(float(nums[0])), float(nums[1].replace("D", "E"))
  return None


def _split_values(token: str, path: str, lineno: int) -> list[float]:
  try:
    return [float(token)]
  except ValueError:
    pass
  # Fortran fixed-width fields can run together: "-.1234E-02-.5678E-03".
  if _FLOAT_RUN.fullmatch(token):
    return [float(t.replace("D", "E").replace("d", "e")) for t in _FLOAT_ONE.findall(token)]
  raise ValueError(f"{path}, line {lineno}: {token!r} is not a number")


def read_at2(path: str | os.PathLike) -> tuple[np.ndarray, float, dict]:
  """Read a PEER NGA ``.AT2`` acceleration file (one component).

  A pair exported as ``<name>_H1.AT2`` / ``<name>_H2.AT2`` is read with two calls:
  ``np.stack([read_at2(h1)[0], read_at2(h2)[0]])`` is the ``[2, T]`` pair.

  Args:
    path: the file. The header is everything up to the line holding NPTS and
      DT (within the first 10 lines); values follow in any column layout.
      Units are g unless the header says ``UNITS OF CM/S/S`` (or gal, m/s/s).

  Returns:
    ``(accel_ms2, dt, header)``: ``[T]`` float64 acceleration in m/s^2, the
    sampling interval in seconds, and a dict with ``title`` (line 2), ``npts``,
    ``dt``, ``unit`` (as stated, e.g. ``'G'``) and ``header_lines`` (list of str).

  Raises:
    FileNotFoundError: no such file.
    ValueError: not an AT2 file (no NPTS/DT line: names the path and the first
      line), a velocity/displacement file, an unknown unit, a non-numeric value
      (names the line), NaN/inf values, or NPTS not equal to the number of values.
  """
  path = os.fspath(path)
  with open(path, encoding="utf-8", errors="replace") as f:
    text = f.read().splitlines()
  head_end = None
  for i, line in enumerate(text[:10]):
    found = _npts_dt(line)
    if found is not None:
      head_end, (npts, dt) = i, found
      break
  if head_end is None:
    first = text[0][:60] if text else "(empty file)"
    raise ValueError(f"{path}: not a PEER AT2 file: no 'NPTS=..., DT=...' line in the first 10 lines "
                     f"(line 1 reads {first!r})")
  header = text[:head_end + 1]
  if not (math.isfinite(dt) and dt > 0):
    raise ValueError(f"{path}, line {head_end + 1}: DT={dt!r} is not a positive number of seconds")
  unit, factor = "G", G
  for lineno, line in enumerate(header, 1):
    upper = line.upper()
    if re.search(r"\b(VELOCITY|DISPLACEMENT)\b", upper) and "TIME SERIES" in upper:
      raise ValueError(f"{path}, line {lineno}: a velocity or displacement file, not acceleration ({line.strip()!r})")
    m = re.search(r"UNITS?\s+OF\s+(\S+)", upper)
    if m:
      unit = m.group(1).rstrip(".,")
      if unit not in _AT2_UNITS:
        raise ValueError(f"{path}, line {lineno}: unknown unit {unit!r}; known: {', '.join(_AT2_UNITS)}")
      factor = _AT2_UNITS[unit]
  values: list[float] = []
  for lineno, line in enumerate(text[head_end + 1:], head_end + 2):
    for token in line.split():
      values.extend(_split_values(token, path, lineno))
  if len(values) != npts:
    raise ValueError(f"{path}: NPTS={npts} in line {head_end + 1} but {len(values)} values follow")
  g_values = np.asarray(values, np.float64)
  if not np.all(np.isfinite(g_values)):
    raise ValueError(f"{path}: value {int(np.argmax(~np.isfinite(g_values)))} is NaN or inf")
  meta = {"title": header[1].strip() if len(header) > 2 else "", "npts": npts, "dt": dt, "unit": unit,
          "header_lines": header}
  return g_values * factor, dt, meta


# ---------------------------------------------------------------------------
# CSV.


def write_csv(path: str | os.PathLike, accel_ms2, dt: float, names=None) -> str:
  """Write records as one CSV: a ``# dt=... unit=m/s^2 dtype=...`` line, then
  ``time_s,<name1>_ms2,<name2>_ms2,...`` and one row per sample.

  Pairs ``[N, 2, T]`` add ``components=H1/H2`` to the first line and write two
  columns per record, ``time_s,<name1>_H1_ms2,<name1>_H2_ms2,<name2>_H1_ms2,...``.

  Args:
    path: the file to write (overwritten).
    accel_ms2: ``[N, T]`` or ``[T]`` records, or ``[N, 2, T]`` pairs (axis 1:
      H1, H2), acceleration in m/s^2.
    dt: sampling interval in seconds (written with ``repr``: exact).
    names: ``N`` record names (letters, digits, ``_ . + -``), default
      ``record_001``...; a pair's two columns share its name.

  Returns:
    ``path`` as a string. Values carry 10 (float32) or 17 (float64) significant
    digits, so :func:`read_csv` gives back the same array bit-for-bit.

  Raises:
    ValueError / TypeError: bad shape (a 3-D array whose axis 1 is not 2
    included), NaN/inf, dt <= 0, names of the wrong count, repeated or with
    unsafe characters.
  """
  arr = _check_suite(accel_ms2)
  dt = validation.check_dt(dt)
  flat, columns = _flat(arr, _check_names(names, arr.shape[0]))
  fmt = _fmt_for(arr.dtype)
  path = os.fspath(path)
  t = np.arange(flat.shape[1]) * dt
  first = f"# dt={dt!r} unit=m/s^2 dtype={arr.dtype.name}"
  if arr.ndim == 3:
    first += " components=" + "/".join(COMPONENTS)
  with open(path, "w", encoding="ascii", newline="\n") as f:
    f.write(first + "\n")
    f.write(",".join(["time_s"] + [f"{s}_ms2" for s in columns]) + "\n")
    for k in range(flat.shape[1]):
      f.write(",".join([f"{t[k]:.10g}"] + [fmt % v for v in flat[:, k]]) + "\n")
  return path


def _pair_names(columns: list[str], path: str) -> list[str]:
  """``[a_H1, a_H2, b_H1, b_H2, ...]`` -> ``[a, b, ...]``, or a ValueError naming the first column out of step."""
  if len(columns) % 2:
    raise ValueError(f"{path}: {len(columns)} record columns cannot be pairs '<name>_H1_ms2,<name>_H2_ms2'")
  stems = []
  for j in range(0, len(columns), 2):
    stem = columns[j].removesuffix("_H1")
    for k, c in ((j, f"{stem}_H1"), (j + 1, f"{stem}_H2")):
      if columns[k] != c:
        raise ValueError(f"{path}: column {k + 2} is {columns[k] + '_ms2'!r}, expected {c + '_ms2'!r} "
                         "(pairs are '<name>_H1_ms2,<name>_H2_ms2' in turn)")
    stems.append(stem)
  return stems


def read_csv(path: str | os.PathLike, pairs: bool | None = None) -> tuple[np.ndarray, float, list[str]]:
  """Read a CSV written by :func:`write_csv`.

  Args:
    path: the file. Without a ``# dt=`` line, dt is taken from the ``time_s``
      column (its first step).
    pairs: how to shape the columns. None (default): as the file says, pairs
      when its ``#`` line has ``components=H1/H2`` (what :func:`write_csv`
      writes for ``[N, 2, T]``), single records otherwise, so files of single
      records read as they always have. True: group the columns into pairs
      (they must alternate ``<name>_H1_ms2,<name>_H2_ms2``), e.g. for a file
      written elsewhere without that line. False: never group; pairs come back
      as ``[2N, T]`` named ``<name>_H1``, ``<name>_H2``.

  Returns:
    ``(accel_ms2, dt, names)``: ``[N, T]`` records, or ``[N, 2, T]`` pairs
    (axis 1: H1, H2), in m/s^2 (in the dtype the header names, float64 by
    default); dt in seconds; the ``N`` names (``_ms2`` removed, and for pairs
    ``_H1`` / ``_H2`` too).

  Raises:
    FileNotFoundError: no such file.
    ValueError: no ``time_s`` header, a row with the wrong number of fields or a
      non-numeric field (names the line), fewer than 2 rows without a dt line,
      a unit other than m/s^2, components other than ``H1/H2``, or columns that
      are not pairs when pairs are asked for or announced (names the column).
  """
  path = os.fspath(path)
  dt = None
  dtype = np.float64
  names = None
  file_pairs = False
  rows: list[list[float]] = []
  with open(path, encoding="utf-8-sig", newline="") as f:
    for lineno, row in enumerate(csv.reader(f), 1):
      if not row or not "".join(row).strip():
        continue
      if row[0].lstrip().startswith("#"):
        meta = dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", ",".join(row)))
        if "dt" in meta:
          dt = validation.check_dt(meta["dt"])
        if "unit" in meta and meta["unit"] not in ("m/s^2", "m/s2"):
          raise ValueError(f"{path}, line {lineno}: unit {meta['unit']!r}; read_csv reads m/s^2 files")
        if "dtype" in meta:
          if meta["dtype"] not in ("float32", "float64"):
            raise ValueError(f"{path}, line {lineno}: dtype {meta['dtype']!r} is not float32 or float64")
          dtype = np.dtype(meta["dtype"])
        if "components" in meta:
          if meta["components"] != "/".join(COMPONENTS):
            raise ValueError(f"{path}, line {lineno}: components {meta['components']!r}; read_csv reads "
                             f"{'/'.join(COMPONENTS)!r} pairs")
          file_pairs = True
        continue
      if names is None:
        if row[0].strip() != "time_s":
          raise ValueError(f"{path}, line {lineno}: expected the header 'time_s,<name>_ms2,...', got {row[:3]}")
        names = [c.strip().removesuffix("_ms2") for c in row[1:]]
        if not names:
          raise ValueError(f"{path}, line {lineno}: no record columns after time_s")
        continue
      if len(row) != len(names) + 1:
        raise ValueError(f"{path}, line {lineno}: {len(row)} fields, expected {len(names) + 1}")
      try:
        rows.append([float(c) for c in row])
      except ValueError:
        raise ValueError(f"{path}, line {lineno}: non-numeric field in {row[:4]}") from None
  if names is None or not rows:
    raise ValueError(f"{path}: no 'time_s,...' header or no data rows")
  data = np.asarray(rows, np.float64)
  if dt is None:
    if data.shape[0] < 2:
      raise ValueError(f"{path}: no '# dt=' line and fewer than 2 rows to take dt from")
    dt = validation.check_dt(data[1, 0] - data[0, 0])
  accel = data[:, 1:].T.astype(dtype)
  if not np.all(np.isfinite(accel)):
    raise ValueError(f"{path}: NaN or inf values")
  if file_pairs if pairs is None else pairs:
    names = _pair_names(names, path)
    accel = accel.reshape(len(names), len(COMPONENTS), -1)
  return accel, dt, names


# ---------------------------------------------------------------------------
# NPZ.


def write_npz(path: str | os.PathLike, accel_ms2, dt: float, **extra) -> str:
  """Write records and any companion arrays to one ``.npz`` (no pickles).

  Args:
    path: the file; NumPy appends ``.npz`` when missing.
    accel_ms2: ``[N, T]`` or ``[T]`` records, or ``[N, 2, T]`` pairs (axis 1:
      H1, H2), acceleration in m/s^2, stored as given (shape and dtype).
    dt: sampling interval in seconds.
    **extra: arrays or lists to store beside them, e.g. ``periods_s [P]``,
      ``spectra_ms2 [N, P]``, ``misfit [N]``, ``names [N]``, ``target_sa_ms2 [P]``.

  Returns:
    The path written (with ``.npz``).

  Raises:
    ValueError: an extra that is not a plain array (object dtype); bad records
      or dt as in :func:`write_csv`.
  """
  arr = np.asarray(accel_ms2)
  _check_suite(arr)
  dt = validation.check_dt(dt)
  arrays = {"accel_ms2": arr, "dt": np.float64(dt)}
  for key, value in extra.items():
    value = np.asarray(value)
    if value.dtype == object:
      raise ValueError(f"write_npz: extra {key!r} is not a plain array (object dtype)")
    arrays[key] = value
  path = os.fspath(path)
  if not path.endswith(".npz"):
    path += ".npz"
  np.savez(path, **arrays)
  return path


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, float, dict]:
  """Read a file written by :func:`write_npz`.

  Returns:
    ``(accel_ms2, dt, extra)``: the records as stored (``[N, T]``, ``[T]``, or
    ``[N, 2, T]`` pairs with axis 1 = H1, H2; m/s^2), dt in seconds, and a dict
    of the other arrays.

  Raises:
    FileNotFoundError: no such file. ValueError: ``accel_ms2`` or ``dt`` missing.
  """
  path = os.fspath(path)
  with np.load(path, allow_pickle=False) as z:
    missing = [k for k in ("accel_ms2", "dt") if k not in z.files]
    if missing:
      raise ValueError(f"{path}: not a cvaegan-jax records file (missing {missing})")
    extra = {k: z[k] for k in z.files if k not in ("accel_ms2", "dt")}
    return z["accel_ms2"], float(z["dt"]), extra


# ---------------------------------------------------------------------------
# MiniSEED / SAC through ObsPy.


def _band_code(rate_hz: float) -> str:
  # SEED band codes for broad-band-like instruments by sampling rate.
  for low, code in ((1000.0, "F"), (250.0, "C"), (80.0, "H"), (10.0, "B"), (1.0, "M")):
    if rate_hz >= low:
      return code
  return "L"


def _location_code(i: int) -> str:
  digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  return digits[i // 36] + digits[i % 36]


def write_obspy(path: str | os.PathLike, accel_ms2, dt: float, format: str = "MSEED", names=None,
                network: str = "XX", station: str = "GEN", starttime=None) -> list[str]:
  """Write records as MiniSEED (one file) or SAC (one file per trace) with ObsPy.

  Each record gets its own location code (``00``, ``01``, ... ``09``, ``0A`` ...
  base 36), so the traces of one MiniSEED file stay apart. A single record is
  one Trace of float32 m/s^2 samples with channel ``<band>N1`` (band code from
  the sampling rate, e.g. ``HN1`` at 100 Hz). A pair is two Traces with the
  record's location code, channels ``<band>N1`` (H1) and ``<band>N2`` (H2):
  SEED's codes for two orthogonal horizontals not aligned N/E. Traces go in
  record order, H1 before H2. SAC files carry the record name in ``kevnm`` (16
  characters) and are named ``<stem>_001.sac``, ``<stem>_002.sac``..., for
  pairs ``<stem>_001_H1.sac``, ``<stem>_001_H2.sac``, ``<stem>_002_H1.sac``...
  (the record number as for single records, the component suffix as in AT2
  and CSV).

  Args:
    path: MiniSEED file, or for SAC the stem (a ``.sac`` suffix is dropped).
    accel_ms2: ``[N, T]`` or ``[T]`` records, or ``[N, 2, T]`` pairs (axis 1:
      H1, H2), acceleration in m/s^2 (cast to float32).
    dt: sampling interval in seconds (SAC stores it as float32).
    format: ``"MSEED"`` or ``"SAC"`` (case-insensitive).
    names: ``N`` record names (see :func:`write_csv`).
    network, station: SEED codes (at most 2 and 5 characters).
    starttime: ``obspy.UTCDateTime`` of the first sample; None: 1970-01-01T00:00:00.

  Returns:
    The files written (SAC: in trace order).

  Raises:
    ValueError: an unknown format, more than 1296 records, codes too long, and
    the errors of :func:`write_csv` for records, dt and names.
  """
  import obspy  # Slow to import; only these writers need it.

  arr = _check_suite(accel_ms2)
  dt = validation.check_dt(dt)
  names = _check_names(names, arr.shape[0])
  fmt = str(format).upper()
  if fmt not in ("MSEED", "SAC"):
    raise ValueError(f"format must be 'MSEED' or 'SAC', got {format!r}")
  if arr.shape[0] > 36 * 36:
    raise ValueError(f"at most 1296 records per call (two-character location codes), got {arr.shape[0]}")
  if len(network) > 2 or len(station) > 5:
    raise ValueError(f"network (<= 2 chars) / station (<= 5 chars) codes too long: {network!r}, {station!r}")
  start = obspy.UTCDateTime(0) if starttime is None else obspy.UTCDateTime(starttime)
  band = _band_code(1.0 / dt)
  pairs = arr.ndim == 3
  # (record index, component suffix or "", channel, samples) per trace.
  if pairs:
    items = [(i, f"_{c}", f"{band}N{k + 1}", x[k]) for i, x in enumerate(arr) for k, c in enumerate(COMPONENTS)]
  else:
    items = [(i, "", f"{band}N1", x) for i, x in enumerate(arr)]
  traces = []
  for i, _, channel, x in items:
    stats = {"network": network, "station": station, "location": _location_code(i), "channel": channel,
             "delta": dt, "starttime": start}
    tr = obspy.Trace(data=np.ascontiguousarray(x, np.float32), header=stats)
    if fmt == "SAC":
      tr.stats.sac = obspy.core.AttribDict({"kevnm": names[i][:16]})
    traces.append(tr)
  path = os.fspath(path)
  if fmt == "MSEED":
    obspy.Stream(traces).write(path, format="MSEED", encoding="FLOAT32")
    return [path]
  stem = path[:-4] if path.lower().endswith(".sac") else path
  out = []
  for (i, suffix, _, _), tr in zip(items, traces):
    p = f"{stem}_{i + 1:03d}{suffix}.sac"
    tr.write(p, format="SAC")
    out.append(p)
  return out


# ---------------------------------------------------------------------------
# One call for a suite.


def export(out_dir: str | os.PathLike, accel_ms2, dt: float, fmt: str, names=None, **extra) -> list[str]:
  """Write a suite of records, or of pairs of horizontal components, into ``out_dir`` in one format.

  Files for ``[N, T]`` records: ``at2``: ``<name>.AT2`` per record; ``csv``:
  ``records.csv``; ``npz``: ``records.npz`` (with ``names`` and ``extra``);
  ``mseed``: ``records.mseed``; ``sac``: ``records_001.sac``...

  Files for ``[N, 2, T]`` pairs: ``at2``: ``<name>_H1.AT2`` and ``<name>_H2.AT2``
  per record (titles name the component); ``csv``: ``records.csv`` with columns
  ``time_s,<name>_H1_ms2,<name>_H2_ms2,...``; ``npz``: ``records.npz`` holding
  the ``[N, 2, T]`` array as is; ``mseed``: ``records.mseed`` with two traces per
  record (one location code, channels ``<band>N1`` / ``<band>N2``); ``sac``:
  ``records_001_H1.sac``, ``records_001_H2.sac``... (see :func:`write_obspy`).

  Args:
    out_dir: directory, created when missing.
    accel_ms2: ``[N, T]`` or ``[T]`` records, or ``[N, 2, T]`` pairs (axis 1:
      component H1, H2), acceleration in m/s^2.
    dt: sampling interval in seconds.
    fmt: one of :data:`FORMATS` (case-insensitive).
    names: ``N`` record names (one per pair), default ``record_001``...
    **extra: arrays stored in the ``npz`` format (periods, spectra, misfits,
      target Sa ...); the other formats hold only the records and ignore them.

  Returns:
    The files written, in record order (for pairs H1 before H2).

  Raises:
    ValueError: an unknown ``fmt`` (lists the valid ones), a 3-D ``accel_ms2``
    whose axis 1 is not 2, and the errors of the writer it calls.
  """
  key = str(fmt).lower()
  if key not in FORMATS:
    raise ValueError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
  arr = _check_suite(accel_ms2)
  names = _check_names(names, arr.shape[0])
  out_dir = os.fspath(out_dir)
  os.makedirs(out_dir, exist_ok=True)
  if extra and key != "npz":
    logging.info("export: format %s holds only the records; not written: %s", key, sorted(extra))
  if key == "at2":
    flat, stems = _flat(arr, names)
    what = [f"{s} component {c}" for s in names for c in COMPONENTS] if arr.ndim == 3 else names
    return [write_at2(os.path.join(out_dir, f"{s}.AT2"), x, dt, title=f"{w} generated by cvaegan-jax")
            for s, w, x in zip(stems, what, flat)]
  if key == "csv":
    return [write_csv(os.path.join(out_dir, "records.csv"), arr, dt, names)]
  if key == "npz":
    return [write_npz(os.path.join(out_dir, "records.npz"), arr, dt, names=np.asarray(names), **extra)]
  return write_obspy(os.path.join(out_dir, "records.mseed" if key == "mseed" else "records"), arr, dt,
                     format="MSEED" if key == "mseed" else "SAC", names=names)
