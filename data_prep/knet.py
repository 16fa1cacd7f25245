"""Reading and writing NIED K-NET and KiK-net ASCII records.

The format is parsed by ObsPy's ``KNET`` reader (header, scale factor, JST to UTC,
the 15 s recording delay); this module turns one trace into a ``Record`` with
explicit units and the metadata the rest of the project needs. ObsPy has no K-NET
writer, so :func:`write_knet_file` writes the format itself (the simulator's
records go through exactly the same reader as real ones).

K-NET files end in ``.EW``, ``.NS``, ``.UD``; KiK-net files in ``.EW1/.NS1/.UD1``
(borehole sensor) and ``.EW2/.NS2/.UD2`` (surface sensor).
"""

from __future__ import annotations

import dataclasses
import datetime as dt_lib
import math
import os
import re
import warnings

import numpy as np

__all__ = ["FILE_NAME", "is_record_file", "Record", "read_knet_file", "read_knet_bytes", "read_event_header",
           "hypocentral_distance_km", "KnetFormatError", "check_header_values", "MAGNITUDE_RANGE", "DEPTH_RANGE_KM",
           "write_knet_file", "knet_file_name", "COMPONENTS"]

# Components of a record, as in the file suffixes (.EW/.NS/.UD) and Record.component.
COMPONENTS = ("EW", "NS", "UD")
_EARTH_RADIUS_KM = 6371.0
# A component file's name: STEM.EW/.NS/.UD (K-NET), .EW1/.NS1/.UD1 or .EW2/.NS2/.UD2 (KiK-net).
FILE_NAME = re.compile(r"^(?P<stem>.+)\.(?P<comp>EW|NS|UD)(?P<sensor>[12]?)$", re.IGNORECASE)


def is_record_file(path: str | os.PathLike) -> bool:
  """Whether ``path``'s name is a K-NET/KiK-net component file's (by its suffix only)."""
  return FILE_NAME.match(os.path.basename(os.fspath(path))) is not None


class KnetFormatError(ValueError):
  """A K-NET/KiK-net file that cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Record:
  """One component of one strong-motion record.

  Attributes:
    accel_ms2: ``[time]`` float64 acceleration in m/s^2 (as recorded: the mean is
      not removed).
    sampling_rate_hz: samples per second.
    start_time: UTC start of the first sample (``obspy.UTCDateTime``).
    origin_time: UTC event origin time from the header.
    event_lat, event_lon, depth_km, magnitude: hypocentre and JMA magnitude.
    station, station_lat, station_lon, station_height_m: the recording station.
    component: ``'EW'``, ``'NS'`` or ``'UD'``.
    network: ``'K-NET'`` or ``'KiK-net'``.
    borehole: True for a KiK-net borehole sensor.
    dist_km: hypocentral distance in km.
    header_pga_ms2: the header's ``Max. Acc.`` converted to m/s^2.
    event_id: identifier of the event (origin time and hypocentre).
    path: the file it came from.
  """
  accel_ms2: np.ndarray
  sampling_rate_hz: float
  start_time: object
  origin_time: object
  event_lat: float
  event_lon: float
  depth_km: float
  magnitude: float
  station: str
  station_lat: float
  station_lon: float
  station_height_m: float
  component: str
  network: str
  borehole: bool
  dist_km: float
  header_pga_ms2: float
  event_id: str
  path: str

  @property
  def dt(self) -> float:
    """Sampling interval in seconds."""
    return 1.0 / self.sampling_rate_hz

  @property
  def pga_ms2(self) -> float:
    """Peak |acceleration| in m/s^2 after removing the record's mean."""
    a = self.accel_ms2
    return float(np.max(np.abs(a - a.mean())))


def hypocentral_distance_km(event_lat, event_lon, depth_km, station_lat, station_lon, station_height_m=0.0):
  """Hypocentral distance in km (great-circle epicentral distance on a sphere,
  combined with the depth below the station)."""
  p1, p2 = math.radians(event_lat), math.radians(station_lat)
  dphi = p2 - p1
  dlmb = math.radians(station_lon - event_lon)
  h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
  epi = 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
  vert = depth_km + station_height_m / 1000.0
  return math.hypot(epi, vert)


