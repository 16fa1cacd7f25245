"""P pickers: accuracy on synthetic onsets, plausibility on real K-NET/KiK-net records,
PhaseNet-format picks files, and the error paths."""

import collections
import sys

import numpy as np
import obspy
import pytest
from scipy import signal

from data_prep import knet
from data_prep import aic_picker, external_pickers, pickers, picking

FS = 100.0
START = obspy.UTCDateTime(2020, 1, 1, 0, 0, 0)

# ComCat origin of us2000cnnl (M6.3 off Aomori), as kept in gmprocess's
# testdata/knet/us2000cnnl/event.json. The K-NET headers give the origin only to
# the minute (19:51:00 JST), too coarse to predict arrival times from.
_US2000CNNL = dict(time=obspy.UTCDateTime("2018-01-24T10:51:19.09"), lat=41.1034, lon=142.4323, depth_km=31.0)
VP_KMS, VS_KMS = 6.0, 3.5


def make_record(accel, component="UD", station="SYN001", start=START, fs=FS, path=None, borehole=False):
  """A ``knet.Record`` around a ``[time]`` acceleration array (m/s^2)."""
  return knet.Record(
      accel_ms2=np.asarray(accel, dtype=np.float64), sampling_rate_hz=fs, start_time=start,
      origin_time=start, event_lat=0.0, event_lon=0.0, depth_km=10.0, magnitude=5.0,
      station=station, station_lat=0.0, station_lon=0.0, station_height_m=0.0,
      component=component, network="K-NET", borehole=borehole, dist_km=50.0,
      header_pga_ms2=0.0, event_id="synthetic", path=path or f"{station}_synthetic.{component}")


def synthetic_accel(rng, onset_s, snr, duration_s=60.0, noise_ms2=1e-3):
  """Noise, then a sharp P at ``onset_s`` (RMS ``snr`` x the noise), then a 3-10x bigger S.

  Returns ``[time]`` m/s^2 at ``FS``. The waves are 1-20 Hz band-limited noise
  under a 0.02 s linear rise and an exponential decay; a random offset mimics an
  uncorrected baseline.
  """
  n = int(duration_s * FS)
  t = np.arange(n) / FS
  b, a = signal.butter(4, [1.0, 20.0], btype="band", fs=FS)

  def wave(t0, rms, decay_s):
    w = signal.lfilter(b, a, rng.standard_normal(n))
    env = np.clip((t - t0) / 0.02, 0.0, 1.0) * np.exp(-np.maximum(t - t0, 0.0) / decay_s)
    return rms * env * w / w.std()

  p = wave(onset_s, snr * noise_ms2, rng.uniform(2.0, 8.0))
  s = wave(onset_s + rng.uniform(1.5, 10.0), snr * noise_ms2 * rng.uniform(3.0, 10.0), rng.uniform(3.0, 10.0))
  return noise_ms2 * rng.standard_normal(n) + p + s + rng.normal(0.0, 0.01)


def _synthetic_cases(seed=0, num=50):
  rng = np.random.default_rng(seed)
  for _ in range(num):
    onset = rng.uniform(1.5, 25.0)
    snr = float(np.exp(rng.uniform(np.log(3.0), np.log(30.0))))  # Weak to clear onsets.
    yield rng, onset, snr


def test_aic_picker_on_synthetic_onsets():
  picker = aic_picker.AicPicker()
  errors = []
  for rng, onset, snr in _synthetic_cases():
    pk = picker.pick([make_record(synthetic_accel(rng, onset, snr))])
    assert pk.method == "aic" and 0 <= pk.score <= 1 and pk.station == "SYN001"
    assert pk.time == START + pk.offset_s
    errors.append(abs(pk.offset_s - onset))
  errors = np.array(errors)
  assert np.median(errors) <= 0.05, np.sort(errors)
  assert np.mean(errors <= 0.3) >= 0.95, np.sort(errors)


def test_horizontals_are_combined_without_vertical():
  picker = aic_picker.AicPicker()
  errors = []
  for rng, onset, snr in _synthetic_cases(seed=1, num=10):
    recs = [make_record(synthetic_accel(rng, onset, snr), c) for c in ("EW", "NS")]
    errors.append(abs(picker.pick(recs).offset_s - onset))
  assert np.median(errors) <= 0.05 and max(errors) <= 0.3, errors


def test_vertical_is_used_when_present():
  rng = np.random.default_rng(2)
  ud = make_record(synthetic_accel(rng, 10.0, 20.0), "UD")
  # Horizontals with a clear onset 3 s later: the pick follows the vertical.
  hz = [make_record(synthetic_accel(rng, 13.0, 20.0), c) for c in ("EW", "NS")]
  assert aic_picker.AicPicker().pick(hz + [ud]).offset_s == pytest.approx(10.0, abs=0.05)


