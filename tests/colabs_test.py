"""Both Colab notebooks run top to bottom (tiny setting) and leave what a user relies on."""

import json

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from cvaegan_jax import exports
from tests.conftest import REPO_DIR


def run_notebook(name: str, overrides: dict, tmp_path):
  """Execute ``colabs/<name>`` with a cell of ``overrides`` after its parameters cell."""
  nb = nbformat.read(REPO_DIR / "colabs" / name, as_version=4)
  idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
  nb.cells.insert(idx + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in overrides.items())))
  NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO_DIR)}}).execute()
  nbformat.write(nb, tmp_path / name)  # Kept for inspection when a later assertion fails.
  return nb


def outputs_text(nb) -> str:
  return "\n".join(o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_quickstart_notebook(tmp_path):
  wd = tmp_path / "wd"
  nb = run_notebook("quickstart.ipynb", dict(WORKDIR=str(wd), NUM_EVENTS=6, NUM_STEPS=3, BATCH_SIZE=8,
                                              NUM_RECORDS=3), tmp_path)
  assert (wd / "checkpoints" / "3").is_dir()
  at2 = sorted((wd / "suite_ec8").glob("*.AT2"))
  assert len(at2) == 3
  accel, dt, _ = exports.read_at2(at2[0])
  npz = np.load(next((wd / "suite_ec8").glob("*.npz")))
  np.testing.assert_array_equal(accel.astype(np.float32), npz["accel_ms2"][0])
  assert dt == pytest.approx(0.01)
  assert len(list((wd / "suite_file").glob("*.AT2"))) == 3
  assert (wd / "suite_ec8" / "suite.png").stat().st_size > 20_000
  images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
  assert len(images) == 3  # Training samples, EC8 suite, file suite.
  assert "trained to step 3" in outputs_text(nb)


def test_train_tpu_notebook(tmp_path):
  wd = tmp_path / "wd"
  nb = run_notebook("train_tpu.ipynb", dict(WORKDIR=str(wd), DATA_DIR=str(tmp_path / "data"), NUM_EVENTS=6,
                                             BATCH_PER_DEVICE=2, NUM_STEPS=2, TINY_MODEL=True), tmp_path)
  text = outputs_text(nb)
  # The test process forces 4 CPU devices: the global batch follows the runtime.
  assert "4 x cpu; global batch 8" in text
  assert (wd / "checkpoints" / "2").is_dir() and (wd / "evaluation" / "report.json").exists()
  archive = tmp_path / "checkpoint.zip"
  assert archive.exists() and archive.stat().st_size > 10_000
