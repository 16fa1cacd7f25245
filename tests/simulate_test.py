"""Stochastic simulator: K-NET round trip, onsets, physics against known answers."""

import csv
import dataclasses
import hashlib
import math
import os
import pathlib

import numpy as np
import obspy
import pytest

from data_prep import knet
from data_prep import simulate
from data_prep import stochastic

_VP, _VS = stochastic.DEFAULT_PARAMS.vp_kms, stochastic.DEFAULT_PARAMS.beta_kms
_REAL_FILE = "knet/us2000cnnl/AOM0011801241951.EW"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  out = tmp_path_factory.mktemp("sim")
  csv_path = simulate.simulate_dataset(out, num_events=5, seed=7, stations_per_event=(2, 3), show_progress=False)
  with open(csv_path, newline="") as f:
    rows = list(csv.DictReader(f))
  return out, csv_path, rows


def _rng(seed):
  return np.random.default_rng(seed)


def _aic_pick_s(x, fs):
  """Maeda (1985) AIC onset of x (the sample where the two-segment variance model fits best)."""
  x = x - x[: int(fs)].mean()
  n = x.size
  k = np.arange(5, n - 5)
  c1, c2 = np.cumsum(x), np.cumsum(x * x)
  v1 = c2[k - 1] / k - (c1[k - 1] / k) ** 2
  v2 = (c2[-1] - c2[k - 1]) / (n - k) - ((c1[-1] - c1[k - 1]) / (n - k)) ** 2
  aic = k * np.log(np.maximum(v1, 1e-300)) + (n - k - 1) * np.log(np.maximum(v2, 1e-300))
  return k[np.argmin(aic)] / fs


# ---------------------------------------------------------------------------
# K-NET files.


def test_format_matches_a_real_knet_file(dataset, data_dir):
  out, _, rows = dataset
  real = (data_dir / _REAL_FILE).read_text().splitlines()
  ours = (out / rows[0]["file"]).read_text().splitlines()
  # Same 17 labels in the same 18 columns, the same data line layout.
  assert [line[:18] for line in ours[:17]] == [line[:18] for line in real[:17]]
  for line in ours[17:-1]:
    assert len(line) == len(real[17]) == 72 and len(line.split()) == 8
  assert all(line[k * 9 + 8] == " " for line in ours[17:-1] for k in range(8))
  name = os.path.basename(rows[0]["file"])
  assert len(name) == 19 and name[:6] == rows[0]["station"] and name.endswith((".EW", ".NS", ".UD"))
  # Counts carry a DC offset, as real ones do.
  counts = np.array([int(v) for line in ours[17:217] for v in line.split()])
  assert abs(np.median(counts)) > 100


def test_dataset_files_round_trip_with_onsets(dataset):
  out, _, rows = dataset
  catalog = simulate.simulate_catalog(5, 7, (2, 3))
  stations = {(ev["event_id"], s["station"]): (ev, s) for ev in catalog for s in ev["stations"]}
  assert len(rows) == 3 * len(stations)
  for row in rows:
    r = knet.read_knet_file(out / row["file"])
    ev, sta = stations[(row["event_id"], row["station"])]
    assert r.component == row["component"] and r.station == row["station"] and r.sampling_rate_hz == 100.0
    hypocentre = (ev["lat"], ev["lon"], ev["depth_km"], ev["magnitude"])
    assert (r.event_lat, r.event_lon, r.depth_km, r.magnitude) == hypocentre
    assert (r.station_lat, r.station_lon) == (sta["lat"], sta["lon"])
    assert r.magnitude == float(row["magnitude"])
    assert r.dist_km == pytest.approx(float(row["dist_km"]), abs=1e-3)
    assert r.pga_ms2 == pytest.approx(r.header_pga_ms2, rel=1e-3, abs=6e-6)
    # P onset: start_time + p_onset_s is the P time, origin + R / Vp.
    p_time = obspy.UTCDateTime(row["p_time_utc"])
    assert abs((r.start_time + float(row["p_onset_s"])) - p_time) < 1e-5
    assert (p_time - r.origin_time) == pytest.approx(r.dist_km / _VP, abs=1e-3)
    assert 3.0 <= float(row["p_onset_s"]) <= 16.0
    assert float(row["s_onset_s"]) - float(row["p_onset_s"]) == pytest.approx(r.dist_km * (1 / _VS - 1 / _VP), abs=1e-4)
    assert r.accel_ms2.size / 100.0 > float(row["s_onset_s"]) + 5


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
  def digest(d):
    h = hashlib.sha256()
    for p in sorted(pathlib.Path(d).rglob("*")):
      if p.is_file():
        h.update(str(p.relative_to(d)).encode() + p.read_bytes())
    return h.hexdigest()

  a = simulate.simulate_dataset(tmp_path / "a", 2, 11, (2, 2), show_progress=False)
  b = simulate.simulate_dataset(tmp_path / "b", 2, 11, (2, 2), show_progress=False)
  c = simulate.simulate_dataset(tmp_path / "c", 2, 12, (2, 2), show_progress=False)
  da, db, dc = (digest(os.path.dirname(p)) for p in (a, b, c))
  assert da == db and da != dc


