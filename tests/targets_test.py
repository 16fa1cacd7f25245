"""Target spectra against hand-computed design-code values, files and recorded motions."""

import math

import numpy as np
import pytest

from cvaegan_jax import exports
from cvaegan_jax import spectra
from cvaegan_jax import design_codes, specs, targets

G = 9.80665
KNET_NS = "knet/us2000cnnl/AOM0081801241951.NS"
# A short grid for the record tests: one compile of the spectrum kernel for all of them.
REC_PERIODS = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0])


# --- Design codes, by hand from the clauses -----------------------------------


def test_asce7_branches():
  # SDS = 1.0 g, SD1 = 0.6 g, TL = 8 s: T0 = 0.12 s, TS = 0.6 s.
  t = design_codes.asce7(1.0, 0.6, 8.0, periods_s=[0.06, 0.3, 0.6, 1.0, 2.0, 8.0, 9.0])
  expected_g = [1.0 * (0.4 + 0.6 * 0.06 / 0.12), 1.0, 1.0, 0.6 / 1.0, 0.6 / 2.0, 0.6 / 8.0, 0.6 * 8.0 / 9.0**2]
  np.testing.assert_allclose(t.sa_ms2, np.array(expected_g) * G, rtol=1e-14)
  assert t.pga_ms2 == pytest.approx(0.4 * 1.0 * G)
  assert t.damping == 0.05
  assert "ASCE 7-16" in t.name
  assert "ASCE 7-22" in design_codes.asce7(1.0, 0.6, 8.0, edition="22").name


def test_asce7_defaults_and_errors():
  t = design_codes.asce7(1.0, 0.6, 8.0)
  np.testing.assert_array_equal(t.periods_s, spectra.DEFAULT_PERIODS)
  with pytest.raises(ValueError, match="sds_g"):
    design_codes.asce7(0.0, 0.6, 8.0)
  with pytest.raises(ValueError, match="TS"):
    design_codes.asce7(1.0, 0.6, 0.5)
  with pytest.raises(ValueError, match="edition"):
    design_codes.asce7(1.0, 0.6, 8.0, edition="10")


def test_ec8_type1_ground_b():
  ag = 0.3 * G
  t = design_codes.ec8(1, "B", ag, periods_s=[0.1, 0.15, 0.3, 0.5, 1.0, 2.0, 3.0])
  # S = 1.2, TB = 0.15, TC = 0.5, TD = 2.0, eta = 1.
  expected = [ag * 1.2 * (1 + 0.1 / 0.15 * (2.5 - 1)), ag * 1.2 * 2.5, ag * 1.2 * 1.0 * 2.5, ag * 1.2 * 2.5,
              ag * 1.2 * 2.5 * 0.5 / 1.0, ag * 1.2 * 2.5 * 0.5 / 2.0, ag * 1.2 * 2.5 * 0.5 * 2.0 / 3.0**2]
  np.testing.assert_allclose(t.sa_ms2, expected, rtol=1e-14)
  assert t.pga_ms2 == pytest.approx(ag * 1.2)


def test_ec8_damping_importance_type2():
  eta = math.sqrt(10 / (5 + 2))  # 2% damping.
  t = design_codes.ec8(1, "B", 0.3 * G, damping=0.02, periods_s=[0.1, 0.3, 1.0])
  np.testing.assert_allclose(t.sa_ms2, [0.3 * G * 1.2 * (1 + 0.1 / 0.15 * (2.5 * eta - 1)),
                                        0.3 * G * 1.2 * eta * 2.5, 0.3 * G * 1.2 * eta * 2.5 * 0.5 / 1.0],
                             rtol=1e-14)
  assert t.damping == 0.02
  # Type 2, ground D (S 1.8, TB 0.10, TC 0.30, TD 1.2), agR 2 m/s^2, gamma_I 1.2.
  t = design_codes.ec8(2, "d", 2.0, importance=1.2, periods_s=[0.05, 0.2, 0.6, 1.5])
  ag = 1.2 * 2.0
  np.testing.assert_allclose(t.sa_ms2, [ag * 1.8 * (1 + 0.05 / 0.1 * 1.5), ag * 1.8 * 2.5,
                                        ag * 1.8 * 2.5 * 0.3 / 0.6, ag * 1.8 * 2.5 * 0.3 * 1.2 / 1.5**2],
                             rtol=1e-14)
  assert t.pga_ms2 == pytest.approx(ag * 1.8)
  # eta floored at 0.55 (50% damping gives sqrt(10/55) = 0.43).
  t = design_codes.ec8(1, "A", 1.0, damping=0.5, periods_s=[0.3])
  assert t.sa_ms2[0] == pytest.approx(1.0 * 1.0 * 0.55 * 2.5)


