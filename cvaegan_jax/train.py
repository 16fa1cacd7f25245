"""Training: pure jitted steps and the loop (checkpoints, logs, validation, figures).

* The state is :class:`cvaegan_jax.train_state.TrainState`; the data come only through
  :mod:`cvaegan_jax.input_pipeline` from a prepared data set.
* :func:`train_step` (``n_critic`` critic updates, then one generator update) and
  :func:`eval_step` are module-level pure functions; :func:`compile_steps` jits them once
  over a 1-D ``('data',)`` mesh with the batch sharded and the state replicated and
  donated. The same code runs on one CPU, several devices, or several hosts.
* Each step's randomness is ``jax.random.fold_in(root_key, step)``, and the data for a
  step is a function of the step (``input_pipeline``), so a run resumed from an Orbax
  checkpoint continues exactly as if it had never stopped.
* A non-finite loss or gradient stops the run with an error naming the step and the
  term; checkpoints are only written from finite states.
"""

from __future__ import annotations

import functools
import logging
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.stats
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from cvaegan_jax import checkpoints, conditioning, figures, fit, input_pipeline, logs, losses, models
from cvaegan_jax import train_state
from cvaegan_jax.train_state import Static, TrainState

__all__ = ["scale_amplitudes", "train_step", "eval_step", "compile_steps", "train_and_evaluate", "NonFiniteError"]


class NonFiniteError(FloatingPointError):
  """A loss or gradient became NaN or infinite; the message names the step and term."""


def _norm(tree) -> jax.Array:
  return optax.global_norm(tree)


def _generate_fakes(static: Static, params, batch_stats, batch, key, train: bool):
  """Reconstructions and (optionally) prior samples with their latent statistics."""
  cfg = static.config
  k_eps, k_prior = jax.random.split(key)
  b = batch["x"].shape[0]
  variables = {"params": params, "batch_stats": batch_stats}
  mutable = ["batch_stats"] if (train and batch_stats) else False
  eps = jax.random.normal(k_eps, (b,) + _latent_shape(static))
  out = static.model.apply(variables, batch["x"], batch["c"], eps, train=train, mutable=mutable)
  (x_rec, mean, logvar), new_vars = out if mutable else (out, {"batch_stats": batch_stats})
  x_prior, new_stats = None, new_vars.get("batch_stats", batch_stats)
  if cfg.training.adv_on_prior or cfg.training.spec_on_prior:
    x_prior, new_stats = _prior_sample(static, params, new_stats, batch["c"], k_prior, train)
  return x_rec, x_prior, mean, logvar, new_stats


def _latent_shape(static: Static) -> tuple[int, ...]:
  return models.latent_shape(static.config.model, static.config.data.num_samples)


def _prior_sample(static: Static, params, batch_stats, c, key, train: bool = True):
  """A sample ``[B, T, 1]`` from N(0, I) latents for conditions ``c [B, C]``, and the
  batch statistics after it (updated in training mode)."""
  z = jax.random.normal(key, (c.shape[0],) + _latent_shape(static))
  variables = {"params": params, "batch_stats": batch_stats}
  mutable = ["batch_stats"] if (train and batch_stats) else False
  out = static.model.apply(variables, z, c, train=train, mutable=mutable, method=models.CVAEGAN.generate)
  return (out[0], out[1]["batch_stats"]) if mutable else (out, batch_stats)


def _critic_out(static: Static, params, x, c):
  """(scores, features) of the critic: scores ``[B]`` (paper critic) or ``[B, N]`` (one per
  position and scale, multi-scale critic); features are ``None`` for the paper's critic."""
  out = static.critic.apply({"params": params}, x, c)
  return out if isinstance(out, tuple) else (out, None)


def _per_record(scores):
  """A critic's scores as one per record ``[B]`` (the mean over positions), for WGAN-GP."""
  return scores if scores.ndim == 1 else jnp.mean(scores, axis=tuple(range(1, scores.ndim)))


