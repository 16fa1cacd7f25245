"""Prepare the `knet_spectra` data set (array_record by default, no TensorFlow needed).

  python -m data_prep.build --config=simulated --data_dir=data --num_events=120 --seed=0
  python -m data_prep.build --config=knet --manual_dir=/path/to/nied --data_dir=data
  python -m data_prep.build --config=simulated --data_dir=data --pairs   # EW+NS pairs, RotD50/RotD100
  python -m data_prep.build --config=knet --manual_dir=... --file_format=tfrecord   # needs the tf extra

Prints the split sizes and where the QC summary (`qc_summary.json`, `qc_figures.png`) is.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

from absl import app
from absl import flags

from cvaegan_jax import logs
from data_prep.knet_spectra import Builder



def _define_flags():
  """Command-line flags (defined only when run as a program, so importing is free)."""
  f = {}
  f["config"] = flags.DEFINE_enum("config", "simulated", ["simulated", "knet"], "Builder config.")
  f["data_dir"] = flags.DEFINE_string("data_dir", "data", "Where TFDS writes the data set.")
  f["manual_dir"] = flags.DEFINE_string("manual_dir", None, "K-NET/KiK-net files, folders or .tar.gz (config knet).")
  f["num_events"] = flags.DEFINE_integer("num_events", None, "Simulated events (config simulated).")
  f["seed"] = flags.DEFINE_integer("seed", None, "Simulation and split seed.")
  f["picker"] = flags.DEFINE_enum("picker", None, ["aic", "picks_file", "phasenet"], "P picker.")
  f["picker_path"] = flags.DEFINE_string("picker_path", None, "Picks CSV or PhaseNet weights folder.")
  f["pairs"] = flags.DEFINE_bool("pairs", None, "Examples are the two horizontals of one sensor (RotD50/RotD100).")
  f["file_format"] = flags.DEFINE_enum("file_format", "array_record", ["array_record", "tfrecord"], "Shard format.")
  return f


def make_builder(config: str = "simulated", data_dir: str = "data", file_format: str = "array_record", **overrides):
  """A `knet_spectra` builder for a named config with field overrides.

  Overridden configs get their own name (e.g. ``simulated_num_events40_seed1``) so
  differently built data sets never share a folder.

  Args:
    config: 'simulated' or 'knet'.
    data_dir: TFDS data dir.
    file_format: 'array_record' (default) or 'tfrecord' (needs TensorFlow).
    **overrides: fields of :class:`KnetSpectraConfig`, and ``num_samples`` /
      ``sampling_rate_hz`` of its processing (None values are ignored).
  """
  base = {c.name: c for c in Builder.BUILDER_CONFIGS}[config]
  proc = {k: overrides.pop(k) for k in ("num_samples", "sampling_rate_hz") if overrides.get(k) is not None}
  overrides = {k: v for k, v in overrides.items() if v is not None and getattr(base, k) != v}
  proc = {k: v for k, v in proc.items() if getattr(base.processing, k) != v}
  if overrides or proc:
    named = dict(overrides, **proc)
    suffix = "_".join(f"{k}{v}" for k, v in sorted(named.items()) if k not in ("picker_path",))
    name = f"{config}_{suffix}" if suffix else config
    if proc:
      overrides["processing"] = dataclasses.replace(base.processing, **proc)
    cfg = dataclasses.replace(base, name=name, **overrides)
  else:
    cfg = base
  return Builder(config=cfg, data_dir=data_dir, file_format=file_format)


INPUTS_FILE = "inputs.json"  # Beside the shards: what a knet data set was built from.


def input_manifest(manual_dir) -> dict:
  """What a build from ``manual_dir`` reads: ``{relative path: [size in bytes, mtime in s]}`` of
  every file below it (a single file: itself), so that another folder's data set is told apart."""
  root = os.path.abspath(os.fspath(manual_dir))
  if os.path.isfile(root):
    st = os.stat(root)
    return {os.path.basename(root): [st.st_size, int(st.st_mtime)]}
  out = {}
  for dirpath, _, names in os.walk(root):
    for n in sorted(names):
      p = os.path.join(dirpath, n)
      st = os.stat(p)
      out[os.path.relpath(p, root)] = [st.st_size, int(st.st_mtime)]
  return out