def test_records_do_not_depend_on_generation_order(tmp_path):
  events = simulate.simulate_catalog(2, 5, (2, 2))
  jobs = [(ev, s) for ev in events for s in ev["stations"]]
  rows = {}
  for tag, order in (("fwd", jobs), ("rev", jobs[::-1])):
    d = tmp_path / tag
    for ev in events:
      os.makedirs(d / ev["event_id"], exist_ok=True)
    for ev, s in order:
      for row in simulate._write_record(str(d), ev, s, 100.0, stochastic.DEFAULT_PARAMS):
        rows.setdefault(row[0], []).append((d / row[0]).read_bytes())
  assert rows and all(len(v) == 2 and v[0] == v[1] for v in rows.values())


def test_cli_prints_one_line_summary(tmp_path, capsys):
  simulate.main([f"--out_dir={tmp_path}", "--num_events=1", "--seed=3", "--min_stations=1", "--max_stations=1",
                 "--no_progress"])
  lines = capsys.readouterr().out.strip().splitlines()
  assert len(lines) == 1 and "1 events, 1 records, 3 K-NET files" in lines[0]
  assert os.path.isfile(tmp_path / "onsets.csv")


# ---------------------------------------------------------------------------
# Catalog.


def test_catalog_covers_magnitude_ranges_and_geometry():
  for seed in range(5):  # Even the smallest catalog has one event per range.
    mags = [ev["magnitude"] for ev in simulate.simulate_catalog(3, seed)]
    assert min(mags) < 4.5 and any(4.5 <= m <= 7.5 for m in mags) and max(mags) > 7.5
  events = simulate.simulate_catalog(200, 1)
  mags = np.array([ev["magnitude"] for ev in events])
  assert mags.min() >= 3.5 and mags.max() <= 8.0
  shares = [np.mean(mags < 4.5), np.mean((mags >= 4.5) & (mags <= 7.5)), np.mean(mags > 7.5)]
  assert shares == pytest.approx([0.3, 0.5, 0.2], abs=0.01)
  assert len({ev["origin_time"].replace(second=0) for ev in events}) == 200
  for ev in events:
    assert 30 <= ev["lat"] <= 45 and 130 <= ev["lon"] <= 145 and 5 <= ev["depth_km"] <= 60
    assert 3 <= len(ev["stations"]) <= 8
    codes = [s["station"] for s in ev["stations"]]
    assert len(set(codes)) == len(codes) and all(len(c) == 6 and c[3:].isdigit() for c in codes)
    for s in ev["stations"]:
      assert 9.9 <= s["dist_km"] <= 300.1
      d = knet.hypocentral_distance_km(ev["lat"], ev["lon"], ev["depth_km"], s["lat"], s["lon"], s["height_m"])
      assert s["dist_km"] == d


# ---------------------------------------------------------------------------
# Physics.