def test_pick_is_before_the_pga_even_if_the_trigger_is_late():
  rng = np.random.default_rng(3)
  a = synthetic_accel(rng, 10.0, 5.0)
  a[1050] = 1.0  # A spike 0.5 s after the onset becomes the PGA.
  pk = aic_picker.AicPicker().pick([make_record(a)])
  assert pk.offset_s < 10.5


def test_aic_maeda_matches_its_definition():
  x = np.random.default_rng(4).standard_normal(40)
  x[20:] *= 5
  aic = aic_picker.aic_maeda(x)
  n = x.size
  # aic_maeda scales the trace to unit variance, which shifts AIC by a constant.
  loop = np.array([k * np.log(np.var(x[:k])) + (n - k - 1) * np.log(np.var(x[k:])) for k in range(2, n - 1)])
  np.testing.assert_allclose(aic[2:n - 1] - aic[2], loop - loop[0], atol=1e-9)
  assert np.isinf(aic[:2]).all() and np.isinf(aic[n - 1:]).all()
  assert int(np.argmin(aic)) == 20


def test_fallback_when_nothing_triggers():
  rng = np.random.default_rng(5)
  rec = make_record(synthetic_accel(rng, 10.0, 20.0))
  pk = aic_picker.AicPicker(trigger_on=1e6, trigger_off=1.0).pick([rec])
  assert pk.method == "aic_fallback" and pk.score < 0.5
  with pytest.raises(picking.PickError, match="SYN001.*never reached"):
    aic_picker.AicPicker(trigger_on=1e6, trigger_off=1.0, fallback=False).pick([rec])


@pytest.mark.parametrize("make,expect", [
    (lambda: np.full(6000, 0.02), "flat trace"),
    (lambda: np.full(6000, np.nan), "6000 of 6000 samples are NaN"),
    (lambda: np.r_[np.zeros(3000), np.nan, np.ones(2999)], "1 of 6000 samples are NaN"),
    (lambda: np.random.default_rng(6).standard_normal(50), "too short"),
    (lambda: np.random.default_rng(7).standard_normal(6000), "no clear onset"),
])
def test_unpickable_traces_name_the_file(make, expect):
  rec = make_record(make(), path="/data/BAD0011801241951.UD", station="BAD001")
  with pytest.raises(picking.PickError, match=expect) as e:
    aic_picker.AicPicker().pick([rec])
  assert "BAD001" in str(e.value) and "BAD0011801241951.UD" in str(e.value)


def test_group_checks():
  a = synthetic_accel(np.random.default_rng(8), 10.0, 10.0)
  with pytest.raises(picking.PickError, match="no records"):
    aic_picker.AicPicker().pick([])
  with pytest.raises(picking.PickError, match="several stations.*AAA001, BBB001"):
    aic_picker.AicPicker().pick([make_record(a, station="AAA001"), make_record(a, "EW", station="BBB001")])
  with pytest.raises(ValueError, match="sta_s"):
    aic_picker.AicPicker(sta_s=10.0)


# ---------------------------------------------------------------------------
# Real records.


def _real_groups(data_dir):
  """Surface components of each station-event, keyed by file name minus extension."""
  groups = collections.defaultdict(list)
  for p in sorted(data_dir.rglob("*")):
    if p.suffix[1:3] in ("EW", "NS", "UD"):
      r = knet.read_knet_file(p)
      if not r.borehole:
        groups[(p.parent.name, p.stem)].append(r)
  return groups


@pytest.fixture(scope="module")
def real_picks(data_dir):
  picker = aic_picker.AicPicker()
  return {key: (recs, picker.pick(recs)) for key, recs in _real_groups(data_dir).items()}


def test_real_picks_lie_between_record_start_and_pga(real_picks):
  assert len(real_picks) == 13  # 9 + 2 K-NET, 2 KiK-net surface.
  for (_, stem), (recs, pk) in real_picks.items():
    assert pk.station == recs[0].station and pk.method == "aic", stem
    assert pk.time == recs[0].start_time + pk.offset_s
    pga_s = min(np.argmax(np.abs(r.accel_ms2 - r.accel_ms2.mean())) / r.sampling_rate_hz for r in recs)
    assert 1.0 < pk.offset_s < pga_s, (stem, pk.offset_s, pga_s)
    assert pk.score > 0.5, (stem, pk.score)


