"""The train state: one pytree, its creation, its abstract shape for restoring, optimizers.

* :class:`TrainState` holds everything a run needs to continue: generator and critic
  parameters, batch statistics, both optimizer states, the EMA of the generator, the
  step, the root key and the condition statistics.
* :class:`Static` holds what the pure steps close over: the models, the optimizers, the
  config and the period grid (:func:`make_static`).
* :func:`create` initialises a state; :func:`abstract` gives its shapes and dtypes without
  computing anything (``jax.eval_shape``), the template a checkpoint is restored into.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from cvaegan_jax import conditioning, models, spectra

__all__ = ["TrainState", "Static", "make_optimizers", "make_static", "create", "abstract"]


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training (one pytree; checkpointed whole)."""
  step: jax.Array  # int32 scalar: generator updates done.
  gen_params: Any
  gen_batch_stats: Any
  critic_params: Any
  gen_opt_state: Any
  critic_opt_state: Any
  ema_params: Any
  key: jax.Array  # uint32[2] raw root key.
  cond_mean: jax.Array  # [P + K] log10 PSA mean of the training set, then ln(t + 1 s) of its K timing measures.
  cond_std: jax.Array  # [P + K] their standard deviations.


@dataclasses.dataclass(frozen=True)
class Static:
  """What the steps need besides the state and batch (hashable, closed over at jit time)."""
  model: models.CVAEGAN
  critic: models.Critic
  gen_tx: Any
  critic_tx: Any
  config: Any  # FrozenConfigDict
  periods: tuple
  dt: float


def make_optimizers(opt_config):
  """Adam for the generator and critic (``config.optimizer``), with optional global-norm
  clipping; returns ``(gen_tx, critic_tx)`` optax transformations."""
  def adam(lr):
    tx = optax.adam(lr, b1=opt_config.b1, b2=opt_config.b2)
    return optax.chain(optax.clip_by_global_norm(opt_config.grad_clip), tx) if opt_config.grad_clip else tx
  return adam(opt_config.gen_lr), adam(opt_config.critic_lr)


def make_static(config) -> Static:
  """Models, optimizers and the period grid of a project config (checked).

  Raises:
    ValueError: a number of steps below 1, a decorrelation term without prior samples, an
      amplitude factor below 1, or ``data.num_samples`` that the decoder cannot make.
  """
  config = ml_collections.FrozenConfigDict(config)
  t = config.training
  if isinstance(t.num_steps, bool) or not isinstance(t.num_steps, int) or t.num_steps < 1:
    raise ValueError(f"training.num_steps={t.num_steps!r}: expected a positive number of steps")
  if t.gan_loss not in ("wgan-gp", "lsgan"):
    raise ValueError(f"training.gan_loss must be 'wgan-gp' or 'lsgan', got {t.gan_loss!r}")
  names = conditioning.check_timing_names(config.model.timing_conditions)
  if t.timing_weight and not names:
    raise ValueError("training.timing_weight asks records to keep their timing conditions: set "
                     "model.timing_conditions (e.g. ('t5', 'd5_75', 'd5_95'))")
  if t.feature_matching_weight and config.model.critic != "multiscale":
    raise ValueError("training.feature_matching_weight needs the critic's features: model.critic='multiscale'")
  if t.decorrelation_weight and not (t.adv_on_prior or t.spec_on_prior):
    raise ValueError("training.decorrelation_weight compares prior samples: it needs training.adv_on_prior "
                     "or training.spec_on_prior")
  augment = t.amplitude_augment
  if augment and augment < 1.0:
    raise ValueError(f"training.amplitude_augment={augment}: expected 0 (off) or the largest factor, >= 1")
  conditioning.pair_spectrum(config.data)  # Checks data.pair_spectrum.
  model, critic = models.build(config.model, config.data.num_samples, 1.0 / config.data.sampling_rate_hz,
                               conditioning.num_channels(config.data))
  gen_tx, critic_tx = make_optimizers(config.optimizer)
  periods = tuple(float(t) for t in spectra.log_periods(config.data.t_min_s, config.data.t_max_s,
                                                        config.data.num_periods))
  return Static(model, critic, gen_tx, critic_tx, config, periods, 1.0 / config.data.sampling_rate_hz)


def create(static: Static, cond_stats: dict, seed: int) -> TrainState:
  """Fresh parameters and optimizer states.

  Args:
    static: from :func:`make_static`.
    cond_stats: ``{"mean": [P], "std": [P]}`` log10 PSA statistics of the training set.
    seed: parameter initialisation seed (the root key of training is ``seed + 1``).
  """
  cfg = static.config
  key = jax.random.PRNGKey(seed)
  k_gen, k_critic, k_eps = jax.random.split(key, 3)
  x = jnp.zeros((2, cfg.data.num_samples, conditioning.num_channels(cfg.data)))
  c = jnp.zeros((2, cfg.data.num_periods + len(cfg.model.timing_conditions)))
  eps = jnp.zeros((2,) + models.latent_shape(cfg.model, cfg.data.num_samples))
  variables = static.model.init(k_gen, x, c, eps, train=False)
  gen_params = variables["params"]
  critic_params = static.critic.init(k_critic, x, c)["params"]
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      gen_params=gen_params,
      gen_batch_stats=variables.get("batch_stats", {}),
      critic_params=critic_params,
      gen_opt_state=static.gen_tx.init(gen_params),
      critic_opt_state=static.critic_tx.init(critic_params),
      ema_params=jax.tree.map(jnp.copy, gen_params),  # Its own buffers: the state is donated.
      key=jax.random.PRNGKey(seed + 1),
      cond_mean=jnp.asarray(cond_stats["mean"], jnp.float32),
      cond_std=jnp.asarray(cond_stats["std"], jnp.float32),
  )


def abstract(static: Static) -> TrainState:
  """The state's structure as ``jax.ShapeDtypeStruct`` leaves (nothing is computed or
  allocated): the template for restoring a checkpoint of ``static``'s config."""
  p = static.config.data.num_periods + len(static.config.model.timing_conditions)
  stats = {"mean": jnp.zeros(p, jnp.float32), "std": jnp.ones(p, jnp.float32)}
  return jax.eval_shape(lambda s: create(static, s, 0), stats)