def test_ec8_beyond_4s_continues_td_branch():
  t = design_codes.ec8(1, "C", 1.0, periods_s=[5.0, 10.0])
  np.testing.assert_allclose(t.sa_ms2, [1.15 * 2.5 * 0.6 * 2.0 / 25.0, 1.15 * 2.5 * 0.6 * 2.0 / 100.0], rtol=1e-14)


def test_gb50011_branches():
  amax, tg = 0.16, 0.45  # zeta = 0.05: gamma 0.9, eta1 0.02, eta2 1.
  t = design_codes.gb50011(amax, tg, periods_s=[0.05, 0.1, 0.3, 0.45, 1.0, 3.0, 6.0])
  expected = [amax * (0.45 + (1 - 0.45) * 0.05 / 0.1), amax, amax, amax, (0.45 / 1.0)**0.9 * amax,
              (0.2**0.9 - 0.02 * (3.0 - 5 * 0.45)) * amax, (0.2**0.9 - 0.02 * (6.0 - 5 * 0.45)) * amax]
  np.testing.assert_allclose(t.sa_ms2, np.array(expected) * G, rtol=1e-14)
  assert t.pga_ms2 == pytest.approx(0.45 * amax * G)


def test_gb50011_damping():
  z = 0.02
  gamma = 0.9 + (0.05 - z) / (0.3 + 6 * z)
  eta1 = 0.02 + (0.05 - z) / (4 + 32 * z)
  eta2 = 1 + (0.05 - z) / (0.08 + 1.6 * z)
  t = design_codes.gb50011(0.16, 0.45, damping=z, periods_s=[0.05, 0.3, 1.0, 3.0])
  expected = [0.16 * (0.45 + (eta2 - 0.45) * 0.5), eta2 * 0.16, (0.45 / 1.0)**gamma * eta2 * 0.16,
              (eta2 * 0.2**gamma - eta1 * 0.75) * 0.16]
  np.testing.assert_allclose(t.sa_ms2, np.array(expected) * G, rtol=1e-14)
  # 50% damping: eta2 = 1 - 0.45/0.88 < 0.55 -> 0.55; eta1 < 0 -> 0 (flat last branch).
  t = design_codes.gb50011(0.16, 0.45, damping=0.5, periods_s=[0.3, 3.0, 5.0])
  gamma = 0.9 + (0.05 - 0.5) / (0.3 + 3.0)
  np.testing.assert_allclose(t.sa_ms2 / G, [0.55 * 0.16, 0.55 * 0.2**gamma * 0.16, 0.55 * 0.2**gamma * 0.16],
                             rtol=1e-14)


def test_gb50011_beyond_6s():
  lin = lambda T, tg: 0.2**0.9 - 0.02 * (T - 5 * tg)
  # Tg = 0.45: the straight line stays above alpha(6) (6/T)^2 up to 10 s.
  t = design_codes.gb50011(0.16, 0.45, periods_s=[8.0, 10.0])
  np.testing.assert_allclose(t.sa_ms2 / G, [lin(8.0, 0.45) * 0.16, lin(10.0, 0.45) * 0.16], rtol=1e-14)
  # Tg = 0.2: at 12 s the line (0.015) falls below the constant-displacement floor.
  t = design_codes.gb50011(0.16, 0.2, periods_s=[12.0, 30.0])
  np.testing.assert_allclose(t.sa_ms2 / G, [lin(6.0, 0.2) * 0.16 * (6 / 12)**2, lin(6.0, 0.2) * 0.16 * (6 / 30)**2],
                             rtol=1e-14)
  with pytest.raises(ValueError, match="tg_s"):
    design_codes.gb50011(0.16, 0.05)


