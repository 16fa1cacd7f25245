"""Quickstart: the job `make quickstart` runs on this CPU in a few minutes.

Run (what `make quickstart` does):
  python -m cvaegan_jax.main --config=configs/quickstart.py --workdir=workdirs/quickstart --mode=quickstart

Mode "quickstart" runs, in order:
1. spectra: the real K-NET/KiK-net records shipped in `tests/data` -> `spectra.csv`,
   `spectra.png` (26 horizontal surface records of 3 events, 0 skipped).
2. prepare: 60 simulated events written as real K-NET files -> the `knet_spectra` data set
   under `data.data_dir` (array_record shards split by event, QC summary and figures).
3. train: a narrow version of configs/base.py (same design and losses, a quarter of the channels)
   for `training.num_steps` steps, with checkpoints, metrics.jsonl, TensorBoard files and
   sample figures in the workdir.
4. evaluate: the paper's metrics (R^2, RMSE, criterion share) on test, ood_low and ood_high,
   raw and refined, time-frequency realism -> `evaluation/report.json` and figures.
5. generate: an EC8 suite of 11 records (type 1, ground B, a_g 0.3 g), refined, exported
   (AT2, CSV, NPZ, MiniSEED), checked against EN 1998-1 3.2.3.1.2 at T1 = 1 s ->
   `generated/suite.json`, `generated/suite.png`; then 11 pairs of horizontal components for
   an ASCE 7 target (RotD100), matched to 110% of it and checked against ASCE 7-16 §16.2.3
   -> `generated/pairs/`.
Expected on the 2-core development machine: see the README (time and validation metrics).
"""

from configs import base


def get_config():
  config = base.get_config()
  config.data.num_events = 60  # Simulated events: a few hundred windows.
  config.data.data_dir = "workdirs/quickstart/data"  # Where the TFDS shards go.
  config.model.latent_dim = 8  # Latent channels per frame (as base).
  config.model.encoder_features = (16, 32, 64)  # A quarter of base's channels.
  config.model.decoder_base_features = 64  # Dense(375 * 64).
  config.model.decoder_features = (64, 32, 16)  # Upsampling blocks' channels.
  config.model.critic_features = (8, 16, 32, 64)  # A quarter of base's channels.
  config.training.batch_size = 16  # Small batches: 0.42 s a step on 2 cores (32: 1.05 s).
  config.training.num_steps = 600  # About 4 minutes on 2 cores.
  config.training.log_every = 25  # Console and metrics every 25 steps.
  config.training.eval_every = 200  # Validation every 200 steps.
  config.training.eval_examples = 256  # Validation examples per evaluation.
  config.training.figure_every = 200  # Sample figure every 200 steps.
  config.training.checkpoint_every = 200  # Checkpoint every 200 steps.
  config.training.ema_decay = 0.99  # Short run: a shorter EMA horizon.
  config.generate.pairs_target = "asce7:sds=1.0,sd1=0.6,tl=8"  # And 11 pairs matched to this RotD100 (ASCE 7).
  config.evaluate.max_examples = 48  # Per split (test holds 38): keeps the evaluation near 4 minutes.
  config.evaluate.samples_per_target = 2  # Two samples per target (their correlation is reported).
  config.optimizer.gen_lr = 3e-4  # Faster Adam for a short run.
  config.optimizer.critic_lr = 3e-4  # Same for the critic.
  config.optimizer.b1 = 0.5  # Adam beta1.
  return config