def test_source_formulas_known_values():
  # M6: M0 = 10^(9 + 16.05) dyne-cm; Brune (P wave): fc = 4.906e6 * 3.5 * (100 / M0)^(1/3) = 0.356 Hz.
  assert stochastic.seismic_moment(6.0) == pytest.approx(1.1220e25, rel=1e-4)
  assert stochastic.corner_frequency(6.0) == pytest.approx(0.3560, rel=1e-3)
  # Atkinson & Silva (2000) at M6: fa = 10^(2.181 - 2.976), fb = 10^(2.41 - 2.448), eps = 10^(0.605 - 1.53).
  fa, fb, eps = stochastic.double_corner(6.0)
  assert (fa, fb, eps) == pytest.approx((0.16032, 0.91622, 0.11885), rel=1e-4)
  # A stress drop 8 times the median doubles both corners (Brune's cube root), not eps.
  assert stochastic.double_corner(6.0, 8.0) == pytest.approx((2 * fa, 2 * fb, eps), rel=1e-12)
  # Yenier & Atkinson (2015): h(8) = 10^(-0.405 + 1.88) = 29.85 km.
  assert stochastic.effective_distance(8.0, 10.0) == pytest.approx(math.hypot(10.0, 29.85), rel=1e-3)
  # The S acceleration spectrum of M6 at 10 km (R_eff < the 70 km hinge) is
  # C M0 (2 pi f)^2 [(1 - eps) / (1 + (f/fa)^2) + eps / (1 + (f/fb)^2)] / R_eff amp(f) exp(-pi 0.035 f)
  # exp(-pi f^0.55 R_eff / (180 * 3.5)).
  f = 5.0
  c = 0.55 * 2 ** -0.5 * 2.0 / (4 * math.pi * 2.8 * (3.5e5) ** 3 * 1e5) * 0.01
  reff = math.hypot(10.0, 10 ** (-0.405 + 0.235 * 6))
  amp = math.exp(np.interp(math.log(f), np.log([3.17, 6.05]), np.log([2.25, 2.58])))
  shape = (1 - 0.11885) / (1 + (f / 0.16032) ** 2) + 0.11885 / (1 + (f / 0.91622) ** 2)
  expect = (c * 1.1220e25 * (2 * math.pi * f) ** 2 * shape / reff * amp * math.exp(-math.pi * 0.035 * f)
            * math.exp(-math.pi * f ** 0.55 * reff / (180 * 3.5)))
  assert stochastic.fourier_spectrum(6.0, 10.0, [f])[0] == pytest.approx(expect, rel=1e-3)


def test_simulated_fourier_spectrum_matches_target():
  # Boore's normalisation: the mean squared Fourier amplitude of the direct S
  # wave (no scattered coda: g0 = 0) is the target's square.
  params = dataclasses.replace(stochastic.DEFAULT_PARAMS, p_on_horizontal=0.0, scattering_g0_per_km=0.0)
  bands = [(0.5, 1.0), (1.0, 3.0), (3.0, 8.0), (8.0, 20.0)]
  power = np.zeros(len(bands))
  runs = 12
  for s in range(runs):
    rec = stochastic.simulate_record(6.0, 40.0, _rng(s), noise_ms2=0, params=params)
    f = np.fft.rfftfreq(rec["EW"].size, 0.01)
    fas2 = (np.abs(np.fft.rfft(rec["EW"])) * 0.01) ** 2
    target2 = stochastic.fourier_spectrum(6.0, 40.0, f, params=params) ** 2
    power += [fas2[(f >= lo) & (f < hi)].sum() / target2[(f >= lo) & (f < hi)].sum() for lo, hi in bands]
  np.testing.assert_allclose(power / runs, 1.0, atol=0.15)


def test_p_precedes_s_and_nothing_arrives_before_p():
  for m, r in ((4.0, 15.0), (6.0, 80.0), (8.0, 250.0)):
    rec = stochastic.simulate_record(m, r, _rng(1), noise_ms2=0, pre_event_s=5.0)
    assert rec["p_onset_s"] == 5.0
    assert rec["s_onset_s"] - rec["p_onset_s"] == pytest.approx(r * (1 / _VS - 1 / _VP), rel=1e-12)
    i_p, i_s = int(5.0 * 100), int(rec["s_onset_s"] * 100)
    for c in ("EW", "NS", "UD"):
      a = rec[c]
      # Causal: nothing before P beyond numerical round-off.
      assert np.max(np.abs(a[: i_p + 1])) < 1e-6 * np.max(np.abs(a))
    # P is strongest on UD; S (after its onset) dominates the horizontals.
    p_win = slice(i_p + 1, i_p + 1 + min(200, i_s - i_p))
    assert np.abs(rec["UD"][p_win]).max() > 2 * np.abs(rec["EW"][p_win]).max()
    assert np.abs(rec["EW"][i_s:]).max() > 1.5 * np.abs(rec["EW"][:i_s]).max()


def test_aic_picker_finds_the_p_onset():
  for m, r in ((4.0, 20.0), (5.0, 50.0), (6.5, 100.0), (7.5, 150.0)):
    for s in range(4):
      rec = stochastic.simulate_record(m, r, _rng(s))
      end = int((rec["p_onset_s"] + 0.5 * (rec["s_onset_s"] - rec["p_onset_s"])) * 100)
      assert abs(_aic_pick_s(rec["UD"][:end], 100.0) - rec["p_onset_s"]) <= 0.05, (m, r, s)


