"""From raw K-NET/KiK-net inputs to dataset examples: discovery, splits, processing.

The TFDS builder (``data_prep/knet_spectra``) only wires these functions together:

* :func:`discover` lists the component files below files, folders or NIED ``.tar.gz``
  archives and groups them by station and event (the components a picker sees);
* :func:`assign_splits` puts whole events into ``train``/``validation``/``test``
  (``min_magnitude <= M <= max_magnitude``) or ``ood_low``/``ood_high``;
* :func:`process_group` reads, picks, processes and computes the spectra of one
  station's components and returns examples plus the reasons for what it skipped.

Bad files never stop a build: they are skipped with a reason (``unreadable``, QC
reasons from :mod:`data_prep.processing`, ``no_pick``) and counted.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import tarfile
from collections.abc import Iterable, Sequence

import numpy as np

from cvaegan_jax import intensity
from data_prep import knet, picking, processing, qc_plots

__all__ = ["Source", "Group", "discover", "assign_splits", "process_group", "SPLITS"]

SPLITS = ("train", "validation", "test", "ood_low", "ood_high")


@dataclasses.dataclass(frozen=True)
class Source:
  """One component file: a plain path, or a member of a ``.tar.gz`` archive."""
  path: str
  member: str | None = None

  @property
  def name(self) -> str:
    return f"{self.path}:{self.member}" if self.member else self.path

  def read(self) -> knet.Record:
    """Read the record (raises knet.KnetFormatError / OSError naming the source)."""
    if self.member is None:
      return knet.read_knet_file(self.path)
    try:
      with tarfile.open(self.path, "r:*") as tar:
        data = tar.extractfile(self.member).read()
    except (tarfile.TarError, OSError, EOFError) as e:
      raise knet.KnetFormatError(f"{self.name}: cannot read archive member ({e})") from e
    return knet.read_knet_bytes(data, self.name)


@dataclasses.dataclass(frozen=True)
class Group:
  """The component files of one station and one record (e.g. ``AOM0011801241951``)."""
  key: str
  sources: tuple[Source, ...]


def _archive_members(path: str) -> list[Source]:
  try:
    with tarfile.open(path, "r:*") as tar:
      names = [m.name for m in tar.getmembers() if m.isfile()]
  except (tarfile.TarError, OSError, EOFError) as e:
    raise knet.KnetFormatError(f"{path}: corrupt or unreadable archive ({e})") from e
  out = []
  for name in names:
    base = os.path.basename(name)
    if knet.FILE_NAME.match(base):
      out.append(Source(path, name))
    elif base.endswith((".tar.gz", ".tgz", ".tar")):
      raise knet.KnetFormatError(f"{path}: nested archive {name} is not supported; unpack the outer one")
  return out


def discover(inputs: Sequence[str] | str) -> tuple[list[Group], list[tuple[str, str]]]:
  """Component files below ``inputs`` (files, folders, ``.tar.gz``), grouped by record.

  Args:
    inputs: paths; folders are searched recursively.

  Returns:
    (groups sorted by key, problems) where problems lists (path, reason) for corrupt
    archives.

  Raises:
    FileNotFoundError: an input path does not exist.
    ValueError: nothing that looks like a K-NET/KiK-net file was found.
  """
  if isinstance(inputs, (str, os.PathLike)):
    inputs = [inputs]
  sources: list[Source] = []
  problems: list[tuple[str, str]] = []

  def add_file(path):
    if path.endswith((".tar.gz", ".tgz", ".tar")):
      try:
        sources.extend(_archive_members(path))
      except knet.KnetFormatError as e:
        problems.append((path, f"unreadable: {e}"))
    elif knet.FILE_NAME.match(os.path.basename(path)):
      sources.append(Source(path))

  for root in map(os.fspath, inputs):
    if os.path.isdir(root):
      for dirpath, _, names in os.walk(root):
        for n in sorted(names):
          add_file(os.path.join(dirpath, n))
    elif os.path.isfile(root):
      add_file(root)
    else:
      raise FileNotFoundError(f"input {root!r} does not exist")
  if not sources:
    raise ValueError(f"no K-NET/KiK-net files (.EW/.NS/.UD, .EW1/.EW2/...) or .tar.gz archives of them "
                     f"found in {list(inputs)}" + (f"; problems: {problems}" if problems else ""))
  by_key: dict[str, list[Source]] = collections.defaultdict(list)
  for s in sources:
    stem = knet.FILE_NAME.match(os.path.basename(s.member or s.path)).group("stem")
    by_key[stem].append(s)
  groups = [Group(k, tuple(sorted(v, key=lambda s: s.name))) for k, v in sorted(by_key.items())]
  return groups, problems


def split_for_magnitude(magnitude: float, min_magnitude: float, max_magnitude: float) -> str | None:
  """'ood_low', 'ood_high', or None for the in-range magnitudes."""
  if magnitude < min_magnitude:
    return "ood_low"
  if magnitude > max_magnitude:
    return "ood_high"
  return None


def assign_splits(event_magnitudes: dict[str, float], seed: int, fractions=(0.8, 0.1, 0.1),
                  min_magnitude: float = 4.5, max_magnitude: float = 7.5) -> dict[str, str]:
  """Split by event: each event id -> one of :data:`SPLITS`, deterministic for ``seed``.

  In-range events are shuffled (sorted first, so the input order does not matter)
  and cut by ``fractions`` (train, validation, test); with at least three in-range
  events each of the three gets one.
  """
  if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
    raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
  out, inrange = {}, []
  for eid in sorted(event_magnitudes):
    s = split_for_magnitude(event_magnitudes[eid], min_magnitude, max_magnitude)
    if s:
      out[eid] = s
    else:
      inrange.append(eid)
  order = np.random.default_rng(seed).permutation(len(inrange))
  n = len(inrange)
  n_val = int(round(fractions[1] * n))
  n_test = int(round(fractions[2] * n))
  if n >= 3:
    n_val, n_test = max(n_val, 1), max(n_test, 1)
  for rank, i in enumerate(order):
    out[inrange[i]] = "validation" if rank < n_val else "test" if rank < n_val + n_test else "train"
  return out


def process_group(records: Sequence[knet.Record], picker, cfg: processing.ProcessingConfig,
                  keep) -> tuple[list[tuple[knet.Record, processing.ProcessedWindow, object]], list[tuple[str, str]]]:
  """Pick once per station, then process each kept component.

  Args:
    records: the components of one station and record (all of them: the picker
      uses the vertical even when only horizontals are kept).
    picker: object with ``pick(records) -> Pick`` (see :mod:`data_prep.picking`).
    cfg: processing choices.
    keep: predicate on a Record saying whether it becomes an example.

  Returns:
    (list of (record, window, pick), list of (record path, reason)) where reason is a
    QC key ('nan', 'clipped', 'too_short', 'low_snr', 'low_pga', 'no_pre_event') or
    'no_pick: <the picker's message>'.

  A component with non-finite samples is left out of the pick (a NaN in the vertical does
  not cost the station its horizontals), and when the picker fails on all components it
  tries again on the kept ones alone (e.g. a vertical at another sampling rate).
  """
  kept = [r for r in records if keep(r)]
  if not kept:
    return [], []
  usable = [r for r in records if np.size(r.accel_ms2) and np.all(np.isfinite(r.accel_ms2))]
  usable_kept = [r for r in kept if any(r is u for u in usable)]
  attempts = [usable or records] + ([usable_kept] if usable_kept and len(usable_kept) < len(usable) else [])
  pick, first = None, None
  for components in attempts:
    try:
      pick = picker.pick(components)
      break
    except picking.PickError as e:
      first = first or e
  if pick is None:
    return [], [(r.path, f"no_pick: {first}") for r in kept]
  out, skipped = [], []
  for r in kept:
    offset = float(pick.time - r.start_time)
    try:
      out.append((r, processing.process_record(r.accel_ms2, r.sampling_rate_hz, offset, cfg), pick))
    except processing.QCError as e:
      skipped.append((r.path, e.reason))
  return out, skipped


def read_group(group: Group) -> tuple[list[knet.Record], list[tuple[str, str]]]:
  """Read a group's files; unreadable ones are returned as (name, 'unreadable: why')."""
  recs, bad = [], []
  for s in group.sources:
    try:
      recs.append(s.read())
    except (knet.KnetFormatError, OSError) as e:
      bad.append((s.name, f"unreadable: {e}"))
  return recs, bad