def _critic_update(static: Static, state: TrainState, batch, key):
  cfg = static.config.training
  k_fake, k_mix = jax.random.split(key)
  x_rec, x_prior, _, _, _ = _generate_fakes(static, state.gen_params, state.gen_batch_stats, batch, k_fake, True)
  fakes = [x_rec] + ([x_prior] if cfg.adv_on_prior else [])
  fake = jax.lax.stop_gradient(jnp.concatenate(fakes, axis=0))
  real = jnp.concatenate([batch["x"]] * len(fakes), axis=0)
  cond = jnp.concatenate([batch["c"]] * len(fakes), axis=0)

  if cfg.gan_loss == "lsgan":
    def loss_fn(params):
      # The real records are scored once (each appears len(fakes) times in `real`).
      d_real = _critic_out(static, params, batch["x"], batch["c"])[0]
      loss = losses.critic_lsgan(d_real, _critic_out(static, params, fake, cond)[0])
      return loss, {"d_real": jnp.mean(d_real)}
  else:
    mix = jax.random.uniform(k_mix, (real.shape[0], 1, 1))

    def loss_fn(params):
      critic = lambda x: _per_record(_critic_out(static, params, x, cond)[0])
      w = losses.critic_wasserstein(critic(real), critic(fake))
      gp = losses.gradient_penalty(critic, real, fake, mix)
      return w + cfg.gp_weight * gp, {"wasserstein": -w, "gradient_penalty": gp}

  (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.critic_params)
  updates, opt_state = static.critic_tx.update(grads, state.critic_opt_state, state.critic_params)
  params = optax.apply_updates(state.critic_params, updates)
  metrics = {"critic_loss": loss, **aux, "critic_grad_norm": _norm(grads)}
  return state.replace(critic_params=params, critic_opt_state=opt_state), metrics


