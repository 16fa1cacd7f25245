"""K-NET/KiK-net reader against the headers of real records; the writer by round trips."""

import datetime
import math
import pathlib

import numpy as np
import obspy
import pytest

from data_prep import knet


def test_knet_header_fields(knet_record):
  r = knet_record
  assert r.station == "AOM008" and r.component == "NS" and r.network == "K-NET" and not r.borehole
  assert r.magnitude == pytest.approx(6.2)
  assert r.sampling_rate_hz == 100.0 and r.dt == pytest.approx(0.01)
  assert (r.event_lat, r.event_lon, r.depth_km) == (41.0, 142.5, 30.0)
  # JST 2018/01/24 19:51:00 is 10:51:00 UTC.
  assert str(r.origin_time).startswith("2018-01-24T10:51:00")
  assert 50 < r.dist_km < 200


def test_pga_equals_header_max_acc_for_every_record(data_dir):
  files = sorted(p for p in data_dir.rglob("*") if p.suffix[1:3] in ("EW", "NS", "UD"))
  assert len(files) == 45
  for p in files:
    r = knet.read_knet_file(p)
    # Header Max. Acc. is given to 3 decimals in gal.
    assert r.pga_ms2 == pytest.approx(r.header_pga_ms2, rel=1e-3, abs=6e-6), p.name


def test_kiknet_sensors(data_dir):
  bore = knet.read_knet_file(data_dir / "kiknet/usp000hzq8/NGNH311106302345.UD1")
  surf = knet.read_knet_file(data_dir / "kiknet/usp000hzq8/NGNH311106302345.UD2")
  assert bore.network == surf.network == "KiK-net"
  assert bore.borehole and not surf.borehole and bore.component == "UD"


def test_hypocentral_distance():
  # 1 degree of latitude ~ 111.19 km on a 6371 km sphere, 30 km deep.
  d = knet.hypocentral_distance_km(40.0, 140.0, 30.0, 41.0, 140.0, 0.0)
  assert d == pytest.approx(np.hypot(6371 * np.pi / 180, 30.0), rel=1e-9)


def test_bad_files_name_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope.EW: no such file"):
    knet.read_knet_file(tmp_path / "nope.EW")
  bad = tmp_path / "BAD.EW"
  bad.write_text("not a knet file\n")
  with pytest.raises(knet.KnetFormatError, match="BAD.EW: not a readable K-NET"):
    knet.read_knet_file(bad)


def _variant(tmp_path, name, edit):
  src = (pathlib.Path(__file__).parent / "data/knet/usb000syza/CHB0021412312349.EW")
  lines = src.read_text().splitlines(True)
  p = tmp_path / name
  p.write_text("".join(edit(lines)))
  return p


@pytest.mark.parametrize("name, edit, match", [
    ("trunc.EW", lambda l: l[:200], r"truncated: 1464 samples, the header's duration 68 s"),
    ("nonnum.EW", lambda l: l[:30] + [l[30].replace(l[30].split()[2], "abc")] + l[31:], "non-numeric sample value"),
    ("zeroscale.EW", lambda l: l[:13] + ["Scale Factor      0(gal)/6182761\n"] + l[14:], "scale factor is zero"),
    ("zerodiv.EW", lambda l: l[:13] + ["Scale Factor      3920(gal)/0\n"] + l[14:], "zero denominator"),
    ("wronghdr.EW", lambda l: l[:4] + ["Magnitude         4.2\n"] + l[5:], "Expected line to start with Mag."),
    ("missinghdr.EW", lambda l: l[:4] + l[5:], "Expected line to start with Mag."),
    ("empty.EW", lambda l: [], "header lines missing"),
])
def test_malformed_files_name_the_file_and_problem(tmp_path, name, edit, match):
  p = _variant(tmp_path, name, edit)
  with pytest.raises(knet.KnetFormatError, match=match) as e:
    knet.read_knet_file(p)
  assert str(p) in str(e.value)


# ---------------------------------------------------------------------------
# The writer.