def _psa_median(magnitude, dist_km, periods, seeds=6, duration_s=None):
  from cvaegan_jax import spectra
  recs = [stochastic.simulate_record(magnitude, dist_km, _rng(s), duration_s=duration_s) for s in range(seeds)]
  n = max(rec["EW"].size for rec in recs)  # Zero-padded to the longest record.
  x = np.stack([[np.pad(rec[c] - rec[c].mean(), (0, n - rec[c].size)) for c in ("EW", "NS")] for rec in recs])
  psa = np.asarray(spectra.response_spectrum(x, 0.01, np.asarray(periods, float)))  # [seeds, 2, periods]
  return np.median(np.sqrt(psa[:, 0] * psa[:, 1]), axis=0)


def test_spectral_shape_shifts_to_long_periods_with_magnitude():
  # The corner frequency falls as M grows, so PSA(2 s) / PSA(0.1 s) grows.
  ratios = []
  for m in (4.0, 5.5, 7.0):
    psa = _psa_median(m, 50.0, [0.1, 2.0], duration_s=90)
    ratios.append(psa[1] / psa[0])
  assert ratios[0] < 0.5 * ratios[1] < 0.25 * ratios[2]


def test_attenuation_with_distance():
  near = _psa_median(6.0, 20.0, [0.0], seeds=8, duration_s=80)[0]
  far = _psa_median(6.0, 150.0, [0.0], seeds=8, duration_s=80)[0]
  # Spreading alone gives (20/70) (70/150)^0.5 = 0.20; Q and R_eff change it a little.
  assert far < 0.3 * near


def test_absolute_level_within_one_sigma_of_bssa14_japan():
  # M6.5 at 30 km hypocentral distance from a 15 km deep point source: R_JB = 26 km.
  # Boore et al. (2014), region 'japan', unspecified mechanism, Vs30 = 620 m/s like
  # the generic rock amplification used here, gives PGA 0.95, PSA(0.2 s) 2.33 and
  # PSA(1 s) 0.68 m/s^2 with total sigmas of 0.6-0.7: the simulated medians must lie
  # within one sigma.
  pygmm = pytest.importorskip("pygmm")
  periods = [0.0, 0.2, 1.0]
  ours = _psa_median(6.5, 30.0, periods, seeds=10)
  gmm = pygmm.BooreStewartSeyhanAtkinson2014(pygmm.Scenario(mag=6.5, dist_jb=math.sqrt(30.0 ** 2 - 15.0 ** 2),
                                                            v_s30=620.0, mechanism="U", region="japan"))
  ref = 9.80665 * np.array([gmm.pga, *gmm.interp_spec_accels(periods[1:])])
  sigma = np.array([gmm.ln_std_pga, *gmm.interp_ln_stds(periods[1:])])
  np.testing.assert_allclose(ref, [0.95, 2.33, 0.68], rtol=0.01)
  assert np.all(np.abs(np.log(ours / ref)) < sigma), (ours, ref, sigma)
  # And near-fault saturation keeps an M8 at 10 km physical (below ~2 g).
  assert 1.0 < _psa_median(8.0, 10.0, [0.0], seeds=3, duration_s=150)[0] < 20.0


# ---------------------------------------------------------------------------
# Errors.


def test_bad_arguments_raise_clear_errors(tmp_path):
  with pytest.raises(ValueError, match="dist_km"):
    stochastic.simulate_record(6.0, -5.0, _rng(0))
  with pytest.raises(ValueError, match="magnitude"):
    stochastic.simulate_record(12.0, 50.0, _rng(0))
  with pytest.raises(ValueError, match="magnitude"):
    stochastic.simulate_record(float("nan"), 50.0, _rng(0))
  with pytest.raises(ValueError, match="sampling_rate_hz"):
    stochastic.simulate_record(6.0, 50.0, _rng(0), sampling_rate_hz=0)
  with pytest.raises(ValueError, match="num_events"):
    simulate.simulate_dataset(tmp_path, 0, 1)
  with pytest.raises(ValueError, match="seed"):
    simulate.simulate_dataset(tmp_path, 2, -1)
  with pytest.raises(ValueError, match="stations_per_event"):
    simulate.simulate_dataset(tmp_path, 2, 1, stations_per_event=(5, 2))
  with pytest.raises(ValueError, match="sampling_rate_hz"):
    simulate.simulate_dataset(tmp_path, 2, 1, sampling_rate_hz=100.5)