def test_real_picks_agree_with_the_catalog_origin(real_picks):
  # From the ComCat origin: the pick is before the S arrival (Vs 3.5 km/s) and
  # near the P arrival (Vp 6 km/s). At these 90-150 km, from a 31 km deep source,
  # the head wave along the Moho (~7.8 km/s) arrives up to ~2 s before a direct
  # 6 km/s P, and the catalog location (+-5-10 km) shifts it by ~1 s either way;
  # the measured pick - predicted P spans -1.4 to +0.1 s.
  ev = _US2000CNNL
  found = 0
  for (event, stem), (recs, pk) in real_picks.items():
    if event != "us2000cnnl":
      continue
    r = recs[0]
    dist = knet.hypocentral_distance_km(ev["lat"], ev["lon"], ev["depth_km"],
                                        r.station_lat, r.station_lon, r.station_height_m)
    pred_p = ev["time"] + dist / VP_KMS
    assert pk.time < ev["time"] + dist / VS_KMS, stem
    assert -2.0 <= pk.time - pred_p <= 1.0, (stem, pk.time - pred_p)
    found += 1
  assert found == 9


def test_real_picks_are_consistent_within_each_event(real_picks):
  # The headers' origin times are truncated to the minute, so the true origin is
  # in [header, header + 60 s): the pick must come after header + d/Vp - 2 s and
  # before header + 60 s + d/Vs. The origins implied by the picks (pick - d/Vp)
  # must agree between stations; header hypocentres rounded to 0.1 deg and the
  # Moho head wave allow ~2 s of scatter (measured: <= 1.8 s).
  implied = collections.defaultdict(list)
  for (event, stem), (recs, pk) in real_picks.items():
    r = recs[0]
    assert r.origin_time.second == 0 and r.origin_time.microsecond == 0
    assert pk.time > r.origin_time + r.dist_km / VP_KMS - 2.0, stem
    assert pk.time < r.origin_time + 60.0 + r.dist_km / VS_KMS, stem
    implied[event].append(pk.time - r.dist_km / VP_KMS)
  assert sorted(implied) == ["us2000cnnl", "usb000syza", "usp000hzq8"]
  for event, times in implied.items():
    assert max(times) - min(times) <= 2.5, (event, [str(t) for t in times])


def test_kiknet_borehole_and_surface_group(data_dir):
  # Both sensors given: the pick is on the surface vertical, before every PGA.
  recs = [knet.read_knet_file(p) for p in sorted((data_dir / "kiknet/usp000hzq8").glob("NGNH35*"))]
  surface = [r for r in recs if not r.borehole]
  both = aic_picker.AicPicker().pick(recs)
  assert both.offset_s == pytest.approx(aic_picker.AicPicker().pick(surface).offset_s, abs=0.02)


# ---------------------------------------------------------------------------
# Picks files (PhaseNet CSV format).

_HEADER = "station_id,begin_time,phase_index,phase_time,phase_score,phase_type\n"


def _write(tmp_path, text, name="picks.csv"):
  path = tmp_path / name
  path.write_text(text)
  return path


def _offset(tmp_path, text, record):
  return external_pickers.PicksFilePicker(_write(tmp_path, text)).pick([record]).offset_s


def test_picks_file_highest_scoring_p_inside_the_record(tmp_path, knet_record):
  r = knet_record  # AOM008 NS, starts 2018-01-24T10:51:21.
  t0 = r.start_time
  rows = [
      f"BO.AOM008..NS,{t0},1530,{t0 + 15.30},0.62,P",
      f"BO.AOM008..UD,{t0},1533,{t0 + 15.33},0.91,P",
      f"BO.AOM008..UD,{t0},2800,{t0 + 28.00},0.99,S",  # S picks are ignored.
      f"BO.AOM008..UD,,,{t0 + 86400},1.00,P",  # A day later: outside the record.
      f"BO.AOM007..UD,{t0},1200,{t0 + 12.00},0.95,P",  # Another station.
  ]
  pk = external_pickers.PicksFilePicker(_write(tmp_path, _HEADER + "\n".join(rows) + "\n")).pick([r])
  assert pk.station == "AOM008" and pk.method == "picks_file"
  assert pk.score == pytest.approx(0.91)
  assert pk.offset_s == pytest.approx(15.33, abs=1e-6)
  assert pk.time == t0 + pk.offset_s