def _event_id(origin_time, lat, lon, depth_km) -> str:
  return f"{origin_time.strftime('%Y%m%d%H%M%S')}_{lat:.3f}_{lon:.3f}_{depth_km:.0f}"


def read_knet_file(path: str | os.PathLike) -> Record:
  """Read one K-NET or KiK-net ASCII file.

  Args:
    path: a file ending in ``.EW/.NS/.UD`` (K-NET) or ``.EW1/.NS2/...`` (KiK-net).

  Returns:
    A :class:`Record` with acceleration in m/s^2.

  Raises:
    FileNotFoundError: the file does not exist.
    KnetFormatError: the file is not a readable K-NET/KiK-net file (the message
      names the file and what ObsPy or the checks found).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file")
  return _parse(path, path)


def read_knet_bytes(data: bytes, name: str) -> Record:
  """Read one K-NET/KiK-net file's content (e.g. a member of a NIED ``.tar.gz``).

  Args:
    data: the file's bytes.
    name: where it came from, used in errors and as ``Record.path``; its extension
      (``.EW``, ``.NS2``, ...) gives the component and sensor.

  Raises:
    KnetFormatError: the content is not a readable K-NET/KiK-net file.
  """
  import io
  return _parse(io.BytesIO(data), name)


# Plausible header values: anything outside is a typo or a corrupt file, refused with the value.
MAGNITUDE_RANGE = (-3.0, 10.0)
DEPTH_RANGE_KM = (-10.0, 800.0)


def check_header_values(path: str, *, magnitude=None, lat=None, lon=None, depth_km=None, station_lat=None,
                        station_lon=None, sampling_rate_hz=None) -> None:
  """Refuse implausible header values: a magnitude outside :data:`MAGNITUDE_RANGE`, a depth
  outside :data:`DEPTH_RANGE_KM` (km), latitudes outside [-90, 90], longitudes outside
  [-180, 360] (degrees), a sampling rate that is not a positive number of Hz; NaN anywhere.
  Values left None are not checked.

  Raises:
    KnetFormatError: naming the file, the header field and its value.
  """
  checks = (("Mag.", magnitude, *MAGNITUDE_RANGE), ("Lat.", lat, -90.0, 90.0), ("Long.", lon, -180.0, 360.0),
            ("Depth. (km)", depth_km, *DEPTH_RANGE_KM), ("Station Lat.", station_lat, -90.0, 90.0),
            ("Station Long.", station_lon, -180.0, 360.0))
  for field, value, lo, hi in checks:
    if value is not None and not (math.isfinite(float(value)) and lo <= float(value) <= hi):
      raise KnetFormatError(f"{path}: header {field} {value} is outside [{lo:g}, {hi:g}]")
  if sampling_rate_hz is not None and not (math.isfinite(float(sampling_rate_hz)) and float(sampling_rate_hz) > 0):
    raise KnetFormatError(f"{path}: header Sampling Freq(Hz) {sampling_rate_hz} is not a positive number of Hz")


def _parse(source, path: str) -> Record:
  import obspy  # Imported here: ObsPy is slow to import and only readers need it.

  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", UserWarning)  # "Calibration factor set to 0": checked below.
      stream = obspy.read(source, format="KNET")
  except ZeroDivisionError as e:
    raise KnetFormatError(f"{path}: scale factor has a zero denominator") from e
  except ValueError as e:
    if "could not convert" in str(e):
      raise KnetFormatError(f"{path}: non-numeric sample value ({e})") from e
    raise KnetFormatError(f"{path}: not a readable K-NET/KiK-net file ({type(e).__name__}: {e})") from e
  except Exception as e:  # ObsPy raises many types for malformed files.
    raise KnetFormatError(f"{path}: not a readable K-NET/KiK-net file ({type(e).__name__}: {e})") from e
  if len(stream) != 1:
    raise KnetFormatError(f"{path}: expected one trace, found {len(stream)}")
  tr = stream[0]
  hdr = tr.stats.get("knet")
  needed = ("evot", "evla", "evlo", "evdp", "mag", "stla", "stlo", "stel", "accmax")
  if hdr is None or any(k not in hdr for k in needed):
    raise KnetFormatError(f"{path}: not a readable K-NET/KiK-net file (header lines missing or malformed)")
  check_header_values(path, magnitude=hdr.mag, lat=hdr.evla, lon=hdr.evlo, depth_km=hdr.evdp, station_lat=hdr.stla,
                      station_lon=hdr.stlo, sampling_rate_hz=tr.stats.sampling_rate)
  if not np.isfinite(tr.stats.calib) or tr.stats.calib == 0:
    raise KnetFormatError(f"{path}: scale factor is zero or not finite")
  accel = np.asarray(tr.data, dtype=np.float64) * tr.stats.calib
  if accel.size == 0:
    raise KnetFormatError(f"{path}: no samples")
  expected = float(hdr.get("duration", 0.0)) * float(tr.stats.sampling_rate)
  # The header's duration times the rate is the sample count in NIED files; more
  # than a second missing means the file was cut short.
  if accel.size < expected - tr.stats.sampling_rate:
    raise KnetFormatError(f"{path}: truncated: {accel.size} samples, the header's duration "
                          f"{hdr.duration:g} s at {tr.stats.sampling_rate:g} Hz means {expected:.0f}")
  m = FILE_NAME.match(os.path.basename(path))
  channel = str(tr.stats.channel).upper()
  component = (m.group("comp").upper() if m else channel[:2])
  if component not in COMPONENTS:
    raise KnetFormatError(f"{path}: unknown component {channel!r}")
  sensor = m.group("sensor") if m else channel[2:]
  network = "KiK-net" if sensor in ("1", "2") else "K-NET"
  dist = hypocentral_distance_km(hdr.evla, hdr.evlo, hdr.evdp, hdr.stla, hdr.stlo, hdr.stel)
  return Record(
      accel_ms2=accel,
      sampling_rate_hz=float(tr.stats.sampling_rate),
      start_time=tr.stats.starttime,
      origin_time=hdr.evot,
      event_lat=float(hdr.evla),
      event_lon=float(hdr.evlo),
      depth_km=float(hdr.evdp),
      magnitude=float(hdr.mag),
      station=str(tr.stats.station),
      station_lat=float(hdr.stla),
      station_lon=float(hdr.stlo),
      station_height_m=float(hdr.stel),
      component=component,
      network=network,
      borehole=(sensor == "1"),
      dist_km=dist,
      header_pga_ms2=float(hdr.accmax) / 100.0,
      event_id=_event_id(hdr.evot, hdr.evla, hdr.evlo, hdr.evdp),
      path=path,
  )


_HEADER_KEYS = ("Origin Time", "Lat.", "Long.", "Depth. (km)", "Mag.")


def read_event_header(source: str | bytes, name: str) -> tuple[str, float]:
  """Event id and magnitude from the first header lines only (fast, no samples read).

  Args:
    source: a path, or the file's bytes.
    name: where it came from, for errors.

  Returns:
    (event_id as in :attr:`Record.event_id`, magnitude).

  Raises:
    KnetFormatError: the header lines are missing or malformed.
  """
  from obspy import UTCDateTime

  try:
    if isinstance(source, bytes):
      lines = source.decode("ascii", "replace").splitlines()[:5]
    else:
      with open(source, "r", encoding="ascii", errors="replace") as f:
        lines = [f.readline() for _ in range(5)]
    values = []
    for key, line in zip(_HEADER_KEYS, lines):
      if not line.startswith(key):
        raise ValueError(f"line {len(values) + 1} should start with {key!r}, found {line[:20]!r}")
      values.append(line[18:].strip())
    if len(values) < 5:
      raise ValueError("fewer than 5 header lines")
    # K-NET times are JST (UTC+9), as ObsPy converts them.
    origin = UTCDateTime(values[0].replace("/", "-").replace(" ", "T")) - 9 * 3600
    lat, lon, depth, mag = (float(v) for v in values[1:])
  except (OSError, ValueError) as e:
    raise KnetFormatError(f"{name}: bad K-NET header ({e})") from e
  check_header_values(name, magnitude=mag, lat=lat, lon=lon, depth_km=depth)
  return _event_id(origin, lat, lon, depth), mag


# ---------------------------------------------------------------------------
# The K-NET writer.

# K-NET scale factors as found in real headers: (full scale in gal, counts).
_SCALES = ((3920, 6182761), (7845, 8223790))
_JST = dt_lib.timedelta(hours=9)
_KNET_DELAY = dt_lib.timedelta(seconds=15)  # Added to Record Time by the logger.
_DIRS = dict(zip(COMPONENTS, ("E-W", "N-S", "U-D")))  # Header "Dir." of each component.


def _utc(value, name) -> dt_lib.datetime:
  """datetime (naive UTC), aware datetime, obspy.UTCDateTime or ISO string -> naive UTC datetime."""
  if hasattr(value, "datetime") and not isinstance(value, dt_lib.datetime):  # obspy.UTCDateTime
    value = value.datetime
  elif isinstance(value, str):
    value = dt_lib.datetime.fromisoformat(value.replace("Z", "+00:00"))
  if not isinstance(value, dt_lib.datetime):
    raise ValueError(f"{name} must be a UTC datetime, obspy.UTCDateTime or ISO string, got {value!r}")
  if value.tzinfo is not None:
    value = value.astimezone(dt_lib.timezone.utc).replace(tzinfo=None)
  return value


def _jst(t: dt_lib.datetime) -> str:
  return (t + _JST).strftime("%Y/%m/%d %H:%M:%S")


def knet_file_name(station, origin_time_utc, component) -> str:
  """K-NET file name of one component: station code, origin time in JST to the minute, suffix.

  E.g. ``knet_file_name("AOM001", "2018-01-24T10:51:00Z", "EW") == "AOM0011801241951.EW"``.

  Raises:
    ValueError: ``component`` is not one of :data:`COMPONENTS`, or the time cannot be read.
  """
  if component not in COMPONENTS:
    raise ValueError(f"component must be one of {list(COMPONENTS)}, got {component!r}")
  return f"{station}{(_utc(origin_time_utc, 'origin_time_utc') + _JST):%y%m%d%H%M}.{component}"


def _choose_scale(peak_gal):
  """The smallest real K-NET scale factor that holds ``peak_gal`` with margin."""
  for num, den in _SCALES:
    if peak_gal <= 0.95 * num:
      return num, den
  num, den = _SCALES[-1]
  return int(math.ceil(peak_gal / 0.95)), den  # Stronger than any K-NET sensor: widen the range.


def _data_lines(counts: np.ndarray) -> str:
  """Counts 8 to a line, each right-aligned in 8 columns and followed by a space."""
  values = counts.tolist()
  full = len(values) // 8 * 8
  body = (("%8d " * 8 + "\n") * (full // 8)) % tuple(values[:full])
  rest = values[full:]
  if rest:
    body += ("%8d " * len(rest) + "\n") % tuple(rest)
  return body


def write_knet_file(path, accel_ms2, sampling_rate_hz, origin_time_utc, event_lat, event_lon, depth_km, magnitude,
                    station, station_lat, station_lon, station_height_m, component, record_start_utc, *,
                    scale=None) -> None:
  """Write one component as a K-NET ASCII file (17 header lines, counts 8 a line).

  Times go into the header in JST; ``Record Time`` is the first sample plus the
  logger's 15 s delay (which ObsPy subtracts when reading). The acceleration is
  quantised to integer counts of ``scale`` (gal per count); header ``Max. Acc.``
  is max |a - mean| of the quantised record in gal.

  Args:
    path: output file, normally ``<station><yymmddhhmm JST>.<component>``.
    accel_ms2: ``[time]`` acceleration in m/s^2 (any DC offset is kept).
    sampling_rate_hz: integer samples per second.
    origin_time_utc: event origin (datetime in UTC, ``obspy.UTCDateTime`` or ISO
      string); written to the second, as K-NET does.
    event_lat, event_lon: epicentre in degrees (written with 3 decimals).
    depth_km: depth in km (written as an integer).
    magnitude: written with 1 decimal.
    station: station code (1-7 characters, no spaces; K-NET uses 6).
    station_lat, station_lon: degrees (4 decimals); station_height_m: m (integer).
    component: ``'EW'``, ``'NS'`` or ``'UD'``.
    record_start_utc: UTC time of the first sample, on a whole second (the
      header cannot hold fractions).
    scale: ``(full_scale_gal, full_scale_counts)``, e.g. ``(3920, 6182761)``;
      default: the smallest real K-NET factor that holds the record.

  Raises:
    ValueError: an argument cannot be written (the message names it).
  """
  a = np.asarray(accel_ms2, np.float64)
  if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
    raise ValueError(f"accel_ms2 must be a non-empty finite [time] array, got shape {a.shape}")
  fs = float(sampling_rate_hz)
  if not (np.isfinite(fs) and fs >= 1.0 and fs == round(fs)):
    raise ValueError(f"sampling_rate_hz must be an integer number of Hz >= 1, got {sampling_rate_hz!r}")
  fs = int(fs)
  _check_header_values(component, station, event_lat, event_lon, depth_km, magnitude, station_lat, station_lon,
                       station_height_m)
  origin = _utc(origin_time_utc, "origin_time_utc").replace(microsecond=0)
  start = _utc(record_start_utc, "record_start_utc")
  if start.microsecond:
    raise ValueError(f"record_start_utc must fall on a whole second (the header holds seconds), got {start}")
  counts, (num, den) = _quantise(100.0 * a, scale)
  read_gal = counts * (num / den)  # What a reader gets back.
  max_acc = float(np.max(np.abs(read_gal - read_gal.mean())))
  rec_time = _jst(start + _KNET_DELAY)
  header = [
      ("Origin Time", _jst(origin)),
      ("Lat.", f"{float(event_lat):.3f}"),
      ("Long.", f"{float(event_lon):.3f}"),
      ("Depth. (km)", f"{int(round(float(depth_km)))}"),
      ("Mag.", f"{float(magnitude):.1f}"),
      ("Station Code", str(station)),
      ("Station Lat.", f"{float(station_lat):.4f}"),
      ("Station Long.", f"{float(station_lon):.4f}"),
      ("Station Height(m)", f"{int(round(float(station_height_m)))}"),
      ("Record Time", rec_time),
      ("Sampling Freq(Hz)", f"{fs}Hz"),
      ("Duration Time(s)", f"{int(round(a.size / fs))}"),
      ("Dir.", _DIRS[component]),
      ("Scale Factor", f"{num}(gal)/{den}"),
      ("Max. Acc. (gal)", f"{max_acc:.3f}"),
      ("Last Correction", rec_time),  # As in real K-NET files: the record time.
      ("Memo.", ""),
  ]
  text = "".join(f"{k:<18}{v}\n" for k, v in header) + _data_lines(counts)
  with open(path, "w", encoding="ascii", newline="\n") as fh:
    fh.write(text)


def _check_header_values(component, station, event_lat, event_lon, depth_km, magnitude, station_lat, station_lon,
                         station_height_m):
  if component not in _DIRS:
    raise ValueError(f"component must be one of {list(_DIRS)}, got {component!r}")
  station = str(station)
  if not (1 <= len(station) <= 7) or any(ch.isspace() for ch in station):  # ObsPy refuses longer codes.
    raise ValueError(f"station must be 1-7 characters without spaces, got {station!r}")
  for name, v, lim in (("event_lat", event_lat, 90), ("station_lat", station_lat, 90),
                       ("event_lon", event_lon, 180), ("station_lon", station_lon, 180)):
    if not (np.isfinite(float(v)) and abs(float(v)) <= lim):
      raise ValueError(f"{name} must be within +-{lim} degrees, got {v!r}")
  if not (np.isfinite(float(depth_km)) and float(depth_km) >= 0):
    raise ValueError(f"depth_km must be >= 0, got {depth_km!r}")
  for name, v in (("magnitude", magnitude), ("station_height_m", station_height_m)):
    if not np.isfinite(float(v)):
      raise ValueError(f"{name} must be a finite number, got {v!r}")


def _quantise(a_gal, scale):
  """(integer counts [time], (full-scale gal, counts)) for acceleration in gal."""
  if scale is None:
    scale = _choose_scale(float(np.max(np.abs(a_gal))))
  try:
    num, den = (int(v) for v in scale)
  except (TypeError, ValueError):
    raise ValueError(f"scale must be (full_scale_gal, full_scale_counts), got {scale!r}") from None
  if num <= 0 or den <= 0:
    raise ValueError(f"scale must be two positive integers (gal, counts), got {scale!r}")
  return np.rint(a_gal / (num / den)).astype(np.int64), (num, den)
