"""Exported records read back exactly (AT2, CSV, NPZ) or within float32 (MiniSEED, SAC)."""

import os

import numpy as np
import pytest

from cvaegan_jax import exports

G = 9.80665


def _records(n=3, t=1003, dtype=np.float32, seed=0):
  rng = np.random.default_rng(seed)
  # Amplitudes over several decades, a few exact zeros and negative zero.
  x = rng.normal(size=(n, t)) * 10.0 ** rng.uniform(-6, 1, size=(n, t))
  x[:, :3] = [0.0, -0.0, 1e-30]
  return x.astype(dtype)


# --- PEER AT2 -------------------------------------------------------------------


def test_at2_round_trip_float32_bit_exact(tmp_path):
  x = _records(n=1)[0]
  path = exports.write_at2(tmp_path / "r.AT2", x, 0.005, title="test record")
  lines = open(path).read().splitlines()
  assert lines[0] == "PEER NGA STRONG MOTION DATABASE RECORD"
  assert lines[1] == "test record"
  assert lines[2] == "ACCELERATION TIME SERIES IN UNITS OF G"
  assert lines[3] == "NPTS=   1003, DT=    .0050 SEC"
  assert len(lines) == 4 + (1003 + 4) // 5 and len(lines[4].split()) == 5
  assert float(lines[4].split()[3]) == pytest.approx(float(x[3]) / G, rel=1e-9)  # Values in g.
  y, dt, header = exports.read_at2(path)
  assert y.dtype == np.float64 and y.shape == x.shape
  assert np.array_equal(y.astype(np.float32).view(np.uint32), x.view(np.uint32))  # Bit for bit, -0.0 too.
  assert dt == 0.005
  assert header["title"] == "test record" and header["npts"] == 1003 and header["unit"] == "G"


def test_at2_round_trip_float64_and_odd_dt(tmp_path):
  x = _records(n=1, t=17, dtype=np.float64)[0]
  path = exports.write_at2(tmp_path / "r.at2", x, 1.0 / 3.0)
  y, dt, _ = exports.read_at2(path)
  assert dt == 1.0 / 3.0
  np.testing.assert_allclose(y, x, rtol=1e-15, atol=0)


@pytest.mark.parametrize("npts_line", [
    "NPTS=  6, DT=   .0100 SEC",
    "NPTS= 6 DT= .01",
    "NPTS=6,DT=0.0100",
    "   6    0.0100    NPTS, DT",
    "NPTS=      6, DT=   .0100 SEC, /",
])
def test_read_at2_peer_variants(tmp_path, npts_line):
  text = ("PEER STRONG MOTION DATABASE RECORD. PROCESSING BY PACIFIC ENGINEERING.\n"
          "IMPERIAL VALLEY 10/15/79 2316, EL CENTRO ARRAY #6, 230\n"
          "ACCELERATION TIME HISTORY IN UNITS OF G\n"
          f"{npts_line}\n"
          "  .1234567E-02 -.2345678E-02  .0000000E+00\n"
          "  .5000000E-01\n"
          "-.1000000E+00-.2000000E-01\n")  # Fortran fields running together.
  path = tmp_path / "RSN.AT2"
  path.write_text(text)
  y, dt, header = exports.read_at2(path)
  assert dt == 0.01
  np.testing.assert_allclose(y, np.array([0.1234567e-2, -0.2345678e-2, 0.0, 0.05, -0.1, -0.02]) * G, rtol=1e-15)
  assert header["title"].startswith("IMPERIAL VALLEY")


def test_read_at2_units_cm_s2(tmp_path):
  path = tmp_path / "cm.AT2"
  path.write_text("PEER\ntitle\nACCELERATION TIME SERIES IN UNITS OF CM/S/S\nNPTS= 2, DT= .02\n100.0 -50.0\n")
  y, dt, _ = exports.read_at2(path)
  np.testing.assert_allclose(y, [1.0, -0.5])


