"""The knet_spectra data set: simulated and real builds, splits, QC, formats, Beam."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from cvaegan_jax import spectra
from data_prep import aic_picker, build, picking, pipeline
from tests.conftest import DATA_DIR, REPO_DIR

NUM_EVENTS = 10


def read_all(builder):
  """{split: list of examples} through tfds.data_source (array_record, no TensorFlow)."""
  sources = builder.as_data_source()
  return {name: [src[i] for i in range(len(src))] for name, src in sources.items()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
  d = tmp_path_factory.mktemp("sim")
  b = build.build("simulated", str(d), num_events=NUM_EVENTS, seed=0)
  return b, read_all(b)


def test_simulated_splits_are_by_event_and_by_magnitude(simulated):
  builder, data = simulated
  assert set(data) == set(pipeline.SPLITS)
  events = {s: {ex["event_id"] for ex in exs} for s, exs in data.items()}
  for a in pipeline.SPLITS:
    assert events[a], a
    for b in pipeline.SPLITS:
      if a < b:
        assert not events[a] & events[b], (a, b)
  for s, exs in data.items():
    mags = np.array([ex["magnitude"] for ex in exs])
    if s == "ood_low":
      assert np.all(mags < 4.5)
    elif s == "ood_high":
      assert np.all(mags > 7.5)
    else:
      assert np.all((mags >= 4.5) & (mags <= 7.5))


def test_examples_hold_window_spectrum_and_metadata(simulated):
  builder, data = simulated
  c = builder.builder_config
  periods = np.asarray(builder.info.metadata["periods_s"])
  np.testing.assert_allclose(periods, spectra.log_periods(0.01, 10.0, 100))
  exs = data["train"][:8]
  wave = np.stack([ex["waveform"] for ex in exs])
  assert wave.shape == (len(exs), c.processing.num_samples) and wave.dtype == np.float32
  psa = np.asarray(spectra.response_spectrum(wave, 1 / c.processing.sampling_rate_hz, periods))
  np.testing.assert_allclose(np.stack([ex["spectrum"] for ex in exs]), psa, rtol=1e-5)
  np.testing.assert_allclose(np.stack([ex["log10_spectrum"] for ex in exs]), np.log10(psa), atol=1e-5)
  for ex in exs:
    assert ex["component"].decode() in ("EW", "NS") and not ex["borehole"]
    assert ex["network"].decode() == "K-NET"
    assert ex["pick_offset_s"] == pytest.approx(c.processing.pre_p_s, abs=0.006)
    assert ex["pga_ms2"] == pytest.approx(np.max(np.abs(ex["waveform"])), rel=1e-6)
    assert 10 <= ex["dist_km"] <= 310 and ex["snr"] >= c.processing.min_snr
    assert ex["sampling_rate_hz"] == 100.0


def test_qc_summary_counts_match_the_splits(simulated):
  builder, data = simulated
  qc = json.loads((pathlib.Path(builder.data_dir) / "qc_summary.json").read_text())
  assert qc["kept"] == {s: len(v) for s, v in data.items()}
  assert sum(qc["skipped_by_reason"].values()) == len(qc["skipped"])
  assert set(qc["skipped_by_reason"]) <= {"low_pga", "low_snr", "no_pick", "too_short", "clipped", "nan",
                                          "no_pre_event", "unreadable"}
  assert qc["processing"]["num_samples"] == 3000
  assert (pathlib.Path(builder.data_dir) / "qc_figures.png").stat().st_size > 30_000


def test_same_seed_gives_identical_shards(simulated, tmp_path):
  builder, _ = simulated
  again = build.build("simulated", str(tmp_path), num_events=NUM_EVENTS, seed=0)
  shards = sorted(p.name for p in pathlib.Path(builder.data_dir).glob("*.array_record*"))
  assert shards
  for name in shards:
    a = (pathlib.Path(builder.data_dir) / name).read_bytes()
    b = (pathlib.Path(again.data_dir) / name).read_bytes()
    assert a == b, name


def test_aic_picker_on_simulated_onsets(simulated):
  builder, _ = simulated
  raw = next(pathlib.Path(builder.data_dir).parents[2].glob("downloads/simulated_raw_*"))
  with open(raw / "onsets.csv") as f:
    onsets = {row["file"].rsplit(".", 1)[0]: float(row["p_onset_s"]) for row in csv.DictReader(f)}
  groups, _ = pipeline.discover(str(raw))
  picker = aic_picker.AicPicker()
  errors, failed = [], 0
  for g in groups:
    recs, _ = pipeline.read_group(g)
    key = os.path.relpath(g.sources[0].path, raw).rsplit(".", 1)[0]
    try:
      errors.append(abs(picker.pick(recs).offset_s - onsets[key]))
    except picking.PickError:
      failed += 1
  errors = np.array(errors + [np.inf] * failed)
  assert errors.size >= 30
  assert np.median(errors) <= 0.05
  assert np.mean(errors <= 0.3) >= 0.95


def copy_tree(src, dst):
  dst.mkdir(parents=True, exist_ok=True)
  for p in src.iterdir():
    shutil.copy(p, dst / p.name)


@pytest.fixture(scope="module")
def messy_manual_dir(tmp_path_factory):
  """Real records, one event as a NIED-style .tar.gz, plus bad files of every kind."""
  d = tmp_path_factory.mktemp("manual")
  copy_tree(DATA_DIR / "knet/usb000syza", d / "usb000syza")
  with tarfile.open(d / "20180124195100.knt.tar.gz", "w:gz") as tar:
    for p in sorted((DATA_DIR / "knet/us2000cnnl").glob("AOM00[1-3]*")):
      tar.add(p, arcname=f"20180124195100.knt/{p.name}")
  copy_tree(DATA_DIR / "kiknet/usp000hzq8", d / "kik")
  lines = (DATA_DIR / "knet/usb000syza/CHB0021412312349.EW").read_text().splitlines(True)
  bad = d / "bad"
  bad.mkdir()
  (bad / "TRC0011412312349.EW").write_text("".join(lines[:200]))  # truncated
  (bad / "NUM0011412312349.EW").write_text("".join(lines[:30] + ["  12 abc 3\n"] + lines[31:]))
  (bad / "HDR0011412312349.EW").write_text("".join(lines[:4] + lines[5:]))  # header line missing
  (bad / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 not gzip")
  return d


def test_knet_build_skips_bad_inputs_and_keeps_good_ones(messy_manual_dir, tmp_path):
  b = build.build("knet", str(tmp_path), manual_dir=str(messy_manual_dir))
  data = read_all(b)
  stations = {ex["station"].decode() for exs in data.values() for ex in exs}
  assert {"CHB002", "CHB003", "AOM001", "AOM002", "AOM003"} <= stations
  # The M6.2 event is the only in-range one: all of it in train.
  assert {ex["event_id"].decode() for ex in data["train"]} == {"20180124105100_41.000_142.500_30"}
  qc = json.loads((pathlib.Path(b.data_dir) / "qc_summary.json").read_text())
  skipped = {pathlib.Path(s["file"].split(":")[0]).name: s["reason"] for s in qc["skipped"]}
  assert "broken.tar.gz" in skipped and "corrupt" in skipped["broken.tar.gz"]
  for name, why in [("TRC0011412312349.EW", "truncated"), ("NUM0011412312349.EW", "non-numeric"),
                    ("HDR0011412312349.EW", "header")]:
    assert why in skipped[name], (name, skipped[name])
  assert qc["skipped_by_reason"]["unreadable"] >= 4
  # Archive members carry the archive in their source name.
  assert any(":" in ex["source_file"].decode() for ex in data["train"])
  # KiK-net: only surface sensors by default.
  kik = [ex for exs in data.values() for ex in exs if ex["network"].decode() == "KiK-net"]
  assert all(not ex["borehole"] for ex in kik)


def test_knet_build_without_tensorflow(tmp_path):
  # TensorFlow is invisible, as on a machine without the tf extra: the path finder
  # answers "not found" for it (so importlib.util.find_spec returns None too).
  code = (
      "import sys, importlib.machinery as m\n"
      "class NoTF:\n"
      "  @staticmethod\n"
      "  def find_spec(name, path=None, target=None):\n"
      "    if name == 'tensorflow' or name.startswith('tensorflow.'):\n"
      "      return None\n"
      "    return m.PathFinder.find_spec(name, path, target)\n"
      "  find_distributions = staticmethod(m.PathFinder.find_distributions)\n"
      "  invalidate_caches = staticmethod(m.PathFinder.invalidate_caches)\n"
      "sys.meta_path = [NoTF if f is m.PathFinder else f for f in sys.meta_path]\n"
      "from data_prep import build\n"
      f"b = build.build('knet', {str(tmp_path)!r}, manual_dir={str(DATA_DIR / 'knet/usb000syza')!r})\n"
      "src = b.as_data_source()['ood_low']\n"
      "print('examples', len(src), 'tf', 'tensorflow' in sys.modules)\n")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_DIR, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "examples 4 tf False" in proc.stdout


def test_tfds_cli_builds_tfrecord(tmp_path):
  pytest.importorskip("tensorflow")
  manual = tmp_path / "manual"
  copy_tree(DATA_DIR / "knet/usb000syza", manual)
  tfds_cli = pathlib.Path(sys.executable).parent / "tfds"
  proc = subprocess.run(
      [str(tfds_cli), "build", str(REPO_DIR / "data_prep/knet_spectra"), "--config=knet",
       f"--manual_dir={manual}", f"--data_dir={tmp_path / 'data'}", "--file_format=tfrecord"],
      capture_output=True, text=True, cwd=REPO_DIR, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  shards = list((tmp_path / "data").rglob("*.tfrecord*"))
  assert shards
  import tensorflow_datasets as tfds
  ds = tfds.load("knet_spectra/knet", split="ood_low", data_dir=str(tmp_path / "data"), download=False)
  exs = list(tfds.as_numpy(ds))
  assert len(exs) == 4 and exs[0]["waveform"].shape == (3000,)


def test_beam_direct_runner_matches_python_build(tmp_path):
  beam = pytest.importorskip("apache_beam")
  import tensorflow_datasets as tfds
  manual = str(DATA_DIR / "knet/usb000syza")
  plain = build.make_builder("knet", str(tmp_path / "plain"))
  plain.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
  # Beam gets the same records twice (the folder and an archive of it): each is kept once.
  twice = tmp_path / "twice"
  copy_tree(DATA_DIR / "knet/usb000syza", twice / "usb000syza")
  with tarfile.open(twice / "20141231234900.knt.tar.gz", "w:gz") as tar:
    for p in sorted((DATA_DIR / "knet/usb000syza").iterdir()):
      tar.add(p, arcname=f"20141231234900.knt/{p.name}")
  beamed = build.make_builder("knet", str(tmp_path / "beam"))
  opts = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner", "--direct_num_workers=1"])
  beamed.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(twice), beam_options=opts))
  a, b = read_all(plain), read_all(beamed)
  key = lambda ex: (ex["station"], ex["component"])
  a_sorted = sorted(a["ood_low"], key=key)
  b_sorted = sorted(b["ood_low"], key=key)
  assert len(a_sorted) == len(b_sorted) == 4
  for x, y in zip(a_sorted, b_sorted):
    np.testing.assert_array_equal(x["waveform"], y["waveform"])
    np.testing.assert_array_equal(x["spectrum"], y["spectrum"])


def test_picks_file_is_honoured_by_the_build(tmp_path):
  manual = tmp_path / "manual"
  copy_tree(DATA_DIR / "knet/usb000syza", manual)
  from data_prep import knet
  rows = []
  for f in sorted(manual.glob("*.UD")):
    r = knet.read_knet_file(f)
    rows.append({"station_id": f"BO.{r.station}..HN", "phase_time": str(r.start_time + 10.0)[:-1],
                 "phase_score": 0.9, "phase_type": "P"})
  picks = tmp_path / "picks.csv"
  with open(picks, "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
  b = build.build("knet", str(tmp_path / "d"), manual_dir=str(manual), picker="picks_file", picker_path=str(picks))
  exs = read_all(b)["ood_low"]
  assert len(exs) == 4
  for ex in exs:
    start = knet.read_knet_file(manual / pathlib.Path(ex["source_file"].decode()).name).start_time
    # The window starts pre_p_s before the file's pick.
    assert ex["pick_time_utc"].decode().startswith(str(start + 10.0)[:19])


def test_a_data_set_refuses_to_stand_in_for_other_inputs(tmp_path):
  # Built from folder A, then asked for with folder B in the same data_dir: it used to return
  # A's data set (2 examples instead of 18), exit 0, no warning.
  import shutil
  a, b = tmp_path / "A", tmp_path / "B"
  shutil.copytree(DATA_DIR / "knet/usb000syza", a)
  shutil.copytree(DATA_DIR / "knet/us2000cnnl", b)
  data = tmp_path / "data"
  built = build.build("knet", str(data), manual_dir=str(a))
  again = build.build("knet", str(data), manual_dir=str(a))  # Same inputs: the same data set.
  assert again.info.splits.total_num_examples == built.info.splits.total_num_examples
  with pytest.raises(ValueError, match=r"was built from .*A.* not from .*B"):
    build.build("knet", str(data), manual_dir=str(b))
  (a / "CHB0021412312349.EW").write_bytes(b"changed")  # A file of A changed since.
  with pytest.raises(ValueError, match="CHB0021412312349.EW"):
    build.build("knet", str(data), manual_dir=str(a))


def test_build_keeps_every_good_record_past_empty_splits_duplicates_and_a_bad_vertical(tmp_path):
  # Issue 23, cases 2, 4 and 8, on real records:
  # - the M4.2 event's files are all flat (a split of its own, ood_low, with nothing kept): it
  #   used to abort the build ("every record of split 'ood_low' was skipped"), losing the rest;
  # - the M6.2 event's AOM001-3 also sit in an archive beside the unpacked files: the build
  #   died on TFDS's "Two examples share the same hashed key!";
  # - AOM004's vertical holds a NaN: its good horizontals went as `no_pick`, the reason unsaid.
  manual = tmp_path / "manual"
  copy_tree(DATA_DIR / "knet/us2000cnnl", manual / "m62")
  with tarfile.open(manual / "20180124195100.knt.tar.gz", "w:gz") as tar:
    for p in sorted((DATA_DIR / "knet/us2000cnnl").glob("AOM00[1-3]*")):
      tar.add(p, arcname=f"20180124195100.knt/{p.name}")
  flat = manual / "m42"
  flat.mkdir()
  for p in sorted((DATA_DIR / "knet/usb000syza").iterdir()):
    lines = p.read_text().splitlines(True)
    flat.joinpath(p.name).write_text("".join(lines[:17] + ["       0" * 8 + "\n"] * (len(lines) - 17)))
  ud = manual / "m62" / "AOM0041801241951.UD"
  lines = ud.read_text().splitlines(True)
  ud.write_text("".join(lines[:40] + ["     nan" * 8 + "\n"] + lines[41:]))
  # Case 5: one station's headers say M7.9 (a typo): the event's split followed the last
  # header read (M6.2 went to ood_high); now the stations' most common magnitude decides.
  for p in (manual / "m62").glob("AOM005*"):
    p.write_text(p.read_text().replace("Mag.              6.2", "Mag.              7.9"))
  b = build.build("knet", str(tmp_path / "data"), manual_dir=str(manual))
  data = read_all(b)
  assert "ood_low" not in data and "ood_high" not in data
  good = build.build("knet", str(tmp_path / "data_good"), manual_dir=str(DATA_DIR / "knet/us2000cnnl"))
  expected = sorted(ex["station"].decode() + ex["component"].decode() for ex in read_all(good)["train"])
  got = sorted(ex["station"].decode() + ex["component"].decode() for ex in data["train"])
  assert got == expected and {"AOM004EW", "AOM004NS"} <= set(got)  # Every good record, once.
  qc = json.loads((pathlib.Path(b.data_dir) / "qc_summary.json").read_text())
  duplicates = [s for s in qc["skipped"] if s["reason"].startswith("duplicate")]
  assert len(duplicates) == 6 and all("the same record as" in s["reason"] for s in duplicates)
  assert qc["skipped_by_reason"]["duplicate"] == 6
  assert qc["inconsistent_events"] == [{"event_id": "20180124105100_41.000_142.500_30", "magnitude": 6.2,
                                        "headers": {"6.2": 8, "7.9": 1}}]
  flat_reasons = [s["reason"] for s in qc["skipped"] if s["split"] == "ood_low"]
  # Both stations' horizontals, each with the picker's message (it used to say "no_pick" only).
  assert len(flat_reasons) == 4 and all(r.startswith("no_pick: station CHB00") and "flat trace" in r
                                        for r in flat_reasons)


def test_beam_build_leaves_out_a_split_with_nothing_kept(tmp_path):
  # TFDS refuses a Beam split that yields nothing ("The total number of generated examples is 0
  # for split ood_low"): the flat M4.2 event's split is left out, the good records are built.
  beam = pytest.importorskip("apache_beam")  # The beam extra: installed by `make test`.
  import tensorflow_datasets as tfds
  manual = tmp_path / "manual"
  (manual / "good").mkdir(parents=True)
  for p in sorted((DATA_DIR / "knet/us2000cnnl").glob("AOM00[1-2]*")):
    shutil.copy(p, manual / "good" / p.name)
  (manual / "flat").mkdir()
  for p in sorted((DATA_DIR / "knet/usb000syza").iterdir()):
    lines = p.read_text().splitlines(True)
    (manual / "flat" / p.name).write_text("".join(lines[:17] + ["       0" * 8 + "\n"] * (len(lines) - 17)))
  b = build.make_builder("knet", str(tmp_path / "beam"))
  opts = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner", "--direct_num_workers=1"])
  b.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual), beam_options=opts))
  assert {k: v.num_examples for k, v in b.info.splits.items()} == {"train": 4}


def test_pairs_are_the_single_components_side_by_side_with_their_rotd_spectra(tmp_path):
  """`pairs=True`: one example per sensor, waveform [2, n] = that sensor's EW and NS examples of
  the single-component build (same pick, same window), spectrum = their RotD50, rotd100_spectrum
  = their RotD100; a component whose other horizontal is missing is skipped as no_pair."""
  manual = tmp_path / "raw"
  shutil.copytree(DATA_DIR / "knet/us2000cnnl", manual)
  (manual / "AOM0021801241951.NS").unlink()  # AOM002 keeps its EW alone: no pair.
  singles = {(ex["station"].decode(), ex["component"].decode()): ex
             for exs in read_all(build.build("knet", str(tmp_path / "one"), manual_dir=str(manual))).values()
             for ex in exs}
  b = build.build("knet", str(tmp_path / "two"), manual_dir=str(manual), pairs=True)
  pairs = [ex for exs in read_all(b).values() for ex in exs]
  stations = {s for s, c in singles if c == "NS"}
  assert sorted(ex["station"].decode() for ex in pairs) == sorted(stations)
  assert "AOM002" not in stations and ("AOM002", "EW") in singles
  meta = b.info.metadata
  for ex in pairs:
    st = ex["station"].decode()
    ew, ns = singles[(st, "EW")], singles[(st, "NS")]
    assert ex["waveform"].shape == (2, ew["waveform"].size) and ex["component"].decode() == "EW+NS"
    np.testing.assert_array_equal(ex["waveform"][0], ew["waveform"])
    np.testing.assert_array_equal(ex["waveform"][1], ns["waveform"])
    assert ex["pick_offset_s"] == ew["pick_offset_s"] == ns["pick_offset_s"]
    assert ex["pga_ms2"] == max(ew["pga_ms2"], ns["pga_ms2"])
    dt = 1.0 / meta["sampling_rate_hz"]
    rotd = np.asarray(spectra.rotd_spectrum(ex["waveform"], dt, meta["periods_s"], percentiles=(50.0, 100.0)))
    np.testing.assert_allclose(ex["spectrum"], rotd[0], rtol=1e-5)
    np.testing.assert_allclose(ex["rotd100_spectrum"], rotd[1], rtol=1e-4)  # 180 angles lie <= 4e-5 below.
    np.testing.assert_allclose(ex["component_spectra"], np.stack([ew["spectrum"], ns["spectrum"]]), rtol=1e-6)
    # A maximum-direction spectrum is at least either component's own PSA.
    assert np.all(ex["rotd100_spectrum"] >= np.maximum(ew["spectrum"], ns["spectrum"]) * (1 - 1e-5))
  qc = json.loads((pathlib.Path(b.data_dir) / "qc_summary.json").read_text())
  lone = [s for s in qc["skipped"] if s["reason"].startswith("no_pair")]
  assert [pathlib.Path(s["file"]).name for s in lone] == ["AOM0021801241951.EW"]
  with pytest.raises(ValueError, match="two horizontals"):
    build.make_builder("knet", str(tmp_path / "bad"), pairs=True, components=("EW", "UD")).info
