"""What the benchmarks that need a trained model share."""

from __future__ import annotations

import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from cvaegan_jax import sampling  # noqa: E402


def load_generator(workdir: str) -> sampling.Generator:
  """The generator of ``workdir`` (relative to the repo root), or exit with what to run first.

  Changes into the repo root: configs name their data_dir relative to it (where
  `make quickstart` runs).
  """
  os.chdir(ROOT)
  try:
    return sampling.Generator.from_workdir(workdir)
  except FileNotFoundError as e:
    sys.exit(f"error: {e}\nNo trained model in {workdir}: run `make quickstart` first"
             + ("" if os.path.normpath(workdir) == os.path.normpath("workdirs/quickstart")
                else f" (`make quickstart WORKDIR={workdir}`)") + ", then rerun this benchmark.")


def timed(fn):
  """(result, seconds) of one call; every method returns NumPy arrays, so it has finished."""
  t0 = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - t0