@pytest.mark.parametrize("text, match", [
    ("time,accel\n0,1\n0.01,2\n", r"not a PEER AT2 file.*line 1 reads 'time,accel'"),
    ("PEER\ntitle\nACCELERATION TIME SERIES IN UNITS OF G\nNPTS= 10, DT= .01\n1 2 3\n",
     r"NPTS=10 in line 4 but 3 values follow"),
    ("PEER\ntitle\nACCELERATION TIME SERIES IN UNITS OF G\nNPTS= 3, DT= .01\n1 2\nx 3\n", r"line 6: 'x' is not a number"),
    ("PEER\ntitle\nVELOCITY TIME SERIES IN UNITS OF CM/S\nNPTS= 1, DT= .01\n1\n", r"line 3: a velocity"),
    ("PEER\ntitle\nACCELERATION TIME SERIES IN UNITS OF FT/S/S\nNPTS= 1, DT= .01\n1\n", r"line 3: unknown unit"),
    ("PEER\ntitle\nACCELERATION TIME SERIES IN UNITS OF G\nNPTS= 1, DT= 0\n1\n", r"line 4: DT=0"),
])
def test_read_at2_errors(tmp_path, text, match):
  path = tmp_path / "bad.AT2"
  path.write_text(text)
  with pytest.raises(ValueError, match=match) as e:
    exports.read_at2(path)
  assert str(path) in str(e.value)


def test_write_at2_errors(tmp_path):
  with pytest.raises(ValueError, match="one record per file"):
    exports.write_at2(tmp_path / "x.AT2", np.zeros((2, 10)), 0.01)
  with pytest.raises(ValueError, match=r"NaN or inf \(first at index \(0, 4\)\)"):
    exports.write_at2(tmp_path / "x.AT2", np.r_[np.zeros(4), np.nan], 0.01)
  with pytest.raises(ValueError, match="dt"):
    exports.write_at2(tmp_path / "x.AT2", np.zeros(10), -0.01)


# --- CSV and NPZ ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_round_trip_exact(tmp_path, dtype):
  x = _records(n=3, t=257, dtype=dtype)
  path = exports.write_csv(tmp_path / "r.csv", x, 0.01, names=["a", "b_2", "c.3"])
  with open(path) as f:
    assert f.readline().startswith("# dt=0.01 unit=m/s^2")
    assert f.readline().strip() == "time_s,a_ms2,b_2_ms2,c.3_ms2"
  y, dt, names = exports.read_csv(path)
  assert y.dtype == dtype and y.shape == (3, 257)
  assert np.array_equal(y.view(np.uint32 if dtype == np.float32 else np.uint64),
                        x.view(np.uint32 if dtype == np.float32 else np.uint64))
  assert dt == 0.01 and names == ["a", "b_2", "c.3"]


def test_csv_single_record_default_names_and_errors(tmp_path):
  path = exports.write_csv(tmp_path / "one.csv", np.arange(5, dtype=np.float32), 0.02)
  y, dt, names = exports.read_csv(path)
  assert y.shape == (1, 5) and names == ["record_001"] and dt == 0.02
  with pytest.raises(ValueError, match="unique"):
    exports.write_csv(tmp_path / "x.csv", np.zeros((2, 4)), 0.01, names=["a", "a"])
  with pytest.raises(ValueError, match="letters, digits"):
    exports.write_csv(tmp_path / "x.csv", np.zeros((1, 4)), 0.01, names=["a,b"])
  with pytest.raises(ValueError, match="2 entries for 3 records"):
    exports.write_csv(tmp_path / "x.csv", np.zeros((3, 4)), 0.01, names=["a", "b"])
  bad = tmp_path / "bad.csv"
  bad.write_text("# dt=0.01 unit=m/s^2\ntime_s,a_ms2\n0,1\n0.01,oops\n")
  with pytest.raises(ValueError, match=r"bad.csv, line 4: non-numeric"):
    exports.read_csv(bad)


def test_npz_round_trip(tmp_path):
  x = _records(n=2, t=100)
  periods = np.geomspace(0.01, 10, 7)
  path = exports.write_npz(tmp_path / "suite", x, 0.01, periods_s=periods, spectra_ms2=np.ones((2, 7)),
                           names=["g1", "g2"], misfit=np.array([0.1, 0.2]))
  assert path.endswith("suite.npz")
  y, dt, extra = exports.read_npz(path)
  assert y.dtype == np.float32 and np.array_equal(y, x) and dt == 0.01
  np.testing.assert_array_equal(extra["periods_s"], periods)
  assert list(extra["names"]) == ["g1", "g2"] and extra["spectra_ms2"].shape == (2, 7)
  with pytest.raises(ValueError, match="'bad' is not a plain array"):
    exports.write_npz(tmp_path / "x.npz", x, 0.01, bad=[{"a": 1}])


# --- MiniSEED and SAC through ObsPy --------------------------------------------------


