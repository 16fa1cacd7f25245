"""Tiny: the config the tests use, so the whole path (prepare, train, evaluate, generate) runs
in seconds on a CPU. Not meant to learn anything; override ``data.data_dir`` to a temp folder.

  python -m cvaegan_jax.main --config=configs/tiny.py --workdir=/tmp/tiny --mode=quickstart
"""

from configs import base


def get_config():
  config = base.get_config()
  config.data.num_events = 8  # A few dozen windows.
  config.data.data_dir = "workdirs/tiny/data"  # Where the TFDS shards go.
  config.model.latent_dim = 8  # Tiny model.
  config.model.encoder_features = (4, 8, 8)  # Encoder channels.
  config.model.decoder_base_features = 8  # Dense(375 * 8).
  config.model.decoder_features = (8, 8, 4)  # Upsampling blocks' channels.
  config.model.critic_features = (4, 4, 8, 8)  # Critic channels.
  config.training.batch_size = 8  # Divisible by the 4 forced CPU devices of the tests.
  config.training.num_steps = 30  # Seconds on a CPU.
  config.training.log_every = 5  # Metrics every 5 steps.
  config.training.eval_every = 30  # Validation at the end.
  config.training.eval_examples = 16  # Validation examples.
  config.training.figure_every = 30  # One sample figure.
  config.training.checkpoint_every = 10  # Checkpoints at 10, 20, 30.
  config.training.ema_decay = 0.9  # Short EMA horizon.
  config.optimizer.gen_lr = 1e-3  # Fast Adam.
  config.optimizer.critic_lr = 1e-3  # Fast Adam.
  config.optimizer.b1 = 0.5  # Adam beta1.
  return config