# --- Spec strings -------------------------------------------------------------


def test_parse_equals_direct_calls():
  assert specs.parse("asce7:sds=1.0,sd1=0.6,tl=8") == design_codes.asce7(1.0, 0.6, 8.0)
  assert specs.parse("ASCE7: SDS=1.0, sd1=0.6, tl=8, edition=22") == design_codes.asce7(1.0, 0.6, 8.0, edition="22")
  assert specs.parse("ec8:type=1,ground=B,ag=0.3g") == design_codes.ec8(1, "B", 0.3 * G)
  assert specs.parse("ec8:type=2,ground=c,ag=250gal,damping=0.02,importance=1.2") == \
      design_codes.ec8(2, "C", 250 * 0.01, damping=0.02, importance=1.2)
  assert specs.parse("ec8:type=1,ground=A,ag=2.5m/s2") == design_codes.ec8(1, "A", 2.5)
  assert specs.parse("gb50011:amax=0.16,tg=0.45,damping=0.03") == design_codes.gb50011(0.16, 0.45, damping=0.03)
  p = [0.1, 0.2, 1.0]
  assert specs.parse("gb50011:amax=0.16,tg=0.45", periods_s=p) == design_codes.gb50011(0.16, 0.45, periods_s=p)
  assert specs.parse("asce7:sds=1.0,sd1=0.6,tl=8") != design_codes.asce7(1.0, 0.6, 6.0)


@pytest.mark.parametrize("spec, match", [
    ("nehrp:sds=1", r"unknown target 'nehrp'.*asce7, ec8, gb50011, file, record"),
    ("asce7:sds=1,sd1=0.6,tl=8,tc=1", r"unknown key 'tc'.*sds, sd1, tl, edition"),
    ("asce7:sds=1,sd1=0.6", r"missing required key\(s\) tl"),
    ("asce7:sds=1,sd1=0.6,tl=8,SDS=2", r"key 'sds' given twice"),
    ("asce7:sds=one,sd1=0.6,tl=8", r"key 'sds'.*number.*'one'"),
    ("asce7:sds=1,sd1=0.6,tl=-8", r"key 'tl'.*positive"),
    ("ec8:type=1,ground=F,ag=0.3g", r"key 'ground'.*A, B, C, D, E"),
    ("ec8:type=3,ground=B,ag=0.3g", r"key 'type'.*1 or 2"),
    ("ec8:type=1,ground=B,ag=0.3", r"key 'ag'.*unit"),
    ("ec8:type=1,ground=B,ag=0.3furlong", r"key 'ag'.*unknown unit"),
    ("ec8:type=1,ground=B,ag=-0.3g", r"key 'ag'.*positive"),
    ("ec8:type=1,ground=B,ag=0.3g,damping=1.5", r"key 'damping'.*\(0, 1\)"),
    ("gb50011:amax=0.16,tg=0", r"key 'tg'.*positive"),
    ("gb50011:amax=0.16", r"missing.*tg"),
    ("file:spectrum.csv", r"missing required key\(s\) unit"),
    ("file:spectrum.csv,unit=ft/s2", r"key 'unit'.*unknown unit.*g, m/s2"),
    ("file:,unit=g", r"needs a PATH"),
    ("asce7", r"CODE:KEY=VALUE"),
    ("asce7:sds", r"expected KEY=VALUE"),
])
def test_parse_errors(spec, match):
  with pytest.raises(ValueError, match=match) as e:
    specs.parse(spec)
  assert repr(spec) in str(e.value)


# --- Target, interpolation, units -----------------------------------------------