def test_writer_round_trip_and_quantisation(tmp_path):
  rng = np.random.default_rng(0)
  accel = 0.3 * rng.standard_normal(6003) + 0.05  # Not a multiple of 8 samples; a DC offset.
  origin = datetime.datetime(2019, 6, 18, 13, 22, 20)
  start = datetime.datetime(2019, 6, 18, 13, 22, 31)
  path = tmp_path / "NIG0191906182222.NS"
  knet.write_knet_file(path, accel, 100, origin, 38.607, 139.478, 14, 6.7, "NIG019", 38.5481, 139.5443, 22,
                       "NS", start)
  r = knet.read_knet_file(path)
  assert (r.station, r.component, r.network, r.sampling_rate_hz) == ("NIG019", "NS", "K-NET", 100.0)
  assert (r.event_lat, r.event_lon, r.depth_km, r.magnitude) == (38.607, 139.478, 14.0, 6.7)
  assert (r.station_lat, r.station_lon, r.station_height_m) == (38.5481, 139.5443, 22.0)
  assert r.origin_time == obspy.UTCDateTime(origin) and r.start_time == obspy.UTCDateTime(start)
  # Acceleration within half a count of what was written (3920 gal / 6182761 counts).
  step = 0.01 * 3920 / 6182761
  assert r.accel_ms2.size == accel.size
  assert np.max(np.abs(r.accel_ms2 - accel)) <= 0.5 * step * (1 + 1e-9)
  assert r.pga_ms2 == pytest.approx(r.header_pga_ms2, rel=1e-3)
  text = path.read_text().splitlines()
  # JST, and Record Time = first sample + the logger's 15 s delay.
  assert text[0] == "Origin Time       2019/06/18 22:22:20"
  assert text[9] == "Record Time       2019/06/18 22:22:46"
  assert text[13] == "Scale Factor      3920(gal)/6182761"
  assert len(text) == 17 + math.ceil(6003 / 8)


def test_writer_widens_scale_for_strong_motion(tmp_path):
  accel = np.zeros(800)
  accel[400] = 50.0  # 5 g: beyond the 3920 gal range.
  path = tmp_path / "TST0011001010000.UD"
  knet.write_knet_file(path, accel, 100, "2010-01-01T00:00:00Z", 35.0, 140.0, 10, 7.0, "TST001", 35.1, 140.1, 0,
                       "UD", "2010-01-01T00:00:05Z")
  assert "Scale Factor      7845(gal)/8223790" in path.read_text()
  r = knet.read_knet_file(path)
  assert r.accel_ms2[400] == pytest.approx(50.0, abs=0.01 * 7845 / 8223790)


def test_file_name_is_station_and_jst_minute():
  # The real record AOM0011801241951.EW: origin 2018-01-24 10:51:00 UTC = 19:51 JST.
  assert knet.knet_file_name("AOM001", "2018-01-24T10:51:00Z", "EW") == "AOM0011801241951.EW"
  assert knet.knet_file_name("NIG019", datetime.datetime(2019, 6, 18, 23, 59, 59), "UD") == "NIG0191906190859.UD"
  with pytest.raises(ValueError, match="component"):
    knet.knet_file_name("AOM001", "2018-01-24T10:51:00Z", "EW2")


def test_writer_rejects_bad_arguments(tmp_path):
  good = dict(path=tmp_path / "X.EW", accel_ms2=np.zeros(10), sampling_rate_hz=100,
              origin_time_utc=datetime.datetime(2020, 1, 1), event_lat=35.0, event_lon=140.0, depth_km=10,
              magnitude=5.0, station="TST001", station_lat=35.1, station_lon=140.1, station_height_m=0,
              component="EW", record_start_utc=datetime.datetime(2020, 1, 1, 0, 0, 5))
  for key, bad, word in (("component", "XX", "component"), ("station", "TOO LONG", "station"),
                         ("record_start_utc", datetime.datetime(2020, 1, 1, 0, 0, 5, 500000), "record_start_utc"),
                         ("accel_ms2", np.array([np.nan]), "accel_ms2"), ("event_lat", 95.0, "event_lat")):
    with pytest.raises(ValueError, match=word):
      knet.write_knet_file(**{**good, key: bad})


@pytest.mark.parametrize("line, value, field", [
    (10, "Sampling Freq(Hz) 0Hz", "Sampling Freq"),
    (4, "Mag.              12.0", "Mag. 12"),
    (4, "Mag.              nan", "Mag. nan"),
    (1, "Lat.              141.0", "Lat. 141"),
    (3, "Depth. (km)       9999", "Depth"),
])
def test_implausible_header_values_are_refused_naming_file_and_field(data_dir, tmp_path, line, value, field):
  # A typo in a header must not become a record (a 0 Hz rate divided by zero; Mag. 12 moved a
  # whole event's stations to another split): the reader and the fast header reader refuse it.
  src = data_dir / "knet/us2000cnnl/AOM0011801241951.EW"
  lines = src.read_text().splitlines(keepends=True)
  lines[line] = value + "\n"
  bad = tmp_path / src.name
  bad.write_text("".join(lines))
  with pytest.raises(knet.KnetFormatError, match=rf"{bad.name}.*{field}") as e:
    knet.read_knet_file(bad)
  assert isinstance(e.value, ValueError)
  if line <= 4:  # The event lines: the header reader used to decide splits refuses them too.
    with pytest.raises(knet.KnetFormatError, match=field):
      knet.read_event_header(str(bad), str(bad))