def _generator_losses(static: Static, params, state: TrainState, batch, key):
  cfg = static.config.training
  x_rec, x_prior, mean, logvar, new_stats = _generate_fakes(static, params, state.gen_batch_stats, batch, key, True)
  critic = lambda x: _critic_out(static, state.critic_params, x, batch["c"])
  adversarial = losses.generator_lsgan if cfg.gan_loss == "lsgan" else (
      lambda d: losses.generator_adversarial(_per_record(d)))
  d_rec, feats_rec = critic(x_rec)
  terms = {
      "reconstruction": losses.reconstruction(batch["x"], x_rec),
      "kl": losses.kl_divergence(mean, logvar),
      "adversarial": adversarial(d_rec),
  }
  if cfg.adv_on_prior:
    terms["adversarial"] = 0.5 * (terms["adversarial"] + adversarial(critic(x_prior)[0]))
  total = cfg.rec_weight * terms["reconstruction"] + cfg.kl_weight * terms["kl"] + cfg.adv_weight * terms["adversarial"]
  if cfg.feature_matching_weight:
    # The reconstruction against its own record, layer by layer of the critic.
    terms["feature_matching"] = losses.feature_matching(critic(batch["x"])[1], feats_rec)
    total = total + cfg.feature_matching_weight * terms["feature_matching"]
  each = losses.per_component  # Pairs: each component against the record's own.
  if cfg.stft_weight:
    terms["stft"] = losses.stft_loss(each(x_rec), each(batch["x"]))
    total = total + cfg.stft_weight * terms["stft"]
  fakes_t = {"rec": x_rec} | ({"prior": x_prior} if x_prior is not None else {})
  if cfg.envelope_weight:
    # Prior samples too: their condition carries the record's timing, so its envelope is the target.
    for name, x in fakes_t.items():
      terms[f"envelope_{name}"] = losses.envelope_loss(each(x), each(batch["x"]))
      total = total + cfg.envelope_weight * terms[f"envelope_{name}"]
  if cfg.onset_weight:
    # Prior samples too: the envelope term at 1 s windows leaves their S onset 2-3 s long.
    for name, x in fakes_t.items():
      terms[f"onset_{name}"] = losses.onset_misfit(each(x), each(batch["x"]), static.dt)
      total = total + cfg.onset_weight * terms[f"onset_{name}"]
  names = tuple(static.config.model.timing_conditions)
  if cfg.timing_weight and names:
    # Pairs: each component keeps the pair's timing, as a recording's two components nearly do
    # (on the pair's combined energy alone, their D5-95 differed 3 times as much as real ones').
    timing = jnp.repeat(batch["timing"], batch["x"].shape[-1], axis=0)
    for name, x in fakes_t.items():
      terms[f"timing_{name}"] = losses.timing_misfit(each(x), timing, names, static.dt)
      total = total + cfg.timing_weight * terms[f"timing_{name}"]
  if cfg.spec_weight or cfg.criterion_weight:
    fakes = {"rec": x_rec, "prior": x_prior} if cfg.spec_on_prior else {"rec": x_rec}
    if cfg.criterion_weight:
      scale = batch["scale"][:, None]  # m/s^2: the criterion is on absolute spectra.
      psa_target = 10.0 ** batch["log_psa"] * scale
    for name, x in fakes.items():
      log_gen = losses.log_spectrum(x, static.dt, static.periods, static.config.data.damping)
      if cfg.spec_weight:
        terms[f"spectral_{name}"] = losses.spectral_misfit(log_gen, batch["log_psa"])
        total = total + cfg.spec_weight * terms[f"spectral_{name}"]
      if cfg.criterion_weight:
        terms[f"criterion_{name}"] = losses.criterion_misfit(10.0**log_gen * scale, psa_target)
        total = total + cfg.criterion_weight * terms[f"criterion_{name}"]
  if cfg.decorrelation_weight:
    # A second prior sample of each condition (its batch statistics are not kept). Not the
    # reconstruction: the decoder learned to tell encoder latents from prior ones.
    # fold_in 2: _generate_fakes's split(key) gives fold_in(key, 0) and (key, 1) (threefry partitionable).
    x_prior2, _ = _prior_sample(static, params, state.gen_batch_stats, batch["c"], jax.random.fold_in(key, 2))
    terms["decorrelation"] = losses.decorrelation(each(x_prior), each(x_prior2))
    total = total + cfg.decorrelation_weight * terms["decorrelation"]
    if x_prior.shape[-1] == 2:  # Pairs: a recording's two components are nearly uncorrelated too.
      terms["component_decorrelation"] = losses.decorrelation(x_prior[..., :1], x_prior[..., 1:])
      total = total + cfg.decorrelation_weight * terms["component_decorrelation"]
  terms["generator_loss"] = total
  return total, (terms, new_stats)


def scale_amplitudes(batch: dict, factor: jax.Array, static: Static, state: TrainState) -> dict:
  """The batch of the same records multiplied by ``factor [B]`` (dimensionless, > 0).

  The oscillators are linear, so ``k * accel`` has the spectrum ``k * PSA``: the waveform in
  model units (``accel / scale``) and ``log_psa`` (log10 of PSA / scale) are unchanged; only
  ``scale``, ``psa`` (m/s^2) and the condition ``c`` change (``log_standardized``: shifted by
  ``log10 k / std`` per period; ``peak_normalized`` does not depend on the level). This is
  ``training.amplitude_augment``: the training spectra then cover levels the data set lacks,
  such as the weak records of small, out-of-range magnitudes.
  """
  out = dict(batch)
  out["scale"] = batch["scale"] * factor
  if "psa" in batch:
    out["psa"] = batch["psa"] * factor[:, None]
  if static.config.model.condition == "log_standardized":
    p = batch["log_psa"].shape[-1]  # Timing conditions, after the periods, do not change.
    shift = jnp.log10(factor)[:, None] / state.cond_std[:p]
    out["c"] = batch["c"] + jnp.pad(shift, ((0, 0), (0, batch["c"].shape[-1] - p)))
  return out


