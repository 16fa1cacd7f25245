"""Command line: ``python -m cvaegan_jax.main --config=configs/base.py --workdir=W [--mode=...]``.

Flags pick a config file (fields overridable as ``--config.training.num_steps=100``; a
misspelt field is an error), a working directory and a job; each job is one call:

  spectra   response spectra of real K-NET/KiK-net records (``--records_dir``)
  prepare   build the data set ``config.data`` names (skipped when already there)
  train     prepare, then train (resuming from the workdir's last checkpoint)
  evaluate  the paper's metrics and realism per split -> WORKDIR/evaluation/
  generate  a suite for ``config.generate.target`` -> WORKDIR/generated/ (and pairs for
            ``generate.pairs_target`` -> WORKDIR/generated/pairs/)
  quickstart  spectra, prepare, train, evaluate and generate, in that order
"""

import os

from absl import app
from absl import flags
from ml_collections import config_flags

from cvaegan_jax import evaluate, logs, suites, train
from data_prep import build

_MODES = ("spectra", "prepare", "train", "evaluate", "generate", "quickstart")
_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file (configs/*.py).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for outputs (created if missing).")
_MODE = flags.DEFINE_enum("mode", "train", _MODES, "Job to run (see the module docstring).")
_RECORDS_DIR = flags.DEFINE_string("records_dir", "tests/data", "Real K-NET/KiK-net records for mode spectra.")
_COMPONENTS = flags.DEFINE_list("components", ["EW", "NS"], "Components whose spectra mode spectra computes.")
_KEEP_BOREHOLE = flags.DEFINE_bool("keep_borehole", False, "Mode spectra: keep KiK-net borehole sensors.")
flags.mark_flags_as_required(["config", "workdir"])


@logs.cli_errors
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config, workdir, mode = _CONFIG.value, _WORKDIR.value, _MODE.value
  if mode in ("spectra", "quickstart"):
    evaluate.record_spectra_report(config, workdir, _RECORDS_DIR.value, _COMPONENTS.value, _KEEP_BOREHOLE.value)
  if mode in ("prepare", "train", "quickstart"):
    build.build_from_config(config.data)
  if mode in ("train", "quickstart"):
    train.train_and_evaluate(config, workdir)
  if mode in ("evaluate", "quickstart"):
    evaluate.evaluate_model(config, workdir)
  if mode in ("generate", "quickstart"):
    g = config.generate
    timing = {k: v for k, v in (("t5", g.t5_s), ("d5_75", g.d5_75_s), ("d5_95", g.d5_95_s)) if v}
    scenario = dict(magnitude=g.magnitude, distance_km=g.distance_km, vs30_ms=g.vs30_ms) if g.magnitude else None
    common = dict(num=g.num, seed=g.seed, refine=g.refine, formats=tuple(g.formats), extrapolate=g.allow_extrapolation,
                  rule=g.check, t1_s=g.t1_s, tol=g.tol, temperature=g.temperature, timing=timing or None,
                  scenario=scenario, waveform_steps=g.waveform_steps, rotd=g.rotd, smoothing=g.smoothing,
                  candidates=g.candidates)
    suites.generate_suite(workdir, g.target, out_dir=g.out_dir or None, components=g.components, **common)
    if g.pairs_target:
      suites.generate_suite(workdir, g.pairs_target, components=2, **common,
                            out_dir=os.path.join(g.out_dir or os.path.join(workdir, "generated"), "pairs"))


if __name__ == "__main__":
  app.run(main)