def test_target_validation():
  ok = dict(periods_s=[0.1, 0.2, 0.3], sa_ms2=[1.0, 2.0, 1.5], name="t")
  targets.Target(**ok)
  with pytest.raises(ValueError, match=r"periods_s\[1\] = nan"):
    targets.Target(**{**ok, "periods_s": [0.1, np.nan, 0.3]})
  with pytest.raises(ValueError, match=r"sa_ms2\[2\] = inf"):
    targets.Target(**{**ok, "sa_ms2": [1.0, 2.0, np.inf]})
  with pytest.raises(ValueError, match=r"periods_s\[0\] = -0.1"):
    targets.Target(**{**ok, "periods_s": [-0.1, 0.2, 0.3]})
  with pytest.raises(ValueError, match=r"strictly increasing.*periods_s\[2\] = 0.2"):
    targets.Target(**{**ok, "periods_s": [0.1, 0.3, 0.2]})
  with pytest.raises(ValueError, match=r"strictly increasing"):
    targets.Target(**{**ok, "periods_s": [0.1, 0.2, 0.2]})
  with pytest.raises(ValueError, match=r"sa_ms2\[1\] = -2"):
    targets.Target(**{**ok, "sa_ms2": [1.0, -2.0, 1.5]})
  with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
    targets.Target(**{**ok, "sa_ms2": [1.0, 2.0]})
  with pytest.raises(ValueError, match="damping"):
    targets.Target(**ok, damping=1.0)
  with pytest.raises(ValueError, match="pga_ms2"):
    targets.Target(**ok, pga_ms2=-1.0)
  # Design values beyond any recorded motion (issue 23, case 10): ag = 50 g, a 600 g file.
  with pytest.raises(ValueError, match=r"sa_ms2\[1\] = 5883.99 m/s\^2 \(600 g, at T = 0.2 s\) is above 20 g"):
    targets.Target(**{**ok, "sa_ms2": [1.0, 600 * targets.G, 1.5]})
  with pytest.raises(ValueError, match="above 20 g"):
    specs.parse("ec8:type=1,ground=B,ag=50g")
  t = targets.Target(**ok)
  assert t.periods_s.dtype == np.float64 and not t.periods_s.flags.writeable


def test_interpolation_is_exact_for_power_law():
  grid = np.geomspace(0.05, 5.0, 13)
  t = targets.Target(grid, 1.0 / grid, "power law", pga_ms2=3.0)
  q = np.array([0.0537, 0.1, 0.77, 1.234, 4.99])
  out = t.at(q)
  np.testing.assert_allclose(out.sa_ms2, 1.0 / q, rtol=1e-12)
  assert (out.name, out.damping, out.pga_ms2) == ("power law", 0.05, 3.0)
  assert t.at(grid) == t  # Stored periods keep their values bit for bit.
  # Outside the covered range: an error naming both ranges, unless extrapolating.
  with pytest.raises(ValueError, match=r"covers periods 0.05-5 s.*0.01-10 s.*extrapolate=True"):
    t.at([0.01, 1.0, 10.0])
  np.testing.assert_allclose(t.at([0.01, 1.0, 10.0], extrapolate=True).sa_ms2, 1.0 / np.array([0.01, 1.0, 10.0]),
                             rtol=1e-12)
  with pytest.raises(ValueError, match="strictly increasing"):
    t.at([1.0, 0.5])


def test_to_ms2():
  np.testing.assert_allclose(targets.to_ms2([1.0, 0.5], "g"), [G, 0.5 * G])
  assert targets.to_ms2(981.0, "gal") == pytest.approx(9.81)
  assert targets.to_ms2(981.0, "cm/s^2") == pytest.approx(9.81)
  assert targets.to_ms2(2.0, "m/s^2") == 2.0 and targets.to_ms2(2.0, "mps2") == 2.0
  with pytest.raises(ValueError, match=r"unknown unit 'kg'.*g, m/s2"):
    targets.to_ms2(1.0, "kg")


# --- Files -------------------------------------------------------------------