def test_mseed_round_trip(tmp_path):
  import obspy
  x = _records(n=3, t=600)
  (path,) = exports.write_obspy(tmp_path / "suite.mseed", x, 0.01)
  st = obspy.read(path)
  assert len(st) == 3
  assert len({tr.id for tr in st}) == 3
  for tr, xi in zip(sorted(st, key=lambda tr: tr.stats.location), x):
    assert tr.stats.sampling_rate == 100.0 and tr.stats.channel == "HN1"
    assert tr.stats.network == "XX" and tr.stats.station == "GEN"
    assert tr.data.dtype == np.float32 and np.array_equal(tr.data, xi)
    assert tr.stats.starttime == obspy.UTCDateTime(0)


def test_sac_round_trip(tmp_path):
  import obspy
  x = _records(n=2, t=400, dtype=np.float64)
  paths = exports.write_obspy(tmp_path / "suite.sac", x, 0.005, format="sac", names=["eq_a", "eq_b"])
  assert [os.path.basename(p) for p in paths] == ["suite_001.sac", "suite_002.sac"]
  for p, xi, name in zip(paths, x, ["eq_a", "eq_b"]):
    (tr,) = obspy.read(p)
    assert tr.stats.sampling_rate == pytest.approx(200.0, rel=1e-6)
    np.testing.assert_array_equal(tr.data, xi.astype(np.float32))
    assert tr.stats.sac.kevnm.strip() == name
  with pytest.raises(ValueError, match="'MSEED' or 'SAC'"):
    exports.write_obspy(tmp_path / "x", x, 0.01, format="GSE2")


# --- export() ---------------------------------------------------------------------


def test_export_dispatch(tmp_path):
  x = _records(n=2, t=50)
  names = ["s1", "s2"]
  files = exports.export(tmp_path / "at2", x, 0.01, "AT2", names=names)
  assert [os.path.basename(f) for f in files] == ["s1.AT2", "s2.AT2"]
  y, dt, _ = exports.read_at2(files[1])
  assert np.array_equal(y.astype(np.float32), x[1]) and dt == 0.01
  (f,) = exports.export(tmp_path / "csv", x, 0.01, "csv", names=names)
  assert np.array_equal(exports.read_csv(f)[0], x)
  (f,) = exports.export(tmp_path / "npz", x, 0.01, "npz", names=names, periods_s=np.array([0.1, 1.0]))
  _, _, extra = exports.read_npz(f)
  assert list(extra["names"]) == names and list(extra["periods_s"]) == [0.1, 1.0]
  assert len(exports.export(tmp_path / "ms", x, 0.01, "mseed")) == 1
  assert len(exports.export(tmp_path / "sac", x, 0.01, "sac")) == 2
  with pytest.raises(ValueError, match=r"unknown export format 'segy'; valid: at2, csv, npz, mseed, sac"):
    exports.export(tmp_path, x, 0.01, "segy")


# --- Pairs of horizontal components [N, 2, T] -----------------------------------------


def _pairs(n=2, t=301, dtype=np.float32):
  # Record n, component 0 = H1, 1 = H2; H2 drawn apart from H1 so a swap would show.
  return _records(n=2 * n, t=t, dtype=dtype, seed=1).reshape(n, 2, t)