def train_step(state: TrainState, batch: dict, static: Static) -> tuple[TrainState, dict]:
  """``n_critic`` critic updates then one generator update; returns (state, metrics).

  Args:
    state: the replicated train state.
    batch: ``x [B, T, 1]``, ``c [B, P]``, ``log_psa [B, P]`` and, with
      ``training.criterion_weight``, ``scale [B]`` (m/s^2), all sharded over 'data'.
    static: models, optimizers and config (closed over by :func:`compile_steps`).

  Returns:
    The new state and scalar metrics: every loss term, gradient, update and parameter
    norms, and ``finite`` (1.0 when every loss and gradient norm is finite).
  """
  key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
  augment = static.config.training.amplitude_augment
  if augment:  # Factors log-uniform in [1 / augment, augment].
    u = jax.random.uniform(jax.random.fold_in(key, 2000), (batch["x"].shape[0],), minval=-1.0, maxval=1.0)
    batch = scale_amplitudes(batch, jnp.asarray(augment, jnp.float32) ** u, static, state)
  critic_metrics = {}
  for i in range(static.config.training.n_critic):
    state, critic_metrics = _critic_update(static, state, batch, jax.random.fold_in(key, i))
  k_gen = jax.random.fold_in(key, 1000)
  (_, (terms, new_stats)), grads = jax.value_and_grad(
      lambda p: _generator_losses(static, p, state, batch, k_gen), has_aux=True)(state.gen_params)
  updates, opt_state = static.gen_tx.update(grads, state.gen_opt_state, state.gen_params)
  params = optax.apply_updates(state.gen_params, updates)
  decay = static.config.training.ema_decay
  ema = jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, state.ema_params, params) if decay else params
  metrics = dict(terms, **critic_metrics)
  metrics.update(gen_grad_norm=_norm(grads), gen_update_norm=_norm(updates), gen_param_norm=_norm(params),
                 critic_param_norm=_norm(state.critic_params))
  metrics["finite"] = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in metrics.values()])).astype(jnp.float32)
  new_state = state.replace(step=state.step + 1, gen_params=params, gen_batch_stats=new_stats,
                            gen_opt_state=opt_state, ema_params=ema)
  return new_state, metrics


# The timing measures of validation (names of ``losses.DURATION_STATS``).
TIMING_STATS = ("t5", "d5_75", "d5_95", "t_peak")