def reason_key(reason: str) -> str:
  """The count key of a skip reason ('unreadable: ...' -> 'unreadable')."""
  return reason.split(":", 1)[0]


def count_reasons(skipped: Iterable[tuple[str, str]]) -> dict[str, int]:
  """{reason key: count}."""
  return dict(collections.Counter(reason_key(r) for _, r in skipped))



def read_headers(groups: Sequence[Group]) -> tuple[dict[str, tuple[str, float]], list[tuple[str, str]]]:
  """Event id and magnitude of each group from its first readable header.

  Returns:
    ({group key: (event_id, magnitude)}, [(source name, 'unreadable: why')]) — a group
    none of whose files has a readable header is left out and reported.
  """
  out, bad = {}, []
  for g in groups:
    errors = []
    for s in g.sources:
      try:
        out[g.key] = knet.read_event_header(s.path if s.member is None else _member_bytes(s), s.name)
        break
      except knet.KnetFormatError as e:
        errors.append((s.name, f"unreadable: {e}"))
    else:
      bad += errors
  return out, bad


def event_magnitudes(headers: dict[str, tuple[str, float]]) -> tuple[dict[str, float], list[dict]]:
  """One magnitude per event from the stations' headers (``{group key: (event_id,
  magnitude)}``, as :func:`read_headers` returns): the most common value (ties: the
  median), so one mistyped header cannot move the whole event to another split. Returns
  ``({event_id: magnitude}, [{"event_id", "magnitude" (the one used), "headers" ({value:
  count})}])``, the second listing every event whose stations disagree."""
  values = collections.defaultdict(list)
  for event_id, magnitude in headers.values():
    values[event_id].append(float(magnitude))
  out, disagree = {}, []
  for event_id, mags in values.items():
    counts = collections.Counter(mags)
    top = max(counts.values())
    out[event_id] = float(np.median([m for m, c in counts.items() if c == top]))
    if len(counts) > 1:
      disagree.append({"event_id": event_id, "magnitude": out[event_id],
                       "headers": {f"{m:g}": c for m, c in sorted(counts.items())}})
  return out, disagree


