"""Command-line entry point: ``python -m cvaegan_jax.main --config=... --workdir=...``.

Flags pick a config file (fields overridable as ``--config.training.num_steps=100``; a
misspelt field is an error) and a working directory; one call does the job.
"""

from absl import app
from absl import flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file (configs/*.py).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for outputs (created if missing).")
_MODE = flags.DEFINE_enum("mode", None, ["spectra", "prepare", "train", "evaluate", "generate", "quickstart"],
                          "Job to run; defaults to the config's `mode`.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  mode = _MODE.value or config.mode
  if mode in ("spectra", "quickstart"):
    from cvaegan_jax import evaluate
    evaluate.record_spectra_report(config, _WORKDIR.value)
  if mode == "prepare":
    from data_prep import build
    build.build_from_config(config.data)
  if mode in ("train", "quickstart"):
    from cvaegan_jax import train
    train.train_and_evaluate(config, _WORKDIR.value)
  if mode in ("evaluate", "quickstart"):
    from cvaegan_jax import evaluate
    evaluate.evaluate_model(config, _WORKDIR.value)
  if mode in ("generate", "quickstart"):
    from cvaegan_jax import generate
    g = config.generate
    generate.generate_suite(_WORKDIR.value, g.target, num=g.num, seed=g.seed, refine=g.refine,
                            out_dir=g.out_dir or None, formats=tuple(g.formats), extrapolate=g.allow_extrapolation,
                            rule=g.check, t1_s=g.t1_s, tol=g.tol, temperature=g.temperature)


if __name__ == "__main__":
  app.run(main)