def test_from_file_csv_in_g_with_header_and_pga(tmp_path):
  path = tmp_path / "uhs.csv"
  path.write_text("# uniform hazard spectrum, 2475 yr\n"
                  "Period (s),Sa (g)\n"
                  "0.0,0.40\n"
                  "0.1,0.90  # plateau starts\n"
                  "0.5,1.00\n"
                  "\n"
                  "2.0,0.30\n")
  t = targets.from_file(path, "g")
  np.testing.assert_array_equal(t.periods_s, [0.1, 0.5, 2.0])
  np.testing.assert_allclose(t.sa_ms2, np.array([0.9, 1.0, 0.3]) * G, rtol=1e-15)
  assert t.pga_ms2 == pytest.approx(0.4 * G)
  assert t.name == "uhs.csv"
  assert specs.parse(f"file:{path},unit=g") == t
  # A file keeps its own periods; Target.at moves it (and decides about extrapolation).
  assert specs.parse(f"file:{path},unit=g", periods_s=[0.01, 1.0]) == t
  assert specs.parse(f"FILE:{path},name=uhs,unit=g,damping=0.02") == targets.from_file(path, "g", "uhs", 0.02)


def test_from_file_txt_gal_and_ms2(tmp_path):
  path = tmp_path / "sa.txt"
  path.write_text("T Sa\n3.0\t50\n1.0   200\n0.2  500\n")  # Decreasing order is accepted.
  t = targets.from_file(path, "gal", name="site", damping=0.02)
  np.testing.assert_array_equal(t.periods_s, [0.2, 1.0, 3.0])
  np.testing.assert_allclose(t.sa_ms2, [5.0, 2.0, 0.5], rtol=1e-15)
  assert (t.name, t.damping, t.pga_ms2) == ("site", 0.02, None)
  with pytest.raises(ValueError, match=r"500 m/s\^2 \(51 g, at T = 0.2 s\) is above 20 g.*unit"):
    targets.from_file(path, "m/s2")  # Gal read as m/s^2.


@pytest.mark.parametrize("body, match", [
    ("T,Sa\n0.1,0.5\n0.2,abc\n", r"line 3: expected two numbers"),
    ("T,Sa\n0.1,0.5\n0.2\n", r"line 3: expected two numbers"),
    ("0.1,0.5\nfoo,bar\n0.3,0.2\n", r"line 2: not a number"),
    ("0.1,0.5\n0.2,nan\n", r"line 2: NaN"),
    ("T,Sa\n0.1,0.5\n", r"1 rows with a positive period"),
    ("0.1,0.5\n0.3,0.4\n0.2,0.3\n", r"line 3: period 0.2 s is out of order"),
    ("0.1,0.5\n0.2,0\n", r"line 2: Sa = 0"),
])
def test_from_file_errors(tmp_path, body, match):
  path = tmp_path / "bad.csv"
  path.write_text(body)
  with pytest.raises(ValueError, match=match) as e:
    targets.from_file(path, "g")
  assert "bad.csv" in str(e.value)


# --- Recorded motions -----------------------------------------------------------


def test_from_record_knet(data_dir, knet_record):
  t = targets.from_record(data_dir / KNET_NS, REC_PERIODS)
  a = knet_record.accel_ms2 - knet_record.accel_ms2.mean()
  ref = np.asarray(spectra.response_spectrum(a[None].astype(np.float32), knet_record.dt, REC_PERIODS)[0])
  np.testing.assert_array_equal(t.sa_ms2, ref.astype(np.float64))
  assert t.pga_ms2 == pytest.approx(knet_record.pga_ms2, rel=1e-12)
  assert t.pga_ms2 == pytest.approx(knet_record.header_pga_ms2, rel=1e-3)
  assert t.sa_ms2[0] == pytest.approx(t.pga_ms2, rel=0.03)  # PSA(0.01 s) ~ PGA.
  assert specs.parse(f"record:{data_dir / KNET_NS},component=NS", periods_s=REC_PERIODS) == t
  with pytest.raises(ValueError, match="component='EW'"):
    targets.from_record(data_dir / KNET_NS, REC_PERIODS, component="EW")


def test_from_record_reads_our_at2(tmp_path, data_dir, knet_record):
  path = exports.write_at2(tmp_path / "aom008.AT2", knet_record.accel_ms2, knet_record.dt, title="AOM008 NS")
  t_at2 = targets.from_record(path, REC_PERIODS)
  t_knet = targets.from_record(data_dir / KNET_NS, REC_PERIODS)
  np.testing.assert_allclose(t_at2.sa_ms2, t_knet.sa_ms2, rtol=1e-6)
  assert t_at2.pga_ms2 == pytest.approx(t_knet.pga_ms2, rel=1e-12)