def _member_bytes(source: Source) -> bytes:
  try:
    with tarfile.open(source.path, "r:*") as tar:
      return tar.extractfile(source.member).read()
  except (tarfile.TarError, OSError, EOFError) as e:
    raise knet.KnetFormatError(f"{source.name}: cannot read archive member ({e})") from e


def relative_source(path: str, roots: Sequence[str]) -> str:
  """``path`` (or ``archive:member``) relative to the input root holding it.

  Data sets then do not depend on where the raw files lay when they were built.
  """
  file, sep, member = path.partition(":")
  for root in roots:
    root = os.path.abspath(root)
    if os.path.isfile(root) and os.path.abspath(file) == root:
      return os.path.basename(file) + sep + member
    if os.path.abspath(file).startswith(root + os.sep):
      return os.path.relpath(os.path.abspath(file), root) + sep + member
  return path


def example_dict(rec: knet.Record, win: processing.ProcessedWindow, pick, psa_ms2: np.ndarray,
                 source_file: str | None = None) -> dict:
  """The dataset example of one processed component (see the builder's features).

  ``source_file`` defaults to ``rec.path``; builders pass it relative to the input root.
  """
  psa = np.asarray(psa_ms2, np.float32)
  return {
      "waveform": win.accel_ms2.astype(np.float32),
      "spectrum": psa,
      "log10_spectrum": np.log10(np.maximum(psa, np.finfo(np.float32).tiny)).astype(np.float32),
      "event_id": rec.event_id,
      "station": rec.station,
      "component": rec.component,
      "network": rec.network,
      "borehole": rec.borehole,
      "magnitude": rec.magnitude,
      "dist_km": rec.dist_km,
      "depth_km": rec.depth_km,
      "event_lat": rec.event_lat,
      "event_lon": rec.event_lon,
      "station_lat": rec.station_lat,
      "station_lon": rec.station_lon,
      "station_height_m": rec.station_height_m,
      "pga_ms2": win.pga_ms2,
      "snr": min(win.snr, 1e6),
      "pick_offset_s": win.pick_offset_s,
      "pick_time_utc": str(pick.time),
      "origin_time_utc": str(rec.origin_time),
      "sampling_rate_hz": win.sampling_rate_hz,
      "source_file": source_file or rec.path,
  }