def eval_step(state: TrainState, batch: dict, static: Static) -> dict:
  """Validation metrics of one batch with the EMA generator (inference-mode norms).

  Returns per-example arrays (sharded like the batch): ``rec_mse [B]``,
  ``r2_prior [B]`` and ``rmse_prior [B]`` (generated vs target PSA, linear, m/s^2),
  ``rmse_norm_prior [B]`` (the same RMSE over the target's peak, dimensionless),
  ``log_misfit_prior [B]`` (RMS of log10 PSA difference), ``sample_corr [B]`` (the
  correlation of two prior samples of the record's condition: near 0 for distinct records,
  near 1 when the generator ignores its latent), and ``<name>_prior``, ``<name>_real`` ``[B]``
  for each of ``TIMING_STATS`` (s: Husid onset t5, significant durations D5-75 and D5-95, and
  the time of the peak, of the prior sample and of the real record, ``losses.duration_stats``;
  t5 rounded down to a sample).

  Pairs (``x [B, T, 2]``): the fit is on the condition's spectrum (RotD50 or RotD100, exact),
  the timing on the pair's combined energy (``losses.pair_energy``), ``sample_corr`` the mean
  of the two components', and ``component_corr_prior`` / ``component_corr_real [B]`` the
  correlation of a pair's two components.
  """
  cfg = static.config
  key = jax.random.fold_in(jax.random.wrap_key_data(state.key), 2**31 - 1)  # Not a training step.
  params = state.ema_params
  variables = {"params": params, "batch_stats": state.gen_batch_stats}
  b = batch["x"].shape[0]
  mean, logvar = static.model.apply(variables, batch["x"], batch["c"], method=models.CVAEGAN.encode)
  x_rec = static.model.apply(variables, mean, batch["c"], method=models.CVAEGAN.generate)
  z, z2 = jax.random.normal(key, (2, b) + _latent_shape(static))
  x_prior = static.model.apply(variables, z, batch["c"], method=models.CVAEGAN.generate)
  x_prior2 = static.model.apply(variables, z2, batch["c"], method=models.CVAEGAN.generate)
  psa = batch["psa"]
  channels = batch["x"].shape[-1]
  if channels == 1:
    log_gen = losses.log_spectrum(x_prior, static.dt, static.periods, cfg.data.damping)
    log_target = batch["log_psa"]
  else:  # Pairs: the spectrum of the condition (RotD50 or RotD100), exact.
    gen = losses.condition_spectrum(x_prior, static.dt, static.periods, cfg.data.damping,
                                    conditioning.pair_spectrum(cfg.data))
    log_gen = jnp.log10(jnp.maximum(gen, 1e-12))
    log_target = jnp.log10(jnp.maximum(psa, 1e-12) / batch["scale"][:, None])
  psa_gen = 10.0**log_gen * batch["scale"][:, None]
  per_record = lambda v: jnp.mean(v.reshape(b, channels), axis=-1)  # Pairs: the mean of the components'.
  out = {
      "rec_mse": jnp.mean((x_rec - batch["x"]) ** 2, axis=(1, 2)),
      "r2_prior": fit.spectral_r2(psa, psa_gen),
      "rmse_prior": fit.spectral_rmse(psa, psa_gen),
      "rmse_norm_prior": fit.peak_normalised_rmse(psa, psa_gen),
      "log_misfit_prior": jnp.sqrt(jnp.mean((log_gen - log_target) ** 2, axis=-1)),
      "sample_corr": per_record(losses.waveform_correlation(losses.per_component(x_prior),
                                                           losses.per_component(x_prior2))),
      **{f"{name}_{who}": stats[:, losses.DURATION_STATS.index(name)]
         for who, stats in (("prior", losses.duration_stats(losses.pair_energy(x_prior), static.dt)),
                            ("real", losses.duration_stats(losses.pair_energy(batch["x"]), static.dt)))
         for name in TIMING_STATS},
  }
  if channels == 2:  # The correlation of a pair's two components (real pairs: near 0).
    for who, x in (("prior", x_prior), ("real", batch["x"])):
      out[f"component_corr_{who}"] = losses.waveform_correlation(x[..., :1], x[..., 1:])
  return out


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A 1-D ('data',) mesh over all (or the first ``num_devices``) devices.

  Axis type Auto: the jitted steps state their shardings and XLA propagates the rest.
  """
  devices = jax.devices()[:num_devices] if num_devices else jax.devices()
  return jax.sharding.Mesh(np.asarray(devices), ("data",), axis_types=(jax.sharding.AxisType.Auto,))


def compile_steps(static: Static, mesh: jax.sharding.Mesh):
  """Jitted (train_step, eval_step): state replicated and donated, batch sharded on 'data'."""
  replicated = NamedSharding(mesh, P())
  sharded = NamedSharding(mesh, P("data"))
  train = jax.jit(functools.partial(train_step, static=static), in_shardings=(replicated, sharded),
                  out_shardings=(replicated, replicated), donate_argnums=(0,))
  evaluate = jax.jit(functools.partial(eval_step, static=static), in_shardings=(replicated, sharded),
                     out_shardings=sharded)
  return train, evaluate


def check_finite(metrics: dict, step: int) -> None:
  """Raise :class:`NonFiniteError` naming the step and the first non-finite term."""
  if float(metrics["finite"]) == 1.0:
    return
  bad = [k for k, v in metrics.items() if k != "finite" and not np.all(np.isfinite(np.asarray(v)))]
  raise NonFiniteError(f"non-finite values at step {step} in {', '.join(bad) or 'a gradient'}; "
                       "the last checkpoint holds the last good state")


# ---------------------------------------------------------------------------
# The loop.


def read_conditions(source, names=(), dt: float = 0.01, max_examples: int = 20000, field: str = "spectrum") -> dict:
  """Spectra ``psa [N, P]`` (m/s^2, the example field ``field``: pairs' RotD50 or RotD100) and
  timing measures ``timing [N, K]`` (s, in the order of ``names``; pairs: of their combined
  energy) of up to ``max_examples`` records of the training split, evenly spaced, and
  ``partner [N]``: the row of each record's other horizontal component (same event and
  sensor), -1 when it has none among the rows (pairs of components draw their timing from it).
  Pair data sets add ``rotd100_over_rotd50 [P]``: the median ratio of the pairs' spectra, by
  which a pair model takes targets of the other measure."""
  n = len(source)
  idx = np.unique(np.linspace(0, n - 1, min(n, max_examples)).astype(int))
  rows = [source[int(i)] for i in idx]
  psa = np.stack([np.asarray(r[field], np.float32) for r in rows])
  tim = (conditioning.timing(conditioning.pair_energy(np.stack([np.asarray(r["waveform"]) for r in rows])), dt, names)
         if names else np.zeros((len(rows), 0), np.float32))
  partner = np.full(len(rows), -1, np.int64)
  extra = {}
  if "rotd100_spectrum" in rows[0]:
    ratio = [np.asarray(r["rotd100_spectrum"], np.float64) / np.maximum(r["spectrum"], conditioning.TINY) for r in rows]
    extra["rotd100_over_rotd50"] = np.median(ratio, axis=0).astype(np.float32)
  else:
    for i, j in fit.component_pairs(*zip(*map(input_pipeline.pair_key, rows))):
      partner[i] = j
  return {"psa": psa, "timing": tim, "partner": partner, **extra}


def read_condition_stats(source, max_examples: int = 20000, names=(), dt: float = 0.01) -> dict:
  """Condition statistics (:func:`conditioning.condition_stats`) from up to ``max_examples``
  records of the training split: their spectra and, with ``names``, timing measures."""
  cond = read_conditions(source, names, dt, max_examples)
  return conditioning.condition_stats(cond["psa"], cond["timing"])


def _eval_batches(source, batch_size: int, max_examples: int, transform):
  """Batches of ``batch_size`` over the first ``max_examples`` examples of a split.

  Yields ``(batch, n)``: the last batch is padded to the full size by repeating its last
  example (the jitted step keeps one shape) and ``n`` says how many rows are real.
  """
  seen = 0
  for b in input_pipeline.eval_batches(source, batch_size, transform):
    n = min(b["x"].shape[0], max_examples - seen)
    if n <= 0:
      return
    pad = lambda v: np.concatenate([v[:n]] + [v[n - 1:n]] * (batch_size - n)) if n < batch_size else v
    yield {k: pad(np.asarray(v)) for k, v in b.items()}, n
    seen += n


def evaluate_split(p_eval, state, source, batch_size, max_examples, transform, sharding) -> dict:
  """Mean validation metrics and the paper's criterion share (R^2 > 0.8 and RMSE < 0.1 m/s^2).

  Every process reads the same validation examples; each device takes its slice of a batch
  (``make_array_from_callback``) and the per-example results are gathered from all processes,
  so this also runs on several hosts.
  """
  keep = ("x", "c", "log_psa", "scale", "psa")
  outs = []
  for b, n in _eval_batches(source, batch_size, max_examples, transform):
    batch = {k: jax.make_array_from_callback(np.shape(b[k]), sharding, lambda idx, v=b[k]: np.asarray(v)[idx])
             for k in keep}
    out = multihost_utils.process_allgather(p_eval(state, batch), tiled=True)
    outs.append({k: np.asarray(v)[:n] for k, v in out.items()})  # Without the padding.
  if not outs:
    return {}
  cat = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
  ok = np.asarray(fit.paper_criterion(cat["r2_prior"], cat["rmse_prior"]))
  ok_norm = np.asarray(fit.paper_criterion(cat["r2_prior"], cat["rmse_norm_prior"]))
  return {"rec_mse": cat["rec_mse"].mean(), "r2_prior_median": np.median(cat["r2_prior"]),
          "rmse_prior_median": np.median(cat["rmse_prior"]), "log_misfit_prior": cat["log_misfit_prior"].mean(),
          "paper_criterion_share": ok.mean(), "criterion_share_peak_norm": ok_norm.mean(),
          "sample_corr": cat["sample_corr"].mean(), "num_examples": float(ok.size),
          **_timing_metrics(cat),
          **{f"abs_component_corr_{w}_median": np.median(np.abs(cat[f"component_corr_{w}"]))
             for w in ("prior", "real") if f"component_corr_{w}" in cat}}


def _timing_metrics(cat: dict, bin_s: float = 0.1) -> dict:
  """Medians (s) of t5, D5-75, D5-95 and the peak time of prior samples and real records, the
  two-sample KS statistic of each (0: the same distribution; 1: disjoint), and the largest
  share of peak times in one ``bin_s`` bin (``t_peak_max_bin_share_prior`` and ``_real``:
  near 1 when the generator puts its peak at one fixed time)."""
  out = {}
  for name in TIMING_STATS:
    gen, real = cat[f"{name}_prior"], cat[f"{name}_real"]
    out.update({f"{name}_prior_median": np.median(gen), f"{name}_real_median": np.median(real),
                f"{name}_ks": scipy.stats.ks_2samp(gen, real, method="asymp").statistic})
  for who in ("prior", "real"):
    out[f"t_peak_max_bin_share_{who}"] = fit.pga_time_max_bin_share(cat[f"t_peak_{who}"], bin_s)
  return out


def plot_samples(static: Static, state: TrainState, source, transform, path: str, num: int = 4,
                 seed: int = 0) -> None:
  """Draw ``num`` validation records with their reconstruction and a prior sample
  (:func:`cvaegan_jax.figures.training_samples`), with the state's EMA generator.

  Args:
    static, state: the model and its state.
    source: random-access validation split.
    transform: numpy batch -> model features (``conditioning.features``).
    path: PNG path (folders created).
  """
  num = min(num, len(source))
  idx = np.linspace(0, len(source) - 1, num).astype(int)
  raw = [source[int(i)] for i in idx]
  b = transform({k: np.stack([r[k] for r in raw]) for k in raw[0]
                 if k in ("waveform", "spectrum", "rotd100_spectrum", "component_spectra")})
  variables = {"params": jax.device_get(state.ema_params), "batch_stats": jax.device_get(state.gen_batch_stats)}
  mean, _ = static.model.apply(variables, b["x"], b["c"], method=models.CVAEGAN.encode)
  x_rec = static.model.apply(variables, mean, b["c"], method=models.CVAEGAN.generate)
  z = jax.random.normal(jax.random.PRNGKey(seed), mean.shape)
  x_gen = static.model.apply(variables, z, b["c"], method=models.CVAEGAN.generate)
  scale = b["scale"][:, None]
  records = {"real": b["x"], "reconstructed": np.asarray(x_rec), "generated (prior)": np.asarray(x_gen)}
  waves = {k: v[..., 0] * scale for k, v in records.items()}  # Pairs: the first component is drawn.
  kind = conditioning.pair_spectrum(static.config.data)  # None for single components (PSA).
  psa = {k: np.asarray(losses.condition_spectrum(jnp.asarray(v, jnp.float32), static.dt, static.periods,
                                                 static.config.data.damping, kind)) * scale
         for k, v in records.items()}
  titles = [f"M{float(m['magnitude']):.1f}, {float(m['dist_km']):.0f} km, {input_pipeline.text(m['station'])}"
            for m in raw]
  figures.training_samples(waves, psa, b["psa"], np.asarray(static.periods), static.dt, titles,
                           f"step {int(state.step)}", path)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Train (resuming from ``workdir``) on the prepared data set, with validation as it goes.

  Args:
    config: a project config (``configs/*.py``).
    workdir: checkpoints, ``config.json``, ``metrics.jsonl``, ``tensorboard/`` and
      ``samples/`` (figures) go here.

  Returns:
    The final train state.

  Raises:
    NonFiniteError: a loss or gradient became NaN/inf (the checkpoints keep the last
      finite state).
    checkpoints.ConfigMismatchError: ``workdir`` holds checkpoints of another model.
  """
  checkpoints.check_config(workdir, config)
  tcfg = config.training
  static = train_state.make_static(config)
  sources = input_pipeline.open_dataset(config.data)
  if "train" not in sources:
    raise ValueError(f"the data set has no train split (splits: {sorted(sources)}); use more events")
  ndev = jax.device_count()
  if tcfg.batch_size % ndev:
    raise ValueError(f"training.batch_size={tcfg.batch_size} must be divisible by the {ndev} devices")
  mesh = make_mesh()
  replicated, sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

  manager = checkpoints.make_manager(workdir, tcfg.keep_checkpoints)
  names = tuple(config.model.timing_conditions)
  field = conditioning.spectrum_field(config.data)
  conds = read_conditions(sources["train"], names, static.dt, field=field)
  if names and jax.process_index() == 0:  # Generation draws timing from records of similar spectra.
    np.savez(os.path.join(workdir, checkpoints.CONDITIONS_FILE), psa=conds["psa"], timing=conds["timing"],
             partner=conds["partner"], names=np.asarray(names),
             **{k: conds[k] for k in ("rotd100_over_rotd50",) if k in conds})
  stats = conditioning.condition_stats(conds["psa"], conds["timing"])
  state = jax.device_put(train_state.create(static, stats, tcfg.seed), replicated)
  restored = checkpoints.restore_latest(manager, state)
  if restored is not None:
    state = restored
    logging.info("resumed from %s at step %d", manager.directory, int(state.step))
  stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
  keep = ("x", "c", "log_psa", "scale", "timing")
  transform = lambda b: {k: v for k, v in conditioning.features(b, config.model, stats, static.dt, field).items()
                         if k in keep}
  eval_transform = lambda b: conditioning.features(b, config.model, stats, static.dt, field)
  loader = input_pipeline.BatchLoader(sources["train"], tcfg.batch_size, tcfg.seed, transform, sharding=sharded)
  p_train, p_eval = compile_steps(static, mesh)
  logger = logs.MetricLogger(workdir, tcfg.num_steps, tcfg.batch_size, enabled=jax.process_index() == 0,
                             start_step=int(state.step))
  val = sources.get("validation")
  eval_bs = min(tcfg.batch_size, (len(val) // ndev) * ndev) if val is not None else 0

  step = start = int(state.step)
  logging.info("training %s steps from step %d on %d device(s), global batch %d (%d steps per epoch)",
               tcfg.num_steps, step, ndev, tcfg.batch_size, loader.steps_per_epoch)
  t_compile = time.perf_counter()
  try:
    while step < tcfg.num_steps:
      batch = loader.batch(step)
      state, metrics = p_train(state, batch)
      if step == start:
        jax.block_until_ready(state)
        logging.info("first step (with compilation) took %.1f s", time.perf_counter() - t_compile)
        logger.start(step + 1)
      m = jax.device_get(metrics)
      check_finite(m, step)
      step += 1
      if step % tcfg.log_every == 0 or step == tcfg.num_steps:
        logger.write(step, m)
      if eval_bs and (step % tcfg.eval_every == 0 or step == tcfg.num_steps):
        logger.write(step, evaluate_split(p_eval, state, val, eval_bs, tcfg.eval_examples, eval_transform, sharded),
                     prefix="validation")
      if val is not None and jax.process_index() == 0 and (step % tcfg.figure_every == 0 or step == tcfg.num_steps):
        plot_samples(static, state, val, eval_transform, os.path.join(workdir, "samples", f"step_{step:07d}.png"))
      if step % tcfg.checkpoint_every == 0 or step == tcfg.num_steps:
        checkpoints.save(manager, step, state)
  finally:
    # An error (NaN, Ctrl-C) must not abandon an asynchronous save in flight: the last
    # good checkpoint is what the user resumes from.
    manager.wait_until_finished()
    logger.close()
  return state
