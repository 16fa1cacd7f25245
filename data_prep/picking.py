"""P-wave picking's interface: Pick, PickError, Picker and the helpers every picker shares.

The CVAE-GAN trains on windows that start a fixed time before the P onset, so a
pick must be accurate (tens of milliseconds on clean onsets) and must never fall
after the strong shaking. Three pickers share :class:`Picker`'s interface
``pick(records) -> Pick``, where ``records`` are the components of ONE
station-event (for example the ``.EW/.NS/.UD`` files of a K-NET record):

* :class:`AicPicker` (default, ``'aic'``): STA/LTA trigger (ObsPy) refined by the
  Akaike Information Criterion (Maeda, 1985).
* :class:`PicksFilePicker` (``'picks_file'``): P picks read from a CSV file in
  PhaseNet's output format (picks made elsewhere, e.g. on a GPU machine).
* :class:`PhaseNetPicker` (``'phasenet'``): PhaseNet through SeisBench, when
  SeisBench is installed and its weights are on disk (never downloaded here).

:func:`make_picker` builds one from a config name. Every picker raises
:class:`PickError` (a ``ValueError``) naming the file or station when nothing can
be picked.

References:
  Maeda, N. (1985). A method for reading and checking phase times in
  autoprocessing system of seismic wave data. Zisin 38, 365-379.
  Allen, R. (1978). Automatic earthquake recognition and timing from single
  traces. BSSA 68, 1521-1532.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from typing import Sequence

import numpy as np

__all__ = ["Pick", "PickError", "Picker", "HEAD_S", "MIN_SEGMENT_S", "describe", "check_group", "pick_components",
           "time_limit_index"]

# The first second is taken as pre-event noise for the demean and for warming up
# the STA/LTA (K-NET keeps 15 s before its trigger, so this is normally noise).
HEAD_S = 1.0
# AIC segments shorter than this are not trusted: the variance of a few samples
# is near zero and its log drives spurious minima at the window edges.
MIN_SEGMENT_S = 0.05


class PickError(ValueError):
  """Nothing could be picked; the message names the file or station and why."""


@dataclasses.dataclass(frozen=True)
class Pick:
  """A P-wave onset on one station-event.

  Attributes:
    station: station code of the records (e.g. ``'AOM008'``).
    time: absolute UTC time of the onset (``obspy.UTCDateTime``).
    offset_s: seconds from the first sample of the picked records to the onset.
    score: confidence in ``[0, 1]``; its meaning depends on ``method`` (see each
      picker's docstring).
    method: how the pick was made, e.g. ``'aic'``, ``'aic_fallback'``,
      ``'picks_file'``, ``'phasenet'``.
  """
  station: str
  time: object
  offset_s: float
  score: float
  method: str


class Picker(abc.ABC):
  """Interface of the P pickers.

  Components: P is strongest on the vertical, so a picker that looks at the
  waveforms uses the ``UD`` component when there is one and otherwise both
  horizontals together. When a KiK-net station-event holds both sensors, the
  surface one is used (the training windows are cut from it). Whatever the
  components used, a pick never lies after the earliest PGA of the records.
  """

  @abc.abstractmethod
  def pick(self, records: Sequence) -> Pick:
    """Pick the P onset of one station-event.

    Args:
      records: the components (``knet.Record``) of ONE station and event, each
        with ``accel_ms2`` ``[time]`` in m/s^2, the same start time and rate.

    Returns:
      A :class:`Pick` whose ``offset_s`` counts from the records' first sample.

    Raises:
      PickError: nothing can be picked (the message names the file/station).
    """


# ---------------------------------------------------------------------------
# Shared helpers (each picker's module uses them).


def describe(records) -> str:
  """'STA (file1, file2)' for error messages."""
  names = ", ".join(os.path.basename(str(getattr(r, "path", "") or "?")) for r in records)
  station = getattr(records[0], "station", "?") if records else "?"
  return f"station {station} ({names})"


def check_group(records) -> list:
  """Check that ``records`` are non-empty components of one station."""
  records = list(records)
  if not records:
    raise PickError("no records to pick")
  stations = sorted({r.station for r in records})
  if len(stations) != 1:
    raise PickError(f"records of several stations given ({', '.join(stations)}); pick one station-event at a time")
  rates = {float(r.sampling_rate_hz) for r in records}
  if len(rates) != 1:
    raise PickError(f"{describe(records)}: components have different sampling rates {sorted(rates)}")
  return records


def pick_components(records) -> list:
  """The components to pick on: the vertical when present, else the horizontals.

  P is strongest on the vertical, so UD alone is used when there is one. A
  KiK-net station-event may hold both sensors: the surface one is preferred (the
  training windows are cut from it; the borehole P arrives ~0.05-0.1 s earlier).
  """
  surface = [r for r in records if not getattr(r, "borehole", False)]
  pool = surface or records
  vertical = [r for r in pool if r.component == "UD"]
  return vertical[:1] or [r for r in pool if r.component in ("EW", "NS")] or pool


def time_limit_index(records, start, fs: float) -> int:
  """Sample index (relative to ``start``) of the earliest PGA over ``records``.

  The pick must precede the strong shaking on every component, so the bound is
  the earliest peak |a - mean| of all components given, not only those picked.
  """
  limit = None
  for r in records:
    a = np.asarray(r.accel_ms2, dtype=np.float64)
    if not np.all(np.isfinite(a)) or a.size == 0:
      continue  # Reported by the caller for the picked components.
    i = int(np.argmax(np.abs(a - a.mean())))
    i += int(round((r.start_time - start) * fs))
    limit = i if limit is None else min(limit, i)
  return limit
