"""The quickstart job end to end: real records in, spectra CSV and figure out."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from cvaegan_jax import evaluate, exports, fit, spectra
from tests.conftest import DATA_DIR, REPO_DIR


def quickstart_config():
  sys.path.insert(0, str(REPO_DIR))
  from configs import quickstart
  return quickstart.get_config()


def test_record_spectra_report(tmp_path):
  out = evaluate.record_spectra_report(quickstart_config(), str(tmp_path), str(DATA_DIR))
  recs = out["records"]
  # 9 + 2 K-NET stations and 2 KiK-net surface sensors, two horizontal components each.
  assert len(recs) == 26 and not out["skipped"]
  assert {r.component for r in recs} == {"EW", "NS"} and not any(r.borehole for r in recs)
  assert sum(r.network == "KiK-net" for r in recs) == 4
  with open(out["csv_path"]) as f:
    rows = list(csv.reader(f))
  assert len(rows) == 27 and len(rows[0]) == 8 + 100
  psa = out["psa_ms2"]
  # Each station's EW against its NS and back: 13 stations, 26 ordered pairs, scored as
  # generated records are.
  by_station = {}
  for rec, row in zip(recs, psa):
    by_station.setdefault((rec.event_id, rec.station), {})[rec.component] = row
  t = np.stack([d[c] for d in by_station.values() for c in ("EW", "NS")])
  o = np.stack([d[c] for d in by_station.values() for c in ("NS", "EW")])
  ok = fit.paper_criterion(fit.spectral_r2(t, o), fit.spectral_rmse(t, o))
  pairs = out["component_pairs"]
  assert pairs["num_pairs"] == 26 and pairs["num_stations"] == 13
  assert pairs["paper_criterion_share"] == pytest.approx(float(np.mean(ok)))
  # Row values equal a direct computation for one record.
  r = recs[5]
  direct = np.asarray(spectra.response_spectrum((r.accel_ms2 - r.accel_ms2.mean()).astype(np.float32), r.dt,
                                                out["periods_s"]))
  np.testing.assert_allclose(psa[5], direct, rtol=1e-6)
  np.testing.assert_allclose([float(v) for v in rows[6][8:]], direct, rtol=1e-5)
  # At 0.01 s (= dt) an oscillator nearly follows the ground: PSA is close to the PGA.
  pga = np.array([x.pga_ms2 for x in recs])
  np.testing.assert_allclose(psa[:, 0], pga, rtol=0.1)
  assert (tmp_path / "spectra.png").stat().st_size > 20_000


def test_main_cli_runs_quickstart(tmp_path):
  data_dir = tmp_path / "data"
  proc = subprocess.run(
      [sys.executable, "-m", "cvaegan_jax.main", f"--config={REPO_DIR / 'configs/quickstart.py'}",
       "--mode=quickstart", f"--records_dir={DATA_DIR / 'knet/usb000syza'}", f"--config.data.data_dir={data_dir}",
       "--config.data.num_events=6", "--config.training.num_steps=3", "--config.training.log_every=1",
       "--config.training.batch_size=8", "--config.evaluate.max_examples=2",
       "--config.evaluate.samples_per_target=1", f"--workdir={tmp_path}"],
      capture_output=True, text=True, cwd=REPO_DIR, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "4 records, 0 skipped" in proc.stdout
  assert (tmp_path / "spectra.csv").exists() and (tmp_path / "spectra.png").exists()
  # The prepare step built the simulated data set where the config said.
  assert "data set knet_spectra/simulated_num_events6/1.0.0" in proc.stdout
  assert list(data_dir.glob("knet_spectra/simulated_num_events6/1.0.0/*train.array_record*"))
  assert (data_dir / "downloads/simulated_raw_n6_seed0/onsets.csv").exists()
  # The train step ran, logged and checkpointed.
  assert (tmp_path / "checkpoints/3").is_dir() and (tmp_path / "metrics.jsonl").read_text().count('"split": "train"') == 3
  # The evaluate step wrote the paper's metrics per split.
  report = json.loads((tmp_path / "evaluation/report.json").read_text())
  assert report["checkpoint_step"] == 3 and set(report["splits"]) == {"test", "ood_low", "ood_high"}
  # The generate step wrote an EC8 suite of 11 records that reads back, checked and plotted.
  suite = json.loads((tmp_path / "generated/suite.json").read_text())
  assert suite["num"] == 11 and suite["check"]["rule"] == "ec8"
  at2 = sorted((tmp_path / "generated").glob("*.AT2"))
  assert len(at2) == 11
  accel, dt, _ = exports.read_at2(at2[0])
  npz = np.load(next((tmp_path / "generated").glob("*.npz")))
  np.testing.assert_array_equal(accel.astype(np.float32), npz["accel_ms2"][0])
  assert (tmp_path / "generated/suite.png").stat().st_size > 20_000
  # And 11 pairs of horizontal components for the ASCE 7 target, checked on their RotD100.
  pairs = json.loads((tmp_path / "generated/pairs/suite.json").read_text())
  assert pairs["num"] == 11 and pairs["percentile"] == 100.0 and len(pairs["component_correlation"]) == 11
  assert pairs["check"]["rule"] == "asce7-16" and pairs["check"]["spectrum"] == "RotD100"
  assert len(list((tmp_path / "generated/pairs").glob("*_H2.AT2"))) == 11


def test_main_rejects_misspelt_config_field(tmp_path):
  proc = subprocess.run(
      [sys.executable, "-m", "cvaegan_jax.main", f"--config={REPO_DIR / 'configs/quickstart.py'}",
       "--config.data.dampng=0.02", f"--workdir={tmp_path}"],
      capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
  assert proc.returncode != 0 and "dampng" in proc.stderr


def test_cli_errors_are_one_line_unless_verbosity_asks(tmp_path):
  # A workdir that was never trained, evaluated: the library raises FileNotFoundError; the
  # command prints one line and exits 1, with the traceback only under --verbosity=1.
  cmd = [sys.executable, "-m", "cvaegan_jax.main", f"--config={REPO_DIR / 'configs/quickstart.py'}",
         "--mode=evaluate", f"--workdir={tmp_path}"]
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "config.json" in last and str(tmp_path) in last
  proc = subprocess.run(cmd + ["--verbosity=1"], capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
  assert proc.returncode == 1 and "Traceback" in proc.stderr and "FileNotFoundError" in proc.stderr


def test_missing_records_dir_is_a_clear_error(tmp_path):
  cfg = quickstart_config()
  with pytest.raises(FileNotFoundError, match="records_dir .*nope.* is not a directory"):
    evaluate.record_spectra_report(cfg, str(tmp_path), str(tmp_path / "nope"))
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match="holds no K-NET/KiK-net files"):
    evaluate.record_spectra_report(cfg, str(tmp_path), str(tmp_path / "empty"))


def test_bad_file_is_skipped_and_counted(tmp_path):
  src = DATA_DIR / "knet/usb000syza"
  d = tmp_path / "recs"
  d.mkdir()
  for p in src.iterdir():
    (d / p.name).write_bytes(p.read_bytes())
  (d / "BAD0011412312349.EW").write_text("Origin Time       garbage\n")
  out = evaluate.record_spectra_report(quickstart_config(), str(tmp_path / "w"), str(d))
  assert len(out["records"]) == 4
  assert len(out["skipped"]) == 1 and "BAD0011412312349.EW" in out["skipped"][0][0]