def test_from_record_obspy_component_and_unit(tmp_path, knet_record):
  import obspy
  n = 1500
  a = knet_record.accel_ms2[3000:3000 + n] * 100.0  # In gal.
  b = a[::-1].copy()
  st = obspy.Stream([obspy.Trace(np.asarray(x, np.float32), header={"channel": ch, "delta": 0.01})
                     for x, ch in ((a, "HNE"), (b, "HNN"))])
  path = tmp_path / "two.mseed"
  st.write(str(path), format="MSEED")
  t = targets.from_record(path, REC_PERIODS, component="N", unit="gal")
  bb = np.asarray(b, np.float32).astype(np.float64) / 100.0
  bb = bb - bb.mean()
  ref = np.asarray(spectra.response_spectrum(bb[None].astype(np.float32), 0.01, REC_PERIODS)[0])
  np.testing.assert_allclose(t.sa_ms2, ref, rtol=1e-6)
  with pytest.raises(ValueError, match=r"no trace whose channel ends with 'Z'"):
    targets.from_record(path, REC_PERIODS, component="Z")


def test_from_record_errors(tmp_path):
  with pytest.raises(FileNotFoundError):
    targets.from_record(tmp_path / "missing.NS", REC_PERIODS)
  bad = tmp_path / "junk.dat"
  bad.write_text("not a seismogram\n")
  with pytest.raises(ValueError, match="junk.dat"):
    targets.from_record(bad, REC_PERIODS)


class _Payload:
  """Unpickling this creates the file it names: the test's stand-in for arbitrary code."""

  def __init__(self, path):
    self.path = str(path)

  def __reduce__(self):
    return (open, (self.path, "w"))


@pytest.mark.parametrize("name", ["evil.mseed", "evil.sac", "evil.AT2", "evil"])
def test_a_pickle_posing_as_a_record_never_runs(tmp_path, name):
  # ObsPy's format detection would unpickle a file holding "obspy.core.stream" (its PICKLE
  # plugin); record targets name their formats, so the payload must not run.
  import pickle
  marker = tmp_path / "pwned"
  evil = tmp_path / name
  evil.write_bytes(pickle.dumps([_Payload(marker), "obspy.core.stream"], protocol=0))
  for spec in (f"record:{evil}", f"file:{evil},unit=g"):
    with pytest.raises(ValueError, match="evil"):
      specs.parse(spec, REC_PERIODS)
  assert not marker.exists()
  # The payload is real: unpickling the file does create the marker.
  pickle.loads(evil.read_bytes())
  assert marker.exists()


def test_no_loader_unpickles_user_files():
  # Every reader of user files names its formats: no pickle module, no allow_pickle=True, no
  # ObsPy read without a format anywhere in the package code.
  import re
  from tests.conftest import REPO_DIR
  problems = []
  for path in sorted(REPO_DIR.glob("cvaegan_jax/*.py")) + sorted(REPO_DIR.glob("data_prep/**/*.py")):
    for i, line in enumerate(path.read_text().splitlines(), 1):
      if (re.search(r"\bimport (c?pickle|dill|joblib)\b|allow_pickle\s*=\s*True|pickle\.loads?\(", line)
          or ("obspy.read(" in line and "format=" not in line)):
        problems.append(f"{path.name}:{i}: {line.strip()}")
  assert not problems, problems


def test_a_flat_record_is_not_a_target(tmp_path, data_dir):
  # Constant counts: after the mean is removed, rounding leaves ~1e-17 m/s^2, which once passed
  # the zero check and gave records of 8e-14 m/s^2 with a misfit of millions of percent.
  src = data_dir / "knet/us2000cnnl/AOM0011801241951.EW"
  lines = src.read_text().splitlines(keepends=True)
  n_data = len(lines) - 17
  flat = tmp_path / src.name
  flat.write_text("".join(lines[:17]) + "".join(["        3        3        3        3        3        3        3  "
                                                 "      3\n"] * n_data))
  with pytest.raises(ValueError, match=r"no motion"):
    specs.parse(f"record:{flat}", REC_PERIODS)