def test_export_pairs_at2(tmp_path):
  x = _pairs()
  files = exports.export(tmp_path, x, 0.01, "at2", names=["ev1", "ev2"])
  assert [os.path.basename(f) for f in files] == ["ev1_H1.AT2", "ev1_H2.AT2", "ev2_H1.AT2", "ev2_H2.AT2"]
  for f, xi in zip(files, x.reshape(4, -1)):
    y, dt, header = exports.read_at2(f)
    assert np.array_equal(y.astype(np.float32).view(np.uint32), xi.view(np.uint32)) and dt == 0.01
  assert exports.read_at2(files[1])[2]["title"] == "ev1 component H2 generated by cvaegan-jax"
  pair = np.stack([exports.read_at2(f)[0] for f in files[2:]])  # A pair read back: two calls.
  assert np.array_equal(pair.astype(np.float32), x[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_export_pairs_csv(tmp_path, dtype):
  x = _pairs(n=3, t=50, dtype=dtype)
  (path,) = exports.export(tmp_path, x, 0.02, "csv", names=["a", "b", "c"])
  assert os.path.basename(path) == "records.csv"
  with open(path) as f:
    assert f.readline().strip() == f"# dt=0.02 unit=m/s^2 dtype={np.dtype(dtype).name} components=H1/H2"
    assert f.readline().strip() == "time_s,a_H1_ms2,a_H2_ms2,b_H1_ms2,b_H2_ms2,c_H1_ms2,c_H2_ms2"
  y, dt, names = exports.read_csv(path)
  assert y.dtype == dtype and y.shape == (3, 2, 50) and dt == 0.02 and names == ["a", "b", "c"]
  u = np.uint32 if dtype == np.float32 else np.uint64
  assert np.array_equal(y.view(u), x.view(u))
  flat, _, flat_names = exports.read_csv(path, pairs=False)
  assert np.array_equal(flat, x.reshape(6, 50)) and flat_names[:3] == ["a_H1", "a_H2", "b_H1"]


def test_read_csv_pairs_only_when_announced_or_asked(tmp_path):
  # Single records whose names happen to end in _H1/_H2 read as before: [N, T], names kept.
  x = _records(n=4, t=20)
  path = exports.write_csv(tmp_path / "one.csv", x, 0.01, names=["p_H1", "p_H2", "q_H1", "q_H2"])
  y, _, names = exports.read_csv(path)
  assert y.shape == (4, 20) and names == ["p_H1", "p_H2", "q_H1", "q_H2"]
  y, _, names = exports.read_csv(path, pairs=True)
  assert np.array_equal(y, x.reshape(2, 2, 20)) and names == ["p", "q"]
  path = exports.write_csv(tmp_path / "odd.csv", x[:2], 0.01, names=["p_H1", "q_H2"])
  with pytest.raises(ValueError, match=r"odd.csv: column 3 is 'q_H2_ms2', expected 'p_H2_ms2'"):
    exports.read_csv(path, pairs=True)


def test_export_pairs_npz(tmp_path):
  x = _pairs()
  (path,) = exports.export(tmp_path, x, 0.01, "npz", names=["e1", "e2"], misfit=np.array([0.1, 0.2]))
  y, dt, extra = exports.read_npz(path)
  assert y.dtype == np.float32 and y.shape == (2, 2, 301) and np.array_equal(y, x) and dt == 0.01
  assert list(extra["names"]) == ["e1", "e2"] and list(extra["misfit"]) == [0.1, 0.2]


def test_export_pairs_mseed(tmp_path):
  import obspy
  x = _pairs(n=3)
  (path,) = exports.export(tmp_path, x, 0.01, "mseed")
  assert os.path.basename(path) == "records.mseed"
  st = obspy.read(path)
  assert len(st) == 6 and len({tr.id for tr in st}) == 6
  got = sorted(st, key=lambda tr: (tr.stats.location, tr.stats.channel))
  assert [(tr.stats.location, tr.stats.channel) for tr in got] == [
      ("00", "HN1"), ("00", "HN2"), ("01", "HN1"), ("01", "HN2"), ("02", "HN1"), ("02", "HN2")]
  for tr, xi in zip(got, x.reshape(6, -1)):
    assert tr.stats.sampling_rate == 100.0 and tr.data.dtype == np.float32 and np.array_equal(tr.data, xi)


def test_export_pairs_sac(tmp_path):
  import obspy
  x = _pairs(dtype=np.float64)
  files = exports.export(tmp_path, x, 0.005, "sac", names=["eq_a", "eq_b"])
  assert [os.path.basename(f) for f in files] == [
      "records_001_H1.sac", "records_001_H2.sac", "records_002_H1.sac", "records_002_H2.sac"]
  for f, xi, (loc, cha, name) in zip(files, x.reshape(4, -1), [("00", "HN1", "eq_a"), ("00", "HN2", "eq_a"),
                                                                 ("01", "HN1", "eq_b"), ("01", "HN2", "eq_b")]):
    (tr,) = obspy.read(f)
    assert (tr.stats.location, tr.stats.channel, tr.stats.sac.kevnm.strip()) == (loc, cha, name)
    np.testing.assert_array_equal(tr.data, xi.astype(np.float32))


def test_export_pairs_shape_errors(tmp_path):
  with pytest.raises(ValueError, match=r"must be \[N, 2, T\] \(axis 1: H1, H2\).*got shape \(2, 3, 10\)"):
    exports.export(tmp_path, np.zeros((2, 3, 10)), 0.01, "csv")
  with pytest.raises(ValueError, match=r"NaN or inf \(first at index \(1, 1, 4\)\)"):
    x = np.zeros((2, 2, 10))
    x[1, 1, 4] = np.inf
    exports.export(tmp_path, x, 0.01, "npz")
  with pytest.raises(ValueError, match="names has 3 entries for 2 records"):
    exports.export(tmp_path, np.zeros((2, 2, 10)), 0.01, "at2", names=["a", "b", "c"])
  assert not os.listdir(tmp_path)
