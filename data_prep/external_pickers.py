"""P picks made elsewhere: a PhaseNet-format picks CSV, or PhaseNet itself through SeisBench.

PhaseNet weights are never downloaded: :class:`PhaseNetPicker` takes a local weights folder and
says what is missing when SeisBench or the weights are not there.
"""

from __future__ import annotations

import csv
import dataclasses
from typing import Sequence
import os
import pathlib

import numpy as np

from data_prep import picking

__all__ = ["PicksFilePicker", "PhaseNetPicker"]


# Picks from a PhaseNet-format CSV file.


def _parse_time(text: str):
  """UTCDateTime from an ISO string (with or without 'Z' / '+00:00')."""
  import obspy

  s = text.strip()
  for suffix in ("+00:00", "Z", "z"):
    if s.endswith(suffix):
      s = s[: -len(suffix)]
  return obspy.UTCDateTime(s)


def _station_of_id(station_id: str) -> str:
  """Station code of a PhaseNet id: 'NET.STA.LOC.CHA', 'NET.STA..', 'STA'."""
  parts = station_id.strip().split(".")
  return (parts[1] if len(parts) >= 2 else parts[0]).strip().upper()


@dataclasses.dataclass
class PicksFilePicker(picking.Picker):
  """P picks read from a CSV file in PhaseNet's output format.

  Accepted format: a header row, then one pick per row. Required columns:

  * ``station_id`` or ``file_name``: which record. A station id is matched on
    its station field (``'BO.AOM008..UD'``, ``'NET.STA..'``, ``'AOM008'`` all
    name AOM008); a file name matches when its base name, minus extension,
    equals the record's or starts with the station code (K-NET naming).
  * ``phase_time``: ISO UTC time of the pick (``2018-01-24T10:51:43.330``,
    optional ``Z``). If absent, ``begin_time`` + ``phase_index`` x ``dt``
    (``dt`` column, else 0.01 s, PhaseNet's 100 Hz) is used.
  * ``phase_score``: probability in ``[0, 1]`` (becomes ``picking.Pick.score``).
  * ``phase_type``: ``P`` or ``S``; only P rows are used.

  Example::

    station_id,begin_time,phase_index,phase_time,phase_score,phase_type
    BO.AOM008..UD,2018-01-24T10:51:28.000,1533,2018-01-24T10:51:43.330,0.91,P
    BO.AOM008..UD,2018-01-24T10:51:28.000,2501,2018-01-24T10:51:53.010,0.84,S

  For a station-event, the P rows of that station whose time falls inside the
  record (first to last sample) are candidates; the highest score wins.

  Attributes:
    path: the CSV file (read once, at construction).
  """
  path: str | os.PathLike

  def __post_init__(self):
    self.path = os.fspath(self.path)
    self._rows = self._read(self.path)

  @staticmethod
  def _read(path: str) -> list[tuple[str, str, object, float]]:
    """Rows as ``(station_code, file_stem, time, score)`` for P picks only."""
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{path}: picks file not found")
    with open(path, newline="") as f:
      reader = csv.DictReader(f)
      cols = {c.strip() for c in (reader.fieldnames or [])}
      missing = [c for c in ("phase_score", "phase_type") if c not in cols]
      if not cols & {"station_id", "file_name"}:
        missing.insert(0, "station_id (or file_name)")
      if "phase_time" not in cols and not {"begin_time", "phase_index"} <= cols:
        missing.append("phase_time (or begin_time and phase_index)")
      if missing:
        raise picking.PickError(f"{path}: picks file lacks column(s) {', '.join(missing)}; found {sorted(cols)}")
      rows = []
      for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if row["phase_type"].upper() != "P":
          continue
        try:
          rows.append(PicksFilePicker._parse_row(row))
        except (ValueError, TypeError) as e:
          raise picking.PickError(f"{path}: line {line}: cannot parse pick ({e})") from e
    return rows

  @staticmethod
  def _parse_row(row: dict):
    sid = row.get("station_id", "")
    fname = row.get("file_name", "")
    stem = pathlib.PurePath(fname).name.split(".")[0].upper() if fname else ""
    if row.get("phase_time"):
      t = _parse_time(row["phase_time"])
    else:
      dt = float(row.get("dt") or 0.01)
      t = _parse_time(row["begin_time"]) + float(row["phase_index"]) * dt
    return (_station_of_id(sid) if sid else "", stem, t, float(row["phase_score"]))

  @staticmethod
  def _matches(row, station: str, stems: set) -> bool:
    code, stem, _, _ = row
    if code:
      return code == station
    return stem in stems or stem.startswith(station)

  def pick(self, records: Sequence) -> picking.Pick:
    """See :class:`picking.Picker`. ``score`` is the file's ``phase_score``."""
    records = picking.check_group(records)
    station = records[0].station.upper()
    stems = {pathlib.PurePath(str(r.path)).name.split(".")[0].upper() for r in records}
    rows = [row for row in self._rows if self._matches(row, station, stems)]
    if not rows:
      raise picking.PickError(f"{self.path}: no P pick for {picking.describe(records)}")
    r0 = records[0]
    start = r0.start_time
    end = start + (len(r0.accel_ms2) - 1) / float(r0.sampling_rate_hz)
    inside = [row for row in rows if start <= row[2] <= end]
    if not inside:
      times = ", ".join(str(row[2]) for row in rows[:3])
      raise picking.PickError(f"{self.path}: P picks for {picking.describe(records)} ({times}) fall outside the record "
                      f"{start} - {end}")
    _, _, t, score = max(inside, key=lambda row: row[3])
    return picking.Pick(r0.station, t, float(t - start), score, "picks_file")


