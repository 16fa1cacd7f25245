"""Accelerograms for a target spectrum from a trained CVAE-GAN, with refinement and export.

::

  python -m cvaegan_jax.generate --workdir=workdirs/quickstart \\
      --target='ec8:type=1,ground=B,ag=0.3g' --num=11 --out=suite --format=at2

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
import optax

from cvaegan_jax import conditioning, ground_motion, losses, models, spectra, validation

__all__ = ["Generator", "Generation", "REFINE_MODES", "band_mask", "generate_suite", "least_squares_scale",
           "rule_for_target"]

REFINE_MODES = ("none", "scale", "latent", "waveform", "both")


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
    return self.misfit[:, band_mask(self.periods_s, self.band_s)]

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
            "max_pair_correlation": float(ground_motion.pair_correlations(self.accel_ms2).max()) if n > 1 else None}


def least_squares_scale(psa_ms2: np.ndarray, target_ms2: np.ndarray, weights=None) -> np.ndarray:
  """The factor ``k [N]`` that minimises ``sum_p w_p (k psa[n, p] - target[n, p])^2`` per record.

  ``k = sum(w psa target) / sum(w psa^2)``. Scaling a record by ``k`` scales its spectrum by
  ``k`` exactly (the oscillators are linear), so this is the best linear amplitude scaling
  of the record to the target in (weighted) least squares on linear PSA, the measure of the
  paper's RMSE.

  Args:
    psa_ms2: ``[N, P]`` spectra of the records, m/s^2 (> 0).
    target_ms2: ``[N, P]`` (or ``[P]``) target spectra, m/s^2.
    weights: ``[P]`` non-negative weights (default 1), not all 0.

  Returns:
    ``[N]`` float32 factors (dimensionless).

  Raises:
    ValueError: ``psa_ms2`` not ``[N, P]``, finite and > 0; a target that does not broadcast
      to it or is not finite; weights not ``[P]``, finite and >= 0 with a positive sum.
  """
  psa = np.asarray(psa_ms2, np.float64)
  if psa.ndim != 2 or not np.all(np.isfinite(psa)) or np.any(psa <= 0):
    raise ValueError(f"psa_ms2 must be [N, P], finite and > 0 (got shape {psa.shape})")
  w = np.ones(psa.shape[-1]) if weights is None else np.asarray(weights, np.float64)
  if w.shape != psa.shape[-1:] or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
    raise ValueError(f"weights must be [{psa.shape[-1]}], finite, >= 0 and not all 0 (got shape {w.shape})")
  try:
    target = np.broadcast_to(np.asarray(target_ms2, np.float64), psa.shape)
  except ValueError as e:
    raise ValueError(f"target_ms2 of shape {np.shape(target_ms2)} does not fit psa_ms2 {psa.shape}") from e
  if not np.all(np.isfinite(target)):
    raise ValueError("target_ms2 must be finite")
  return ((w * psa * target).sum(-1) / (w * psa * psa).sum(-1)).astype(np.float32)


def band_mask(periods_s: np.ndarray, band_s) -> np.ndarray:
  """Boolean ``[P]``: periods inside ``band_s = (t_min, t_max)`` (inclusive, 1e-9 slack)."""
  lo, hi = band_s
  if not 0 < lo < hi:
    raise ValueError(f"band_s must be (t_min, t_max) with 0 < t_min < t_max, got {band_s}")
  periods_s = np.asarray(periods_s)
  mask = (periods_s >= lo * (1 - 1e-9)) & (periods_s <= hi * (1 + 1e-9))
  if not mask.any():
    raise ValueError(f"band_s {band_s} holds none of the periods {periods_s.min():.3g}-{periods_s.max():.3g} s")
  return mask


# ---------------------------------------------------------------------------
# Jitted pieces (module level: pure functions of arrays and hashable statics).


@functools.partial(jax.jit, static_argnames=("model",))
def _decode(model, variables, z, c):
  return model.apply(variables, z, c, method=models.CVAEGAN.generate)[..., 0]


def _log_psa(x, dt, periods, damping):
  """log10 PSA ``[N, P]`` of records ``x [N, T]`` (the spectral loss's own function)."""
  return losses.log_spectrum(x[..., None], dt, periods, damping)


def _band_error(log_psa, log_target, mask):
  """Largest |relative misfit| inside the band, per record ``[N]``."""
  rel = jnp.abs(10.0 ** (log_psa - log_target) - 1.0)
  return jnp.max(jnp.where(mask, rel, 0.0), axis=-1)


def _adam_loop(loss_fn, error_fn, params, lr: float, max_steps: int, tol: float):
  """Adam on per-record parameters ``[N, ...]`` until every record's error <= tol.

  ``loss_fn(params) -> [N]`` per-record losses (summed for the gradient, so records do
  not interact); ``error_fn(params) -> [N]``. A converged record stops moving.
  Returns (params, steps taken).
  """
  tx = optax.adam(lr)

  def cond(carry):
    _, _, step, done = carry
    return (step < max_steps) & ~jnp.all(done)

  def body(carry):
    p, opt, step, done = carry
    grads = jax.grad(lambda q: jnp.sum(loss_fn(q)))(p)
    updates, opt = tx.update(grads, opt, p)
    keep = done.reshape((-1,) + (1,) * (p.ndim - 1))
    p = jnp.where(keep, p, optax.apply_updates(p, updates))
    return p, opt, step + 1, error_fn(p) <= tol

  carry = (params, tx.init(params), jnp.zeros((), jnp.int32), error_fn(params) <= tol)
  p, _, steps, _ = jax.lax.while_loop(cond, body, carry)
  return p, steps


@functools.partial(jax.jit, static_argnames=("model", "dt", "periods", "damping", "max_steps"))
def _refine_latent(model, variables, z, c, scale, log_target, weights, mask, *, dt, periods, damping,
                   max_steps, lr, tol, prior_weight):
  """Adam on ``z [N, L]``: weighted mean squared log10 misfit + prior pull."""
  log_scale = jnp.log10(scale)[:, None]

  def log_psa(zz):
    x = model.apply(variables, zz, c, method=models.CVAEGAN.generate)[..., 0]
    return _log_psa(x, dt, periods, damping) + log_scale

  def loss(zz):
    err = (log_psa(zz) - log_target) ** 2
    return jnp.sum(weights * err, axis=-1) / jnp.sum(weights) + prior_weight * jnp.mean(zz**2, axis=-1)

  return _adam_loop(loss, lambda zz: _band_error(log_psa(zz), log_target, mask), z, lr, max_steps, tol)


def _psa_and_jacobian(a, dt, periods, damping):
  """PSA ``[N, P]`` of ``a [N, T]`` and its exact Jacobian ``[N, P, T]``.

  The Jacobian comes from the spectrum's own VJP, mapped over one-hot cotangents: each
  row is the oscillator's impulse response read backwards from its peak time.
  """
  psa, vjp = jax.vjp(lambda aa: spectra.response_spectrum(aa, dt, periods, damping), a)
  n_p = len(periods)
  cots = jnp.broadcast_to(jnp.eye(n_p, dtype=a.dtype)[:, None, :], (n_p, a.shape[0], n_p))
  (jac,) = jax.vmap(vjp)(cots)
  return psa, jnp.moveaxis(jac, 0, 1)


@functools.lru_cache(maxsize=8)
def _baseline_projector(num_samples: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
  """``(U [T, 2], M [2, T])`` with ``P a = a - U (M a)`` the linear baseline correction.

  ``P`` subtracts the unique ``c0 + c1 t`` that makes the trapezoid-rule final velocity
  and displacement (from rest) zero: the same operator as
  ``ground_motion.baseline_correct(a, dt, order=3)``, as matrices so the refinement
  keeps every iterate corrected.
  """
  vel, disp = ground_motion.velocity_displacement(np.eye(num_samples), dt)
  ends = np.stack([vel[:, -1], disp[:, -1]])  # [2, T]: end velocity and displacement per unit impulse.
  t = np.arange(num_samples) * dt
  u = np.stack([np.ones(num_samples), t / t[-1]], axis=1)  # [T, 2]
  m = np.linalg.solve(ends @ u, ends)
  return u.astype(np.float32), m.astype(np.float32)


_STEP_SIZES = (1.0, 0.5, 0.2)  # Tried along each Gauss-Newton direction (and 0: stay).


@functools.partial(jax.jit, static_argnames=("dt", "periods", "damping", "max_steps"))
def _refine_waveform(x, log_target, weights, mask, proj_u, proj_m, *, dt, periods, damping, max_steps, tol, damping_mu):
  """Levenberg-Marquardt on an additive correction of each record ``x [N, T]`` (m/s^2).

  Each step solves, per record, ``min_d sum_j w_j (r_j - (J d)_j)^2 + mu |d|^2`` with
  ``r = ln(target / PSA)`` and ``J`` the exact Jacobian of ``ln PSA`` (rows with
  ``w_j = 0`` are left free); by the push-through identity ``d = J^T (J J^T +
  mu W^-1)^-1 r``, a [P, P] solve. ``d`` is a sum of the oscillators' impulse responses
  ending at their peak times: a smooth, local correction (the wavelets of time-domain
  spectral matching, Lilhanand & Tseng 1988, here exact). The peak times move as the
  record changes, so each record takes the best of a few step sizes along ``d`` and
  adapts its own ``mu``. Corrections are projected by the baseline correction
  ``P = I - U M`` (``proj_u [T, 2]``, ``proj_m [2, T]``), with ``J P`` in the solve, so
  a corrected input stays corrected. Records stop when their largest |misfit| inside the band is
  <= tol.
  """
  ln10 = jnp.log(10.0)
  free = weights <= 0
  w = jnp.where(free, 0.0, weights)
  alphas = jnp.asarray(_STEP_SIZES, x.dtype)

  def cond(carry):
    _, _, step, done = carry
    return (step < max_steps) & ~jnp.all(done)

  def body(carry):
    a, mu, step, _ = carry
    psa, jac = _psa_and_jacobian(a, dt, periods, damping)
    psa = jnp.maximum(psa, conditioning.TINY)
    log_psa = jnp.log10(psa)
    done = _band_error(log_psa, log_target, mask) <= tol
    r = jnp.where(free, 0.0, (log_target - log_psa) * ln10)
    # Minimax flavour: the periods furthest off count more (IRLS towards the largest error).
    worst = jnp.max(jnp.abs(r) * w, axis=-1, keepdims=True) + 1e-12
    w_step = w * (1.0 + 9.0 * (jnp.abs(r) * w / worst) ** 2)
    jl = jac / psa[..., None]
    jl = jl - jnp.einsum("npk,kt->npt", jnp.einsum("npt,tk->npk", jl, proj_u), proj_m)  # J P
    c = jnp.einsum("npt,nqt->npq", jl, jl)
    scale = mu * jnp.mean(jnp.diagonal(c, axis1=1, axis2=2), axis=-1)
    reg = jnp.where(free, 1e12, scale[:, None] / jnp.maximum(w_step, 1e-6))
    b = jnp.linalg.solve(c + reg[..., None] * jnp.eye(c.shape[-1], dtype=c.dtype), r[..., None])[..., 0]
    d = jnp.einsum("np,npt->nt", b, jl)
    d = d - (d @ proj_m.T) @ proj_u.T  # P d (P is a projector: JP d = J P d).
    trial = a[None] + alphas[:, None, None] * d[None]  # [S, N, T]
    log_trial = _log_psa(trial, dt, periods, damping)
    # Candidates: the current record (its spectrum is known) and each step size along d.
    objs = jnp.concatenate([jnp.sum(w_step * (log_psa - log_target) ** 2, axis=-1)[None],
                            jnp.sum(w_step * (log_trial - log_target) ** 2, axis=-1)])  # [S + 1, N]
    best = jnp.argmin(objs, axis=0)  # [N]
    alpha = jnp.concatenate([jnp.zeros((1,), x.dtype), alphas])[best]
    a_new = a + alpha[:, None] * d
    mu = jnp.clip(jnp.where(alpha >= 0.5, mu / 2, mu * 4), 1e-4, 1e2)
    a = jnp.where(done[:, None], a, a_new)
    return a, mu, step + jnp.where(jnp.all(done), 0, 1), done

  mu0 = jnp.full((x.shape[0],), damping_mu, x.dtype)
  a, _, steps, _ = jax.lax.while_loop(cond, body, (x, mu0, jnp.zeros((), jnp.int32), jnp.zeros(x.shape[0], bool)))
  return a, steps


# ---------------------------------------------------------------------------


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
    from cvaegan_jax import train
    self.config = config
    self.static = train.make_static(config)
    self.model = self.static.model
    self.variables = variables
    self.cond_stats = {k: np.asarray(v, np.float32) for k, v in cond_stats.items()}
    self.periods_s = np.asarray(self.static.periods)
    self.dt = float(self.static.dt)
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
    from cvaegan_jax import checkpoints, train
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
    static = train.make_static(saved)
    p = saved.data.num_periods
    like = train.init_state(static, {"mean": np.zeros(p), "std": np.ones(p)}, 0)
    try:
      state = checkpoints.restore_latest(manager, like)
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
    if refine not in REFINE_MODES:
      raise ValueError(f"refine must be one of {REFINE_MODES}, got {refine!r}")
    temperature = validation.non_negative_float(temperature, "temperature")
    psa = np.asarray(psa_ms2, np.float32)
    if psa.ndim != 2 or psa.shape[1] != self.periods_s.size:
      raise ValueError(f"psa_ms2 must be [N, {self.periods_s.size}] on the model's periods, got {psa.shape}")
    if not np.all(np.isfinite(psa)) or np.any(psa <= 0):
      raise ValueError("psa_ms2 must be finite and positive")
    mask_np = band_mask(self.periods_s, band_s)
    c, scale = self.condition(psa)
    n = psa.shape[0]
    z = temperature * jax.random.normal(jax.random.PRNGKey(seed), (n, self.config.model.latent_dim))
    log_target = jnp.log10(psa)
    weights_np = np.where(mask_np, 1.0, outside_weight)
    weights = jnp.asarray(weights_np, jnp.float32)
    mask = jnp.asarray(mask_np)
    # Periods below 2 dt hold no energy of their own (they follow the PGA): not matched.
    match_weights = jnp.where(jnp.asarray(self.periods_s) >= 2 * self.dt, weights, 0.0)
    statics = dict(dt=self.dt, periods=self.static.periods, damping=self.damping)
    steps = (0, 0)
    if refine in ("latent", "both") and max_latent_steps:
      z, s = _refine_latent(self.model, self.variables, z, c, scale, log_target, weights, mask,
                            max_steps=int(max_latent_steps), lr=0.05, tol=tol, prior_weight=1e-3, **statics)
      steps = (int(s), 0)
    x = _decode(self.model, self.variables, z, c) * scale[:, None]
    if refine in ("waveform", "both") and max_waveform_steps:
      proj_u, proj_m = (jnp.asarray(v) for v in _baseline_projector(self.num_samples, self.dt))
      x = x - (x @ proj_m.T) @ proj_u.T  # Baseline-corrected start; the corrections keep it so.
      x, s = _refine_waveform(x, log_target, match_weights, mask, proj_u, proj_m, max_steps=int(max_waveform_steps), tol=tol,
                              damping_mu=1e-3, **statics)
      steps = (steps[0], int(s))
    x = np.asarray(x, np.float64)
    if baseline:
      x = ground_motion.baseline_correct(x, self.dt)
    x = x.astype(np.float32)
    out = np.asarray(spectra.response_spectrum(x, self.dt, self.periods_s, self.damping))
    factors = None
    if refine == "scale":
      factors = least_squares_scale(out, psa, weights_np)
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
        ``"ec8:type=1,ground=B,ag=0.3g"``, see :func:`cvaegan_jax.targets.parse`).
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
    from cvaegan_jax import targets
    if isinstance(target, str):
      target = targets.parse(target, periods_s=self.periods_s)
    if int(num) < 1:
      raise ValueError(f"num must be >= 1, got {num}")
    on_grid = target.at(self.periods_s, extrapolate=extrapolate)
    psa = np.broadcast_to(on_grid.sa_ms2.astype(np.float32), (int(num), self.periods_s.size))
    result = self.sample(psa, seed=seed, refine=refine, **kwargs)
    result.target_name = target.name
    return result


def rule_for_target(target: str) -> str:
  """The compliance rule of a target spec's own design code, for ``rule="auto"``.

  Args:
    target: a target spec (:func:`cvaegan_jax.targets.parse`).

  Returns:
    ``"ec8"`` for an ``ec8:`` target, ``"asce7-16"`` / ``"asce7-22"`` for an ``asce7:``
    target (its ``edition``; when not given, :func:`cvaegan_jax.targets.asce7`'s default),
    and ``""`` (no check) for the others: GB 50011 has no suite rule here, and a file or a
    record names no code.

  Raises:
    ValueError: a malformed spec (:func:`cvaegan_jax.targets.parse_spec`).
  """
  import inspect
  from cvaegan_jax import targets
  code, kwargs = targets.parse_spec(target)
  if code == "ec8":
    return "ec8"
  if code == "asce7":
    return "asce7-" + kwargs.get("edition", inspect.signature(targets.asce7).parameters["edition"].default)
  return ""


def generate_suite(workdir: str, target: str, num: int = 11, seed: int = 0, refine: str = "waveform",
                   out_dir: str | None = None, formats=("at2", "csv", "npz"), extrapolate: bool = False,
                   rule: str = "", t1_s: float = 1.0, tol: float = 0.02, band_s=(0.05, 4.0),
                   temperature: float = 1.0) -> dict:
  """The generate job: load ``workdir``, generate a suite for ``target``, export, check, plot.

  Args:
    workdir: training workdir (config.json + checkpoints).
    target: a target spec (see :func:`cvaegan_jax.targets.parse`), e.g.
      ``"ec8:type=1,ground=B,ag=0.3g"`` or ``"file:my_spectrum.csv,unit=g"``.
    num, seed, refine, extrapolate, tol, band_s, temperature: see :meth:`Generator.generate`
      and :meth:`Generator.sample`.
    out_dir: where records, ``suite.json`` and ``suite.png`` go (default
      ``workdir/generated``).
    formats: any of "at2", "csv", "npz", "mseed", "sac".
    rule: "" (no check), "ec8", "asce7-16" or "asce7-22": suite compliance of the
      records' mean spectrum (:func:`cvaegan_jax.compliance.check_suite`) around ``t1_s``;
      "auto": the rule of the target's own code (:func:`rule_for_target`), none for others.

  Returns:
    dict: ``generation`` (:class:`Generation`), ``files`` (written paths), ``summary``
    (what ``suite.json`` holds) and ``check`` (the compliance result or None).
  """
  import json
  from cvaegan_jax import compliance, evaluate, exports, targets

  gen = Generator.from_workdir(workdir)
  tgt = targets.parse(target, periods_s=gen.periods_s)
  result = gen.generate(tgt, num=num, seed=seed, refine=refine, extrapolate=extrapolate, tol=tol, band_s=band_s,
                        temperature=temperature)
  out_dir = out_dir or os.path.join(workdir, "generated")
  os.makedirs(out_dir, exist_ok=True)
  names = [f"gen_{seed:04d}_{i:03d}" for i in range(num)]
  files = []
  for fmt in formats:
    extra = dict(periods_s=result.periods_s, psa_ms2=result.psa_ms2, target_ms2=result.target_ms2[0],
                 misfit=result.misfit) if fmt == "npz" else {}
    files += exports.export(out_dir, result.accel_ms2, result.dt, fmt, names=names, **extra)
  check = None
  if rule == "auto":
    rule = rule_for_target(target)
    if not rule:
      logging.info("no compliance check: target %r is not an ec8 or asce7 design spectrum", target)
  if rule:
    check = compliance.check_suite(result.accel_ms2, result.dt, tgt.at(gen.periods_s, extrapolate=extrapolate),
                                   rule, t1_s=t1_s, damping=gen.damping)
    print(check.to_text())
  summary = dict(result.summary(), target=target, target_name=tgt.name, seed=seed, workdir=workdir,
                 checkpoint_step=gen.step, files=files, check=check.to_dict() if check else None)
  with open(os.path.join(out_dir, "suite.json"), "w") as f:
    json.dump(summary, f, indent=1, default=float)
  fig = os.path.join(out_dir, "suite.png")
  evaluate.plot_suite(result, fig, title=f"{tgt.name}: {num} records, refine={refine}"
                      + (f", temperature {temperature:g}" if temperature != 1 else ""))
  files += [os.path.join(out_dir, "suite.json"), fig]
  print(f"{num} records for {tgt.name}: mean |misfit| {summary['mean_abs_misfit']:.2%}, "
        f"max {summary['max_abs_misfit']:.2%} over {band_s[0]}-{band_s[1]} s"
        + (f"; largest correlation between two records {summary['max_pair_correlation']:.2f}" if num > 1 else "")
        + (f"; {rule} check {'passed' if check.passed else 'FAILED'}" if check else "") + f"; wrote {out_dir}")
  return dict(generation=result, files=files, summary=summary, check=check)


def main(argv):
  """``python -m cvaegan_jax.generate`` (flags: see ``--help``)."""
  del argv
  from absl import flags
  f = flags.FLAGS
  generate_suite(f.workdir, f.target, num=f.num, seed=f.seed, refine=f.refine, out_dir=f.out,
                 formats=tuple(f.format), extrapolate=f.allow_extrapolation, rule=f.check, t1_s=f.t1,
                 tol=f.tol, temperature=f.temperature)


def _define_flags():
  from absl import flags
  flags.DEFINE_string("workdir", None, "Training workdir (config.json + checkpoints).", required=True)
  flags.DEFINE_string("target", None, "Target spec, e.g. 'ec8:type=1,ground=B,ag=0.3g', "
                      "'asce7:sds=1.0,sd1=0.6,tl=8', 'gb50011:amax=0.16,tg=0.45', 'file:sa.csv,unit=g', "
                      "'record:motion.AT2'.", required=True)
  flags.DEFINE_integer("num", 11, "Records to generate.")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.DEFINE_enum("refine", "waveform", list(REFINE_MODES),
                    "Refinement: none, scale (least-squares amplitude factor only), latent, waveform (default), both.")
  flags.DEFINE_float("temperature", 1.0, "Prior temperature: z = temperature * N(0, I); below 1 the records fit "
                     "the target better and are more alike.")
  flags.DEFINE_string("out", None, "Output folder (default WORKDIR/generated).")
  flags.DEFINE_list("format", ["at2", "csv", "npz"], "Export formats: at2, csv, npz, mseed, sac.")
  flags.DEFINE_bool("allow_extrapolation", False, "Extrapolate a target that does not cover the model's periods.")
  flags.DEFINE_string("check", "", "Suite compliance rule: ec8, asce7-16, asce7-22, auto (the target's own code; "
                      "none for other targets) or empty: none.")
  flags.DEFINE_float("t1", 1.0, "Fundamental period T1 (s) for the compliance check.")
  flags.DEFINE_float("tol", 0.02, "Refinement tolerance on the largest |misfit| per record.")


if __name__ == "__main__":
  from absl import app
  _define_flags()
  app.run(main)