def _check_inputs(builder, manual_dir) -> None:
  """Refuse a prepared knet data set built from other inputs than ``manual_dir``'s."""
  path = os.path.join(os.fspath(builder.data_dir), INPUTS_FILE)
  if not manual_dir or not os.path.exists(path):
    return
  with open(path) as f:
    saved = json.load(f)
  now = input_manifest(manual_dir)
  if saved.get("files") != now:
    changed = sorted(set(saved.get("files", {})) ^ set(now)) or sorted(
        k for k in now if saved["files"].get(k) != now[k])
    raise ValueError(
        f"the data set in {builder.data_dir} was built from {saved.get('manual_dir')!r} "
        f"({len(saved.get('files', {}))} files), not from {os.fspath(manual_dir)!r} ({len(now)} files; "
        f"differing: {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}): use another --data_dir, "
        f"or delete {builder.data_dir} to rebuild")


def build(config="simulated", data_dir="data", manual_dir=None, file_format="array_record", **overrides):
  """Prepare the data set and return the builder (its `.info.splits` has the sizes).

  A knet data set remembers its inputs (``inputs.json``: names, sizes, times of the files of
  ``manual_dir``); asking for it again with other inputs raises ValueError instead of
  returning the old data set.
  """
  import tensorflow_datasets as tfds

  builder = make_builder(config, data_dir, file_format, **overrides)
  if builder.is_prepared():
    _check_inputs(builder, manual_dir)
    return builder
  dl_config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
  builder.download_and_prepare(download_config=dl_config)
  if manual_dir:
    with open(os.path.join(os.fspath(builder.data_dir), INPUTS_FILE), "w") as f:
      json.dump({"manual_dir": os.path.abspath(os.fspath(manual_dir)), "files": input_manifest(manual_dir)}, f)
  return builder


def builder_from_config(data_config):
  """The `knet_spectra` builder a project config's ``data`` section names (nothing is built).

  Fields used: builder_config, data_dir, manual_dir, num_events, seed and, when present,
  num_periods, t_min_s, t_max_s, damping, num_samples, sampling_rate_hz, pairs (see ``configs/``).

  Raises:
    ValueError: builder_config "knet" without ``manual_dir``.
  """
  if data_config.builder_config != "simulated" and not data_config.manual_dir:
    raise ValueError("config.data.manual_dir must name the K-NET/KiK-net archive folder for builder_config 'knet'")
  return make_builder(data_config.builder_config, data_config.data_dir, **_build_overrides(data_config))


def _build_overrides(data_config) -> dict:
  """The builder-config overrides of a ``config.data`` (see :func:`make_builder`)."""
  overrides = {"seed": data_config.seed}
  for field in ("num_periods", "t_min_s", "t_max_s", "damping", "num_samples", "sampling_rate_hz", "pairs"):
    if field in data_config:
      overrides[field] = data_config[field]
  if data_config.builder_config == "simulated":
    overrides["num_events"] = data_config.num_events
  return overrides


def build_from_config(data_config):
  """Prepare the data set a project config's ``data`` section names (if not yet); log where it is."""
  kind = data_config.builder_config
  b = builder_from_config(data_config)
  if b.is_prepared():
    _check_inputs(b, data_config.manual_dir)
    logging.info("data set %s already prepared in %s", b.info.full_name, b.data_dir)
  else:
    logging.info("preparing data set %s in %s (%s)", b.info.full_name, b.data_dir,
                 "simulating raw K-NET files first" if kind == "simulated" else f"from {data_config.manual_dir}")
    b = build(kind, data_config.data_dir, data_config.manual_dir or None, **_build_overrides(data_config))
  sizes = {name: s.num_examples for name, s in b.info.splits.items()}
  print(f"data set {b.info.full_name} in {b.data_dir}: {sizes}")
  return b


@logs.cli_errors
def main(argv, f):
  del argv
  b = build(f["config"].value, f["data_dir"].value, f["manual_dir"].value, f["file_format"].value,
            num_events=f["num_events"].value, seed=f["seed"].value, picker=f["picker"].value,
            picker_path=f["picker_path"].value, pairs=f["pairs"].value)
  sizes = {name: s.num_examples for name, s in b.info.splits.items()}
  print(f"{b.info.full_name} in {b.data_dir}: {sizes}")
  qc = os.path.join(os.fspath(b.data_dir), "qc_summary.json")
  if os.path.exists(qc):
    print(f"QC summary: {qc}")


if __name__ == "__main__":
  _flag_values = _define_flags()
  app.run(lambda argv: main(argv, _flag_values))
