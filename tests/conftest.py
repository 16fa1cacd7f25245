"""Shared test setup: 4 forced CPU devices (set before JAX is imported) and data paths."""

import importlib.util
import os
import pathlib

DATA_DIR = pathlib.Path(__file__).parent / "data"
REPO_DIR = pathlib.Path(__file__).parent.parent

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Compiled programs are kept on disk and shared by every process of the run (xdist workers,
# the CLI test's subprocess, the notebooks' kernels): the tests compile the same tiny train
# step many times, at 16-20 s a compile on a 2-core CPU. The cache key holds the program,
# the compile options and the JAX version, so a stale entry is never used.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_DIR.resolve() / ".pytest_cache" / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import pytest  # noqa: E402


def load_benchmark(name: str):
  """The module ``benchmarks/<name>.py`` (benchmarks are scripts, not a package)."""
  spec = importlib.util.spec_from_file_location(f"benchmark_{name}", REPO_DIR / "benchmarks" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
  return DATA_DIR


@pytest.fixture(scope="session")
def knet_record():
  """A real K-NET record (M6.2 off Aomori, AOM008 NS, 100 Hz)."""
  from data_prep import knet
  return knet.read_knet_file(DATA_DIR / "knet/us2000cnnl/AOM0081801241951.NS")


@pytest.fixture(scope="session")
def kiknet_record():
  """A real KiK-net surface record (M2.4 Nagano, NGNH35 EW2, 100 Hz)."""
  from data_prep import knet
  return knet.read_knet_file(DATA_DIR / "kiknet/usp000hzq8/NGNH351106302345.EW2")