def test_picks_file_station_ids_file_names_and_index_times(tmp_path, knet_record):
  t0 = knet_record.start_time
  iso = str(t0 + 15.2).replace("Z", "")  # PhaseNet writes no zone suffix.
  for sid in ("AOM008", "BO.AOM008..", "aom008"):
    text = _HEADER + f"{sid},,,{iso},0.8,P\n"
    assert _offset(tmp_path, text, knet_record) == pytest.approx(15.2, abs=1e-6), sid
  by_file = "file_name,phase_time,phase_score,phase_type\n" + f"AOM0081801241951.NS,{t0 + 15.2},0.8,P\n"
  assert _offset(tmp_path, by_file, knet_record) == pytest.approx(15.2, abs=1e-6)
  # No phase_time: begin_time + phase_index x 0.01 s.
  by_index = "station_id,begin_time,phase_index,phase_score,phase_type\n" + f"BO.AOM008..UD,{t0},1520,0.8,P\n"
  assert _offset(tmp_path, by_index, knet_record) == pytest.approx(15.2, abs=1e-6)


def test_picks_file_errors(tmp_path, knet_record):
  with pytest.raises(FileNotFoundError, match="nope.csv"):
    external_pickers.PicksFilePicker(tmp_path / "nope.csv")
  bad = _write(tmp_path, "station_id,phase_time\nAOM008,2018-01-24T10:51:40\n", "bad.csv")
  with pytest.raises(picking.PickError, match="bad.csv.*phase_score, phase_type") as e:
    external_pickers.PicksFilePicker(bad)
  assert "station_id" not in str(e.value).split("found")[0]
  t0 = knet_record.start_time
  other = _write(tmp_path, _HEADER + f"BO.AOM007..UD,,,{t0 + 12},0.9,P\nBO.AOM008..UD,,,{t0 + 28},0.9,S\n", "other.csv")
  with pytest.raises(picking.PickError, match="other.csv: no P pick for station AOM008"):
    external_pickers.PicksFilePicker(other).pick([knet_record])
  late = _write(tmp_path, _HEADER + f"BO.AOM008..UD,,,{t0 + 3600},0.9,P\n", "late.csv")
  with pytest.raises(picking.PickError, match="AOM008.*outside the record"):
    external_pickers.PicksFilePicker(late).pick([knet_record])
  junk = _write(tmp_path, _HEADER + "BO.AOM008..UD,,,yesterday,0.9,P\n", "junk.csv")
  with pytest.raises(picking.PickError, match="junk.csv: line 2"):
    external_pickers.PicksFilePicker(junk)


# ---------------------------------------------------------------------------
# PhaseNet and the factory.


def test_phasenet_without_seisbench_says_what_to_install(monkeypatch, tmp_path):
  # None in sys.modules makes the import fail, whether or not it is installed.
  monkeypatch.setitem(sys.modules, "seisbench", None)
  monkeypatch.setitem(sys.modules, "seisbench.models", None)
  weights = tmp_path / "phasenet_stead"
  with pytest.raises(ImportError) as e:
    external_pickers.PhaseNetPicker(weights)
  msg = str(e.value)
  assert "pip install seisbench" in msg and str(weights) in msg and "weights_path" in msg


def test_phasenet_weights_resolution(tmp_path):
  with pytest.raises(FileNotFoundError, match="PhaseNet weights not found.*pip install seisbench"):
    external_pickers.PhaseNetPicker._resolve_weights(str(tmp_path / "missing"))
  (tmp_path / "stead.json").write_text("{}")
  (tmp_path / "stead.pt").write_bytes(b"")
  assert external_pickers.PhaseNetPicker._resolve_weights(str(tmp_path / "stead")) == (tmp_path / "stead", None)
  assert external_pickers.PhaseNetPicker._resolve_weights(str(tmp_path)) == (tmp_path / "stead", None)
  cache = tmp_path / "cache"
  cache.mkdir()
  (cache / "stead.json.v3").write_text("{}")
  (cache / "stead.pt.v3").write_bytes(b"")
  assert external_pickers.PhaseNetPicker._resolve_weights(str(cache)) == (cache / "stead", "3")


def test_make_picker(tmp_path, monkeypatch):
  p = pickers.make_picker("aic", sta_s=0.5)
  assert isinstance(p, aic_picker.AicPicker) and p.sta_s == 0.5
  path = _write(tmp_path, _HEADER)
  assert isinstance(pickers.make_picker("picks_file", path=path), external_pickers.PicksFilePicker)
  monkeypatch.setitem(sys.modules, "seisbench", None)
  with pytest.raises(ImportError, match="pip install seisbench"):
    pickers.make_picker("phasenet", weights_path=tmp_path)
  with pytest.raises(ValueError, match="unknown picker 'sta_lta'.*'aic', 'phasenet', 'picks_file'"):
    pickers.make_picker("sta_lta")
