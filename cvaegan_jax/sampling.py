"""A trained generator: load its EMA weights, condition on target spectra, sample (and refine).

:class:`Generator` loads a training workdir (its ``config.json`` and the latest Orbax
checkpoint; the EMA generator weights). :meth:`Generator.generate` turns a
:class:`cvaegan_jax.targets.Target` into ``num`` records:

1. the target is interpolated (log-log) onto the model's periods and becomes the
   condition ``c``; prior samples ``z ~ N(0, I)`` are decoded and brought to m/s^2 with
   the target's PSA at the shortest period (the model's waveform scale); ``temperature``
   multiplies ``z`` (below 1: closer to the target, samples of one target more alike);
2. ``refine="scale"``: each record multiplied by the one factor that fits its spectrum to
   the target in least squares (weighted as the refinement's misfit, see ``band_s``):
   linear amplitude scaling, the practice for recorded motions, exact because an
   oscillator's response is linear in its input; nothing else of the record changes;
3. ``refine="latent"`` (or ``"both"``): Adam steps on ``z`` through the exact,
   differentiable response spectrum, minimising the mean squared log10 misfit plus a
   small pull towards the prior (costly: every step runs the decoder backwards);
4. ``refine="waveform"`` (the default; ``"both"`` runs it after the latent steps):
   Levenberg-Marquardt steps on an additive correction of each record, with the exact
   Jacobian of the spectrum (from its custom VJP): the correction is a sum of the
   oscillators' impulse responses ending at their peak times, the wavelets of
   time-domain spectral matching (Lilhanand & Tseng 1988), so it is local and smooth and
   keeps the record's phases, envelope and duration;
5. baseline correction (final velocity and displacement zero; in refinement every
   iterate is kept corrected) and the final spectra and misfits
   (``generated / target - 1`` per period).

Refinement stops when every record's largest |misfit| inside ``band_s`` is below
``tol`` or after the step limit. All steps are jitted and batched over the records.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvaegan_jax import checkpoints, conditioning, fit, intensity, models, specs, spectra, train_state, validation
from cvaegan_jax import refine as refine_lib

__all__ = ["Generator", "Generation"]


@dataclasses.dataclass
class Generation:
  """Records generated for one or more target spectra.

  Attributes:
    accel_ms2: ``[N, T]`` float32 accelerations in m/s^2.
    dt: sampling interval, s.
    periods_s: ``[P]`` the model's periods, s.
    target_ms2: ``[N, P]`` target PSA of each record on ``periods_s``, m/s^2.
    psa_ms2: ``[N, P]`` PSA of the records (5% damping unless the config says otherwise).
    misfit: ``[N, P]`` relative misfit ``psa / target - 1``.
    band_s: (shortest, longest) period over which refinement and summaries count.
    refine: the refinement mode used; steps: Adam steps taken (latent, waveform).
    target_name: the target's name.
    seed: the random seed.
    temperature: the prior's temperature (``z = temperature * N(0, I)``).
    scale_factors: ``[N]`` the factors of ``refine="scale"`` (dimensionless), else None.
  """
  accel_ms2: np.ndarray
  dt: float
  periods_s: np.ndarray
  target_ms2: np.ndarray
  psa_ms2: np.ndarray
  misfit: np.ndarray
  band_s: tuple
  refine: str
  steps: tuple
  target_name: str = ""
  seed: int = 0
  temperature: float = 1.0
  scale_factors: np.ndarray | None = None

  @property
  def band_misfit(self) -> np.ndarray:
    """``[N, P_band]`` misfits inside ``band_s``."""
    return self.misfit[:, spectra.band_mask(self.periods_s, self.band_s)]

  def summary(self) -> dict:
    """Mean and max |misfit| over the band (all records), in the unit of a ratio, and the
    largest correlation over time between two records (``max_pair_correlation``, None for
    one record: distinct records of one spectrum are near 0, copies 1)."""
    m = np.abs(self.band_misfit)
    n = int(self.accel_ms2.shape[0])
    return {"num": n, "mean_abs_misfit": float(m.mean()),
            "max_abs_misfit": float(m.max()), "refine": self.refine, "steps": list(self.steps),
            "band_s": list(self.band_s), "temperature": self.temperature,
            "scale_factors": None if self.scale_factors is None else [float(v) for v in self.scale_factors],
            "max_pair_correlation": float(fit.pair_correlations(self.accel_ms2).max()) if n > 1 else None}


@functools.partial(jax.jit, static_argnames=("model",))
def _decode(model, variables, z, c):
  """Decoded prior samples ``[N, T]`` (model units) of latents ``z [N, L]`` under ``c [N, C]``."""
  return model.apply(variables, z, c, method=models.CVAEGAN.generate)[..., 0]


class Generator:
  """A trained generator: config, EMA weights and condition statistics of a workdir.

  Attributes:
    config: the training config (``ml_collections.ConfigDict``).
    periods_s: ``[P]`` the model's condition periods, s.
    dt: the model's sampling interval, s.
    num_samples: samples per record.
    step: the training step of the loaded checkpoint.
  """

  def __init__(self, config, variables, cond_stats: dict, step: int = 0):
    self.config = config
    self.model, _ = models.build(config.model, config.data.num_samples)
    self.variables = variables
    self.cond_stats = {k: np.asarray(v, np.float32) for k, v in cond_stats.items()}
    self.periods = tuple(float(t) for t in spectra.log_periods(config.data.t_min_s, config.data.t_max_s,
                                                               config.data.num_periods))
    self.periods_s = np.asarray(self.periods)
    self.dt = 1.0 / float(config.data.sampling_rate_hz)
    self.num_samples = int(config.data.num_samples)
    self.damping = float(config.data.damping)
    self.step = step

  @classmethod
  def from_workdir(cls, workdir: str, config=None) -> "Generator":
    """Load ``workdir/config.json`` and its latest checkpoint (EMA generator weights).

    Args:
      workdir: a training workdir (written by ``cvaegan_jax.train``).
      config: optional config the caller expects; it must describe the same model.

    Raises:
      FileNotFoundError: ``workdir`` is not a training workdir or holds no checkpoint.
      checkpoints.ConfigMismatchError: ``config`` or the checkpoint's shapes differ from
        the workdir's config.
    """
    saved = checkpoints.load_config(workdir)
    if config is not None:
      checkpoints.check_config(workdir, config)
    ckpt_dir = os.path.join(workdir, checkpoints.CHECKPOINT_DIR)
    if not os.path.isdir(ckpt_dir):
      raise FileNotFoundError(f"{workdir} has no {checkpoints.CHECKPOINT_DIR}/: train it first "
                              f"(python -m cvaegan_jax.main --config=... --workdir={workdir})")
    manager = checkpoints.make_manager(workdir, keep=1, async_save=False)
    if manager.latest_step() is None:
      raise FileNotFoundError(f"{ckpt_dir} holds no checkpoint: train first or point --workdir elsewhere")
    try:
      state = checkpoints.restore_latest(manager, train_state.abstract(train_state.make_static(saved)))
    except (ValueError, KeyError, TypeError) as e:
      raise checkpoints.ConfigMismatchError(
          f"the checkpoint in {ckpt_dir} does not fit {workdir}/config.json (another config wrote it?): {e}") from e
    variables = {"params": state.ema_params, "batch_stats": state.gen_batch_stats}
    logging.info("loaded %s at step %d", ckpt_dir, int(state.step))
    return cls(saved, variables, {"mean": state.cond_mean, "std": state.cond_std}, int(state.step))

  # -------------------------------------------------------------------------

  def condition(self, psa_ms2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Condition ``c [N, C]`` and waveform scale ``[N]`` (m/s^2) for targets ``psa_ms2 [N, P]``."""
    psa = np.asarray(psa_ms2, np.float32)
    c = conditioning.condition(psa, self.config.model.condition, self.cond_stats).astype(np.float32)
    return c, np.maximum(psa[:, 0], conditioning.TINY).astype(np.float32)

  def sample(self, psa_ms2: np.ndarray, seed: int = 0, refine: str = "none", tol: float = 0.02,
             band_s=(0.05, 4.0), max_latent_steps: int = 60, max_waveform_steps: int = 20,
             baseline: bool = True, outside_weight: float = 0.25, temperature: float = 1.0) -> Generation:
    """One record per row of ``psa_ms2 [N, P]`` (targets on the model's periods, m/s^2).

    Args:
      psa_ms2: target PSA on :attr:`periods_s`.
      seed: latent samples are ``temperature * N(0, I)`` from ``PRNGKey(seed)``.
      refine: "none", "scale" (each record times its least-squares factor), "latent"
        (Adam on z), "waveform" (Levenberg-Marquardt on an additive correction of each
        record) or "both" (latent, then waveform).
      tol: target largest |misfit| inside ``band_s`` per record (refinement stops there).
      band_s: period band (s) where the misfit counts fully; outside it counts with
        ``outside_weight``.
      max_latent_steps, max_waveform_steps: Adam step limits.
      baseline: baseline-correct the output (final velocity and displacement zero).
      outside_weight: weight of the misfit outside ``band_s`` (inside: 1).
      temperature: >= 0, the prior's standard deviation. 1 samples the model as trained;
        below 1 the records fit the target better and resemble each other more (0: every
        record of one target is the same); above 1 the reverse.

    Returns:
      :class:`Generation`.

    Raises:
      ValueError: an unknown ``refine``, a negative or non-finite ``temperature``, or
        ``psa_ms2`` of the wrong shape or not finite and positive.
    """
    if refine not in refine_lib.REFINE_MODES:
      raise ValueError(f"refine must be one of {refine_lib.REFINE_MODES}, got {refine!r}")
    temperature = validation.non_negative_float(temperature, "temperature")
    psa = np.asarray(psa_ms2, np.float32)
    if psa.ndim != 2 or psa.shape[1] != self.periods_s.size:
      raise ValueError(f"psa_ms2 must be [N, {self.periods_s.size}] on the model's periods, got {psa.shape}")
    if not np.all(np.isfinite(psa)) or np.any(psa <= 0):
      raise ValueError("psa_ms2 must be finite and positive")
    mask_np = spectra.band_mask(self.periods_s, band_s)
    c, scale = self.condition(psa)
    n = psa.shape[0]
    z = temperature * jax.random.normal(jax.random.PRNGKey(seed), (n, self.config.model.latent_dim))
    log_target = jnp.log10(psa)
    weights_np = np.where(mask_np, 1.0, outside_weight)
    weights = jnp.asarray(weights_np, jnp.float32)
    mask = jnp.asarray(mask_np)
    # Periods below 2 dt hold no energy of their own (they follow the PGA): not matched.
    match_weights = jnp.where(jnp.asarray(self.periods_s) >= 2 * self.dt, weights, 0.0)
    statics = dict(dt=self.dt, periods=self.periods, damping=self.damping)
    steps = (0, 0)
    if refine in ("latent", "both") and max_latent_steps:
      z, s = refine_lib.latent(self.model, self.variables, z, c, scale, log_target, weights, mask,
                            max_steps=int(max_latent_steps), lr=0.05, tol=tol, prior_weight=1e-3, **statics)
      steps = (int(s), 0)
    x = _decode(self.model, self.variables, z, c) * scale[:, None]
    if refine in ("waveform", "both") and max_waveform_steps:
      proj_u, proj_m = (jnp.asarray(v) for v in refine_lib.baseline_projector(self.num_samples, self.dt))
      x = x - (x @ proj_m.T) @ proj_u.T  # Baseline-corrected start; the corrections keep it so.
      x, s = refine_lib.waveform(x, log_target, match_weights, mask, proj_u, proj_m,
                                 max_steps=int(max_waveform_steps), tol=tol,
                              damping_mu=1e-3, **statics)
      steps = (steps[0], int(s))
    x = np.asarray(x, np.float64)
    if baseline:
      x = intensity.baseline_correct(x, self.dt)
    x = x.astype(np.float32)
    out = np.asarray(spectra.response_spectrum(x, self.dt, self.periods_s, self.damping))
    factors = None
    if refine == "scale":
      factors = refine_lib.least_squares_scale(out, psa, weights_np)
      x = (x * factors[:, None]).astype(np.float32)
      out = (out * factors[:, None]).astype(np.float32)  # Exact: PSA(k a) = k PSA(a).
    return Generation(accel_ms2=x, dt=self.dt, periods_s=self.periods_s, target_ms2=psa, psa_ms2=out,
                      misfit=out / psa - 1.0, band_s=tuple(band_s), refine=refine, steps=steps, seed=seed,
                      temperature=temperature, scale_factors=factors)

  def generate(self, target, num: int = 11, seed: int = 0, refine: str = "waveform",
               extrapolate: bool = False, **kwargs) -> Generation:
    """``num`` records for one target spectrum.

    Args:
      target: a :class:`cvaegan_jax.targets.Target` (or a spec string such as
        ``"ec8:type=1,ground=B,ag=0.3g"``, see :func:`cvaegan_jax.specs.parse`).
      num: records to generate (>= 1).
      seed: random seed (same seed, same records).
      refine: "none", "scale", "latent", "waveform" or "both" (see :meth:`sample`).
      extrapolate: allow a target that does not cover the model's periods
        (log-log extrapolation of its end segments).
      **kwargs: passed to :meth:`sample` (tol, band_s, step limits, baseline, temperature).

    Returns:
      :class:`Generation` with ``accel_ms2 [num, T]`` in m/s^2.

    Raises:
      ValueError: ``num < 1``, or a target not covering the model's periods.
    """
    if isinstance(target, str):
      target = specs.parse(target, periods_s=self.periods_s)
    if int(num) < 1:
      raise ValueError(f"num must be >= 1, got {num}")
    on_grid = target.at(self.periods_s, extrapolate=extrapolate)
    psa = np.broadcast_to(on_grid.sa_ms2.astype(np.float32), (int(num), self.periods_s.size))
    result = self.sample(psa, seed=seed, refine=refine, **kwargs)
    result.target_name = target.name
    return result