class QcCollector:
  """Counts kept and skipped records per split, and the windows' D5-95; writes ``qc_summary.json`` and figures."""

  def __init__(self, problems: Sequence[tuple[str, str]] = (), inconsistent_events: Sequence[dict] = ()):
    self.inconsistent_events = list(inconsistent_events)
    self.kept: list[dict] = []
    self.skipped: list[tuple[str, str, str]] = [("", p, r) for p, r in problems]
    self.samples: list[tuple[np.ndarray, float, float, str]] = []

  def add(self, split: str, windows, skipped) -> None:
    for r, w, _ in windows:
      self.kept.append(dict(split=split, magnitude=r.magnitude, dist_km=r.dist_km, pga_ms2=w.pga_ms2,
                            station=r.station, component=r.component, event_id=r.event_id,
                            d5_95_s=float(intensity.d5_95(w.accel_ms2, 1.0 / w.sampling_rate_hz))))
      if len(self.samples) < 6 and r.component in ("EW", "NS"):
        self.samples.append((w.accel_ms2, w.sampling_rate_hz, w.pick_offset_s,
                             f"{r.station} {r.component} M{r.magnitude:.1f} {r.dist_km:.0f} km"))
    self.skipped += [(split, p, reason) for p, reason in skipped]

  def summary(self) -> dict:
    kept = collections.Counter(k["split"] for k in self.kept)
    events = collections.defaultdict(set)
    for k in self.kept:
      events[k["split"]].add(k["event_id"])
    d95 = collections.defaultdict(list)
    for k in self.kept:
      d95[k["split"]].append(k["d5_95_s"])
    return {
        "kept": dict(kept),
        "events": {s: len(v) for s, v in events.items()},
        # Significant duration (5-95% of the Arias intensity) of the kept windows, s.
        "window_d5_95_s": {s: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10)),
                               "p90": float(np.percentile(v, 90))} for s, v in d95.items()},
        "skipped_by_reason": count_reasons((p, r) for _, p, r in self.skipped),
        "skipped": [{"split": s, "file": p, "reason": r} for s, p, r in self.skipped],
        # Events whose stations' headers disagree on the magnitude (the most common is used).
        "inconsistent_events": self.inconsistent_events,
    }

  def summary_line(self, split: str) -> str:
    s = self.summary()
    return f"kept {s['kept'].get(split, 0)}; skipped so far by reason {s['skipped_by_reason']}"

  def write(self, out_dir, config=None) -> str:
    """Write ``qc_summary.json`` and ``qc_figures.png`` into ``out_dir``; returns the JSON path."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "qc_summary.json")
    summary = self.summary()
    if config is not None:
      summary["processing"] = dataclasses.asdict(config.processing)
    with open(path, "w") as f:
      json.dump(summary, f, indent=1)
    if self.kept:
      qc_plots.plot_qc(self.kept, self.samples, os.path.join(out_dir, "qc_figures.png"))
    return path