# ---------------------------------------------------------------------------
# PhaseNet through SeisBench.

_PHASENET_HELP = (
    "PhaseNetPicker needs SeisBench and PhaseNet weights on disk (this machine has no network, "
    "so nothing is downloaded). Install SeisBench with `pip install seisbench` (it brings PyTorch). "
    "Get the weights on a machine with network access, e.g. `import seisbench.models as sbm; "
    "sbm.PhaseNet.from_pretrained('stead').save('phasenet_stead')`, which writes phasenet_stead.json "
    "and phasenet_stead.pt (or copy the folder ~/.seisbench/models/v3/phasenet), copy them here and pass "
    "the folder or the base path as weights_path."
)


@dataclasses.dataclass
class PhaseNetPicker(picking.Picker):
  """PhaseNet (Zhu & Beroza, 2019) P picks through SeisBench, from local weights.

  The components are converted to an ObsPy stream with channels ``HNZ/HNN/HNE``
  (UD/NS/EW, so SeisBench orders them ZNE), resampled to 100 Hz, and classified;
  the earliest P pick whose peak probability reaches ``threshold`` (and lies
  before the earliest PGA) is returned. ``score`` is PhaseNet's P probability.

  Attributes:
    weights_path: either the base path of a ``SeisBenchModel.save`` pair
      (``<path>.json`` and ``<path>.pt``) or a folder holding one such pair
      (files may carry a ``.v<version>`` suffix, as in SeisBench's cache).
    threshold: minimum P probability, 0-1 (0.3).

  Raises (at construction):
    ImportError: SeisBench is not installed (the message says what to install
      and how to supply the weights).
    FileNotFoundError: no weights at ``weights_path`` (same guidance).
  """
  weights_path: str | os.PathLike
  threshold: float = 0.3

  def __post_init__(self):
    self.weights_path = os.fspath(self.weights_path)
    try:
      import seisbench.models as sbm  # noqa: F401  (optional dependency)
    except ImportError as e:
      raise ImportError(f"SeisBench is not installed. {_PHASENET_HELP} (weights_path={self.weights_path!r})") from e
    base, version = self._resolve_weights(self.weights_path)
    self._model = sbm.PhaseNet.load(base, version_str=version)
    self._model.eval()

  @staticmethod
  def _resolve_weights(path: str):
    """``(base_path, version_str or None)`` for ``SeisBenchModel.load``."""
    p = pathlib.Path(path)
    if p.with_name(p.name + ".json").is_file() and p.with_name(p.name + ".pt").is_file():
      return p, None
    if p.is_dir():
      pairs = []
      for j in sorted(p.iterdir()):
        name, _, version = j.name.partition(".json")
        if j.is_file() and name and (version == "" or version.startswith(".v")):
          pt = j.with_name(name + ".pt" + version)
          if pt.is_file():
            pairs.append((p / name, version[2:] or None))
      if len(pairs) == 1:
        return pairs[0]
      if pairs:
        bases = [str(b) for b, _ in pairs]
        raise FileNotFoundError(f"{path}: several weight pairs found; pass the base path of one: {bases}")
    raise FileNotFoundError(f"PhaseNet weights not found at {path!r} (expected <path>.json and <path>.pt, "
                            f"or a folder with one such pair). {_PHASENET_HELP}")

  def _stream(self, records):
    import obspy

    chan = {"UD": "HNZ", "NS": "HNN", "EW": "HNE"}
    st = obspy.Stream()
    for r in _surface_first(records):
      if r.component in chan and not any(t.stats.channel == chan[r.component] for t in st):
        tr = obspy.Trace(np.asarray(r.accel_ms2, dtype=np.float64))
        tr.stats.update(dict(network="XX", station=r.station, channel=chan[r.component],
                             starttime=r.start_time, sampling_rate=float(r.sampling_rate_hz)))
        st += tr
    if st and st[0].stats.sampling_rate != 100.0:
      st.resample(100.0)
    return st

  def pick(self, records: Sequence) -> picking.Pick:
    """See :class:`picking.Picker`. ``score`` is PhaseNet's peak P probability."""
    records = picking.check_group(records)
    st = self._stream(records)
    if not st:
      raise picking.PickError(f"{picking.describe(records)}: no EW/NS/UD component for PhaseNet")
    start = records[0].start_time
    fs = float(records[0].sampling_rate_hz)
    limit = picking.time_limit_index(records, start, fs)
    out = self._model.classify(st, P_threshold=self.threshold)
    picks = getattr(out, "picks", out)  # SeisBench >= 0.5 wraps the list.
    cands = sorted((p for p in picks if p.phase == "P" and p.peak_value >= self.threshold), key=lambda p: p.peak_time)
    cands = [p for p in cands if limit is None or (p.peak_time - start) * fs < limit]
    if not cands:
      raise picking.PickError(f"{picking.describe(records)}: PhaseNet found no P with probability >= {self.threshold} before the PGA")
    p = cands[0]
    return picking.Pick(records[0].station, p.peak_time, float(p.peak_time - start), float(p.peak_value), "phasenet")


def _surface_first(records):
  """KiK-net surface sensor before the borehole one (see picking.pick_components)."""
  return sorted(records, key=lambda r: bool(getattr(r, "borehole", False)))
