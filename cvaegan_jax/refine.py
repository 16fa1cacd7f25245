"""Exact spectral refinement of generated records: amplitude scale, latent, waveform.

Given records, targets and the model's periods, each function moves the records' 5%-damped
(or other) PSA towards the target through the exact, differentiable response spectrum
(:mod:`cvaegan_jax.spectra`):

* :func:`least_squares_scale`: the one amplitude factor per record that fits its spectrum
  in weighted least squares (linear scaling, exact since PSA(k a) = k PSA(a));
* :func:`latent`: Adam steps on the latent ``z`` through the decoder, on the prior's shell;
* :func:`prescale`: Fourier amplitudes times the target / PSA ratio by a causal
  (minimum-phase) filter, :func:`minimum_phase`;
* :func:`waveform`: Levenberg-Marquardt steps on an additive, baseline-corrected
  correction of each record, built from the exact Jacobian (the wavelets of time-domain
  spectral matching, Lilhanand & Tseng 1988), each row lowering every peak that would
  take over;
* :func:`match`: the two in turn, for any records (what ``refine="waveform"`` runs), with
  the records' own timing restored between rounds of passes (:func:`timing`), and retried
  from their best for the records left above ``tol``;
* :func:`match_pairs`: the same for pairs of horizontal components and their RotD100 (or
  another RotDnn), both components corrected together (:func:`waveform_pairs`).

All steps are jitted and batched over the records; a record stops once its largest
|misfit| inside the band is at most ``tol``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cvaegan_jax import conditioning, fit, intensity, losses, models, spectra

__all__ = ["REFINE_MODES", "OUTSIDE_WEIGHT", "LATENT_LR", "LATENT_R2_WEIGHT", "least_squares_scale", "latent",
           "waveform", "waveform_pairs", "prescale", "fourier_gain", "minimum_phase", "match", "match_pairs",
           "pair_spectrum", "MatchResult",
           "ROTD_ANGLES", "PRESCALE_STEPS",
           "baseline_projector", "timing", "timing_gain", "TIMING_ORDER"]

REFINE_MODES = ("none", "scale", "latent", "waveform", "both")
OUTSIDE_WEIGHT = 0.1  # Default weight of the misfit outside the band (inside: 1); see match's outside_weight.
SMOOTHING = 0.1  # Default width of the first passes' gain smoothing (ln frequency); see match's smoothing.


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


def _log_psa(x, dt, periods, damping):
  """log10 PSA ``[N, P]`` of records ``x [N, T]`` (the spectral loss's own function, with the
  small batches' kernel)."""
  return losses.log_spectrum(x[..., None], dt, periods, damping, small_batch=True)


def _band_error(log_psa, log_target, mask):
  """Largest |relative misfit| inside the band, per record ``[N]``."""
  rel = jnp.abs(10.0 ** (log_psa - log_target) - 1.0)
  return jnp.max(jnp.where(mask, rel, 0.0), axis=-1)


LATENT_LR = 0.1  # Adam's step on the latent in refine="latent" (0.05: 1.5 points less of share in 20 steps).
LATENT_R2_WEIGHT = 0.5  # Weight of 1 - R^2 (linear PSA) beside the log misfit in refine="latent" (0: 2 points less).
_LATENT_ADAM = optax.adam(LATENT_LR)


def _rms(z, eps: float = 0.0):
  """Root mean square of each latent of ``z [N, ...]`` over its own axes (``eps`` added to
  the mean square), ``[N, 1, ...]``."""
  return jnp.sqrt(jnp.mean(z**2, axis=tuple(range(1, z.ndim)), keepdims=True) + eps)


def _latent_loss(log_psa, log_target, weights):
  """``[N]`` the latent search's loss: the weighted (``weights [P]``) mean squared log10 misfit
  plus :data:`LATENT_R2_WEIGHT` times ``1 - R^2`` of the linear spectra over every period. The
  log misfit weighs every period alike; ``1 - R^2`` weighs the spectrum's peak, where the
  paper's criterion (R^2 > 0.8) is decided."""
  log_mse = jnp.sum(weights * (log_psa - log_target) ** 2, axis=-1) / jnp.sum(weights)
  ss_res, ss_tot = fit.spectral_sums(10.0 ** log_target, 10.0 ** log_psa)  # fit.spectral_r2's, unchecked.
  return log_mse + LATENT_R2_WEIGHT * ss_res / ss_tot


@functools.partial(jax.jit, static_argnames=("model", "dt", "periods", "damping", "post"))
def _latent_step(model, variables, z, opt_state, norm, c, scale, log_target, weights, mask, log10_gain, post_args, *,
                 dt, periods, damping, tol, post):
  """One Adam step of :func:`latent` on the records not yet within ``tol``: ``(z, opt_state,
  error [N])``, the error (largest |misfit| in the band) of the ``z`` it started from."""
  def loss(zz):
    zz = zz * norm / _rms(zz, 1e-12)  # On the prior's shell.
    x = model.apply(variables, zz, c, method=models.CVAEGAN.generate)[..., 0]
    if log10_gain is not None:
      x = fourier_gain(x, log10_gain, dt=dt, periods=periods)
    x = x * scale[:, None]
    if post is not None:
      x = post(x, *post_args)
    lp = _log_psa(x, dt, periods, damping)
    return jnp.sum(_latent_loss(lp, log_target, weights)), _band_error(lp, log_target, mask)

  grads, error = jax.grad(loss, has_aux=True)(z)
  updates, opt_state = _LATENT_ADAM.update(grads, opt_state, z)
  moved = optax.apply_updates(z, updates)
  moved = moved * norm / _rms(moved, 1e-12)
  done = (error <= tol).reshape((-1,) + (1,) * (z.ndim - 1))
  return jnp.where(done, z, moved), opt_state, error


def latent(model, variables, z, c, scale, log_target, weights, mask, *, dt, periods, damping, max_steps: int,
           tol: float, log10_gain=None, post=None, post_args=()):
  """Adam on the latents ``z [N, ...]`` (up to ``max_steps`` steps, :data:`LATENT_LR`) so that
  the decoded records' log10 PSA fits ``log_target [N, P]``: weighted (``weights [P]``) mean
  squared misfit plus a share of ``1 - R^2`` (:func:`_latent_loss`), each record until its
  largest |misfit| inside the band (``mask [P]``) is at most ``tol``.

  Each latent keeps its norm (the prior sample's it started from): the search moves over the
  shell where the prior's samples lie, not towards its centre, which would lower the
  temperature (without it the 600-event model's latents lost a quarter of their mean square
  in 20 steps; docs/experiments.md). ``c [N, C]`` conditions, ``scale [N]`` waveform scales
  (m/s^2); ``log10_gain [P]`` (or None): the fixed filter every decoded record goes through
  (:func:`fourier_gain`: the generator's calibration); ``post`` (or None): a hashable JAX
  function ``post(x [N, T] m/s^2, *post_args) -> [N, T]`` applied after it (the generator's
  timing step), so that the search fits the record the generator returns, not the decoder's
  output before those steps.

  The steps run from Python, each one jitted: on XLA's CPU backend the same step inside
  ``lax.while_loop`` took 2.4 times as long. Returns ``(z, steps taken)``.
  """
  z = jnp.asarray(z)
  norm = _rms(z)
  opt_state = _LATENT_ADAM.init(z)
  args = (jnp.asarray(c), jnp.asarray(scale, jnp.float32), jnp.asarray(log_target), jnp.asarray(weights),
          jnp.asarray(mask), None if log10_gain is None else jnp.asarray(log10_gain), tuple(post_args))
  steps = 0
  for _ in range(int(max_steps)):
    moved, opt_state, error = _latent_step(model, variables, z, opt_state, norm, *args, dt=dt, periods=periods,
                                           damping=damping, tol=tol, post=post)
    if np.all(np.asarray(error) <= tol):
      break
    z, steps = moved, steps + 1
  return z, steps


def _local_peaks(v, axis: int = -1):
  """``v >= 0`` with time on ``axis``: True where a sample is at least both its neighbours
  (the window's ends compared with 0). Shifted slices of one zero-padded copy: ``jnp.roll``
  copies the array twice and made the step's peak masks twice as slow."""
  axis = axis % v.ndim
  n = v.shape[axis]
  pad = jnp.pad(v, [(1, 1) if k == axis else (0, 0) for k in range(v.ndim)])
  return ((v >= jax.lax.slice_in_dim(pad, 0, n, axis=axis)) & (v >= jax.lax.slice_in_dim(pad, 2, n + 2, axis=axis)))


def _active_weights(m, target_u):
  """The active set of the matching steps' Jacobians: ``m [T, N, P]`` (>= 0, time first) ->
  ``(peak [N, P], weight [T, N, P])``, the weight ``1 / k`` on each of the ``k`` local peaks
  of ``m`` at or above ``min(target_u, peak)`` (``target_u [N, P]``), 0 elsewhere."""
  peak = jnp.max(m, axis=0)
  active = _local_peaks(m, axis=0) & (m >= jnp.minimum(target_u, peak)[None])
  return peak, jnp.where(active, 1.0, 0.0) / jnp.maximum(jnp.sum(active, axis=0, keepdims=True), 1)


def _transposed_pass(q, dt, periods, damping):
  """The transpose of the oscillators' map applied to per-oscillator ``q [T, B, P]`` (time
  first): ``[T, B, P]``, the gradient of ``sum(q * u)`` with respect to each drive sample
  (:func:`cvaegan_jax.spectra.displacement_history` on the time-reversed ``q``, reversed)."""
  return spectra.displacement_history(q[::-1], dt, periods, damping, time_major=True)[::-1]


def _active_jacobian(a, target_u, dt, periods, damping):
  """PSA ``[N, P]`` of ``a [N, T]`` and the Jacobian rows the matching steps use, time-major
  ``[T, N, P]`` (row ``[n, p]`` is ``rows[:, n, p]``).

  PSA is a maximum over time, so its gradient sees only the peak's sample: lowering that
  peak leaves the next one, nearly as high, in charge, and the iteration stalls. Each row
  is instead the mean of the exact gradients of every local peak of ``|u|`` at or above
  ``min(target, peak)`` (displacement ``target_u [N, P]``): a step that lowers the row by
  ``r`` lowers each of those peaks by ``r``, and a row that has to rise keeps its one peak.
  The rows come from one forward pass and one transposed pass of the oscillators, and stay
  in the recurrence's own time-major layout: on XLA:CPU moving time last costs as much as
  the transposed pass itself.
  """
  u = spectra.displacement_history(a.T, dt, periods, damping, time_major=True)  # [T, N, P]
  peak, weight = _active_weights(jnp.abs(u), target_u)
  rows = _transposed_pass(weight * jnp.sign(u), dt, periods, damping)
  omega2 = jnp.asarray((2.0 * np.pi / np.asarray(periods)) ** 2, a.dtype)
  return peak * omega2, rows * omega2


@functools.lru_cache(maxsize=8)
def baseline_projector(num_samples: int, dt: float, order: int = 3) -> tuple[np.ndarray, np.ndarray]:
  """``(U [T, K], M [K, T])`` with ``P a = a - U (M a)`` the linear baseline correction.

  ``P`` is ``intensity.baseline_correct(a, dt, order)`` as matrices (``K = order - 1``
  acceleration polynomial terms), so the refinement keeps every iterate corrected. With
  ``order=3`` it subtracts the unique ``c0 + c1 t`` that makes the trapezoid-rule final
  velocity and displacement (from rest) zero; higher orders also pull the displacement
  towards zero along the record (less drift, smaller PGD).
  """
  t = np.arange(num_samples) * dt
  u = np.stack([(t / t[-1]) ** k for k in range(order - 1)], axis=1)  # [T, K]
  removed = np.eye(num_samples) - intensity.baseline_correct(np.eye(num_samples), dt, order=order).T  # I - P
  m = np.linalg.lstsq(u, removed, rcond=None)[0]
  return u.astype(np.float32), m.astype(np.float32)


_CORRECTION_ENVELOPE_S = 1.0  # The time-domain corrections follow the record's RMS over this window, s,
_CORRECTION_FLOOR = 0.02  # relative to its largest value, at least this.
_END_TAPER_S = 1.0  # The frequency-domain passes leave the window's last second as it was, tapering in.
_STEP_SIZES = (1.0, 0.5, 0.2)  # Tried along each Gauss-Newton direction (and 0: stay).
_MU_MIN, _MU_MAX = 1e-4, 1e2  # Bounds of the Levenberg-Marquardt damping (halved on a step of 0.5 or 1, else x4).
ROTD_ANGLES = 180  # Angles (over 180 degrees) of the RotDnn spectra below 100 (as Boore 2010).


def pair_spectrum(a, dt, periods, damping, percentile, small_batch=False):
  """The RotDnn matched for pairs: ``[..., P]`` (m/s^2) of pairs ``a [..., 2, T]`` (m/s^2)
  at ``periods [P]`` (s): RotD100 exactly (:func:`cvaegan_jax.spectra.max_direction_spectrum`;
  ``small_batch`` as there), or another percentile over :data:`ROTD_ANGLES` angles."""
  if percentile == 100:
    return spectra.max_direction_spectrum(a, dt, periods, damping, small_batch=small_batch)
  return spectra.rotd_spectrum(a, dt, periods, damping, percentiles=(percentile,), num_angles=ROTD_ANGLES)[..., 0, :]


def _pair_jacobian(a, target_u, dt, periods, damping, percentile):
  """RotDnn ``[N, P]`` of pairs ``a [N, 2, T]`` and the Jacobian rows, time-major
  ``[T, N, 2, P]`` (as :func:`_active_jacobian`).

  RotD100 is ``omega^2 max_t r(t)`` with the orbit ``r = sqrt(u_1^2 + u_2^2)``; its
  gradient at a peak ``t*`` is the impulse response ending at ``t*`` along the direction of
  the orbit there, ``(u_1, u_2)(t*) / r(t*)``. As for one component
  (:func:`_active_jacobian`) each row is the mean over every local peak of ``r`` at or
  above ``min(target, peak)``. Another percentile is the interpolation between two
  angles' peaks (sorted over :data:`ROTD_ANGLES` angles): each contributes its own
  impulse response, along its angle, with the interpolation's weight.
  """
  n, _, num = a.shape
  p = len(periods)
  omega2 = jnp.asarray((2.0 * np.pi / np.asarray(periods)) ** 2, a.dtype)
  if percentile == 100:
    # Time-major throughout (the recurrence's own layout, as :func:`_active_jacobian`).
    u = spectra.displacement_history(a.reshape((2 * n, num)).T, dt, periods, damping, time_major=True)
    u = u.reshape((num, n, 2, p))  # [T, N, 2, P]
    r = jnp.sqrt(u[:, :, 0] ** 2 + u[:, :, 1] ** 2 + 1e-30)  # [T, N, P]
    peak, weight = _active_weights(r, target_u)
    q = weight[:, :, None] * u / r[:, :, None]  # [T, N, 2, P]
    value = peak
  else:
    # Each angle's peak, its time and sign: one oscillator pass per angle.
    peaks, idx, sign = (jnp.moveaxis(v, 1, 0) for v in spectra.rotated_peaks(a, dt, periods, damping,
                                                                               ROTD_ANGLES))  # [A, N, P]
    order = jnp.argsort(peaks, axis=0)  # [A, N, P]
    pos = percentile / 100.0 * (ROTD_ANGLES - 1)
    lo, frac = int(np.floor(pos)), float(pos - np.floor(pos))
    q = jnp.zeros((num, n, 2, p), a.dtype)
    value = jnp.zeros((n, p), a.dtype)
    for k, w in ((lo, 1.0 - frac), (min(lo + 1, ROTD_ANGLES - 1), frac)):
      ang = order[k]  # [N, P]
      pk = jnp.take_along_axis(peaks, ang[None], axis=0)[0]
      t_k = jnp.take_along_axis(idx, ang[None], axis=0)[0]
      s_k = jnp.take_along_axis(sign, ang[None], axis=0)[0]
      direction = jnp.stack([jnp.cos(jnp.pi * ang / ROTD_ANGLES), jnp.sin(jnp.pi * ang / ROTD_ANGLES)], 1)
      spike = jax.nn.one_hot(t_k, num, dtype=a.dtype, axis=0) * (w * s_k)[None]  # [T, N, P]
      q = q + direction.astype(a.dtype)[None] * spike[:, :, None]
      value = value + w * pk
  rows = _transposed_pass(q.reshape((num, 2 * n, p)), dt, periods, damping).reshape((num, n, 2, p))
  return value * omega2, rows * omega2


def _moving_mean(x, width: int, left: int):
  """Mean of ``x [B, T]`` over ``width`` samples, ``left`` of them before each sample (the
  edges held), ``[B, T]``: one cumulative sum."""
  padded = jnp.pad(x, ((0, 0), (left, width - 1 - left)), mode="edge")
  csum = jnp.concatenate([jnp.zeros((x.shape[0], 1), x.dtype), jnp.cumsum(padded, axis=-1)], axis=-1)
  return (csum[:, width:] - csum[:, :-width]) / width


def _levenberg_marquardt(x, log_target, weights, mask, proj_u, proj_m, jacobian, log_spectrum, *, dt, periods,
                         max_steps, tol, damping_mu):
  """The loop of :func:`waveform` on records of C components ``x [N, C, T]``:
  ``jacobian(a) -> (spectrum [N, P], rows [T, N, C, P])`` (time-major) and
  ``log_spectrum(trials [S, N, C, T]) -> [S, N, P]`` (log10) define the spectrum matched."""
  ln10 = jnp.log(10.0)
  free = weights <= 0
  w = jnp.where(free, 0.0, weights)
  alphas = jnp.asarray(_STEP_SIZES, x.dtype)
  # Corrections where the record shakes: the metric of d is the record's envelope (all
  # components together), so the quiet stretches (before the S waves, the coda's end) keep
  # their level.
  k = max(1, int(round(_CORRECTION_ENVELOPE_S / dt)))
  envelope = jnp.sqrt(jnp.maximum(_moving_mean(jnp.sum(x * x, axis=1), k, k // 2), 0.0))
  tw = jnp.maximum(envelope / jnp.max(envelope, axis=-1, keepdims=True), _CORRECTION_FLOOR)
  tw = tw.T[:, :, None, None]  # [T, N, 1, 1], as the rows [T, N, C, P].
  target_u = 10.0**log_target / jnp.asarray((2.0 * np.pi / np.asarray(periods)) ** 2, x.dtype)

  def linearise(a):
    """(log10 PSA [N, P], envelope-weighted rows of J P [T, N, C, P], Gram matrices [N, P, P])."""
    psa, jac = jacobian(a, target_u)
    psa = jnp.maximum(psa, conditioning.TINY)
    jl = jac / psa[:, None]
    jl = jl - jnp.einsum("tk,kncp->tncp", proj_m.T, jnp.einsum("tk,tncp->kncp", proj_u, jl))  # J P
    jw = jl * tw
    return jnp.log10(psa), jw, jnp.einsum("tncp,tncq->npq", jw, jl)

  def cond(carry):
    _, _, step, finished, _, _ = carry
    return (step < max_steps) & ~jnp.all(finished)

  def body(carry):
    a, mu, step, _, lin, moved = carry
    # After a step that moved no record, the linearisation is the one carried (4/5 of a step's time).
    log_psa, jw, c = jax.lax.cond(jnp.any(moved), linearise, lambda _: lin, a)
    done = _band_error(log_psa, log_target, mask) <= tol
    r = jnp.where(free, 0.0, (log_target - log_psa) * ln10)
    # Minimax flavour: the periods furthest off count more (IRLS towards the largest error).
    worst = jnp.max(jnp.abs(r) * w, axis=-1, keepdims=True) + 1e-12
    w_step = w * (1.0 + 9.0 * (jnp.abs(r) * w / worst) ** 2)
    scale = mu * jnp.mean(jnp.diagonal(c, axis1=1, axis2=2), axis=-1)
    reg = jnp.where(free, 1e12, scale[:, None] / jnp.maximum(w_step, 1e-6))
    b = jnp.linalg.solve(c + reg[..., None] * jnp.eye(c.shape[-1], dtype=c.dtype), r[..., None])[..., 0]
    d = jnp.moveaxis(jnp.einsum("np,tncp->tnc", b, jw), 0, -1)  # [N, C, T]
    d = d - (d @ proj_m.T) @ proj_u.T  # P d (P is a projector: JP d = J P d).
    trial = a[None] + alphas[:, None, None, None] * d[None]  # [S, N, C, T]
    log_trial = log_spectrum(trial)
    # Candidates: the current record (its spectrum is known) and each step size along d.
    objs = jnp.concatenate([jnp.sum(w_step * (log_psa - log_target) ** 2, axis=-1)[None],
                            jnp.sum(w_step * (log_trial - log_target) ** 2, axis=-1)])  # [S + 1, N]
    best = jnp.argmin(objs, axis=0)  # [N]
    alpha = jnp.concatenate([jnp.zeros((1,), x.dtype), alphas])[best]
    a_new = a + alpha[:, None, None] * d
    # A record that stays put with mu already at its largest would repeat this step exactly:
    # it is finished (stalled) as one within tol is.
    stalled = (alpha == 0) & (mu >= _MU_MAX)
    mu = jnp.clip(jnp.where(alpha >= 0.5, mu / 2, mu * 4), _MU_MIN, _MU_MAX)
    a = jnp.where(done[:, None, None], a, a_new)
    return (a, mu, step + jnp.where(jnp.all(done), 0, 1), done | stalled, (log_psa, jw, c),
            (alpha > 0) & ~done)

  mu0 = jnp.full((x.shape[0],), damping_mu, x.dtype)
  lin0 = jax.tree.map(lambda v: jnp.zeros(v.shape, v.dtype), jax.eval_shape(linearise, x))
  init = (x, mu0, jnp.zeros((), jnp.int32), jnp.zeros(x.shape[0], bool), lin0, jnp.ones(x.shape[0], bool))
  a, _, steps, _, _, _ = jax.lax.while_loop(cond, body, init)
  return a, steps


def _cpu_workers() -> int:
  """The CPU cores this process may use (:func:`match` runs a share of the records on each)."""
  try:
    return max(1, len(os.sched_getaffinity(0)))
  except AttributeError:  # Not on Linux.
    return max(1, os.cpu_count() or 1)


def _each_record(step, x, log_target, *args, **kwargs):
  """``step`` (jitted, on one record ``[1, ...]``) on each record of ``x [N, ...]`` in turn:
  ``(records [N, ...], steps [N])``. Each record stops at its own tol, so the batch does
  not wait for its slowest record, and every record costs what it needs: on XLA:CPU a step on
  one record takes 2.7-2.9 ms, on 11 together 4.2 ms a record (their histories, 13 MB, no
  longer fit the cache; 2026-12-06, 3000 samples, 100 periods)."""
  outs = [step(x[i:i + 1], log_target[i:i + 1], *args, **kwargs) for i in range(x.shape[0])]
  return jnp.concatenate([o[0] for o in outs]), jnp.stack([o[1] for o in outs])


@functools.partial(jax.jit, static_argnames=("dt", "periods", "damping", "max_steps"))
def _waveform_one(x, log_target, weights, mask, proj_u, proj_m, *, dt, periods, damping, max_steps, tol, damping_mu):
  """:func:`waveform` on one record ``x [1, T]``: ``(record [1, T], steps)``."""
  def jacobian(a, target_u):
    psa, rows = _active_jacobian(a[:, 0], target_u, dt, periods, damping)
    return psa, rows[:, :, None]

  a, steps = _levenberg_marquardt(x[:, None], log_target, weights, mask, proj_u, proj_m, jacobian,
                                  lambda trial: _log_psa(trial[..., 0, :], dt, periods, damping), dt=dt,
                                  periods=periods, max_steps=max_steps, tol=tol, damping_mu=damping_mu)
  return a[:, 0], steps


def waveform(x, log_target, weights, mask, proj_u, proj_m, *, dt, periods, damping, max_steps, tol, damping_mu):
  """Levenberg-Marquardt on an additive correction of each record ``x [N, T]`` (m/s^2).

  Each step solves, per record, ``min_d sum_j w_j (r_j - (J d)_j)^2 + mu d^T E^-1 d`` with
  ``r = ln(target / PSA)``, ``J`` the exact Jacobian of ``ln PSA`` (rows with ``w_j = 0``
  are left free) and ``E`` the record's 1 s RMS envelope over its peak (floored at 0.02),
  so that corrections go where it shakes and its quiet stretches keep their level (before
  the S waves, the end of the coda); by the push-through identity ``d = E J^T (J E J^T +
  mu W^-1)^-1 r``, a [P, P] solve. ``d`` is a sum of the oscillators' impulse responses
  ending at their peak times, weighted by the envelope: a smooth, local correction (the
  wavelets of time-domain spectral matching, Lilhanand & Tseng 1988, here exact). ``J`` is
  re-linearised at every step, and a spectral value that has to fall is lowered at every peak that would
  otherwise take over (:func:`_active_jacobian`). The peak times move as the record
  changes, so each record takes the best of a few step sizes along ``d`` and adapts its
  own ``mu``. Corrections are projected by the baseline correction
  ``P = I - U M`` (``proj_u [T, K]``, ``proj_m [K, T]``, :func:`baseline_projector`), with ``J P`` in the solve, so
  a corrected input stays corrected. Each record runs on its own (one compiled program for
  every batch size) and stops when its largest |misfit| inside the band is <= tol, or when no
  step size lowers its misfit with ``mu`` at its largest (each further step would repeat it).

  Args:
    x: ``[N, T]`` records, m/s^2; log_target: ``[N, P]`` log10 target PSA (m/s^2);
    weights: ``[P]`` misfit weights (0: free); mask: ``[P]`` bool, the band where tol counts;
    proj_u, proj_m: the baseline projector; dt, periods, damping, max_steps: static
    (s, tuple of s, ratio, count); tol: largest |misfit| aimed for; damping_mu: first mu.

  Returns:
    ``(records [N, T] m/s^2, steps [N] int32)``, each record's own steps.
  """
  return _each_record(_waveform_one, x, log_target, weights, mask, proj_u, proj_m, dt=dt, periods=periods,
                      damping=damping, max_steps=max_steps, tol=tol, damping_mu=damping_mu)


@functools.partial(jax.jit, static_argnames=("dt", "periods", "damping", "max_steps", "percentile"))
def _waveform_pair_one(x, log_target, weights, mask, proj_u, proj_m, *, dt, periods, damping, max_steps, tol,
                       damping_mu, percentile):
  """:func:`waveform_pairs` on one pair ``x [1, 2, T]``: ``(pair [1, 2, T], steps)``."""
  def log_spectrum(trial):
    spec = pair_spectrum(trial, dt, np.asarray(periods), damping, percentile, small_batch=True)
    return jnp.log10(jnp.maximum(spec, conditioning.TINY))

  return _levenberg_marquardt(x, log_target, weights, mask, proj_u, proj_m,
                              lambda a, target_u: _pair_jacobian(a, target_u, dt, periods, damping, percentile),
                              log_spectrum, dt=dt, periods=periods, max_steps=max_steps, tol=tol,
                              damping_mu=damping_mu)


def waveform_pairs(x, log_target, weights, mask, proj_u, proj_m, *, dt, periods, damping, max_steps, tol, damping_mu,
                   percentile=100.0):
  """:func:`waveform` for pairs of horizontal components ``x [N, 2, T]`` (m/s^2) and their
  RotDnn spectrum (``percentile``: 100 the maximum direction, 50 the median): one correction
  of both components per step, from the exact Jacobian of the RotDnn (:func:`_pair_jacobian`),
  each component kept baseline-corrected; each pair on its own. Returns ``(pairs [N, 2, T],
  steps [N])``."""
  return _each_record(_waveform_pair_one, x, log_target, weights, mask, proj_u, proj_m, dt=dt, periods=periods,
                      damping=damping, max_steps=max_steps, tol=tol, damping_mu=damping_mu,
                      percentile=float(percentile))


def minimum_phase(log_gain):
  """The minimum-phase frequency response ``[..., F]`` (complex) whose log amplitude is
  ``log_gain [..., F]`` (natural log, on the ``rfft`` bins of an even length ``2 (F - 1)``).

  Its phase is minus the Hilbert transform of the log amplitude, from the folded real
  cepstrum (Oppenheim & Schafer): the filter is causal, so it moves no energy ahead of an
  arrival (a zero-phase gain spreads it both ways in time), and of the causal filters of that
  amplitude it delays energy the least.
  """
  m = 2 * (log_gain.shape[-1] - 1)
  fold = np.zeros(m)
  fold[0] = fold[m // 2] = 1.0
  fold[1:m // 2] = 2.0
  cepstrum = jnp.fft.irfft(log_gain, m) * jnp.asarray(fold, log_gain.dtype)
  return jnp.exp(jnp.fft.rfft(cepstrum, m))


def _apply_log_gain(a, log_gain, dt: float, per: np.ndarray, pairs: bool = False):
  """Records ``a [N, T]`` (pairs: ``[N, 2, T]``, both components alike) through the causal
  filter whose natural-log amplitude is ``log_gain [N, P]`` at frequency 1 / T of the
  periods ``per [P]``: linear in log frequency between them, tapering to 0 below two thirds
  of the lowest frequency, its last value above the highest (:func:`minimum_phase`; zero-padded
  to twice the length, so nothing wraps around). The change tapers to 0 over the window's
  last :data:`_END_TAPER_S` (half a cosine): the filter's response to the last arrivals, cut
  at the window's end, would otherwise leave a ramp there that grows pass by pass."""
  n = a.shape[-1]
  log_f_nodes = jnp.asarray(-np.log(per)[::-1], a.dtype)  # Ascending ln f.
  log_f = jnp.log(jnp.maximum(jnp.fft.rfftfreq(2 * n, dt), 1e-9)).astype(a.dtype)
  taper = jnp.clip((log_f - (log_f_nodes[0] - np.log(1.5))) / np.log(1.5), 0.0, 1.0)
  t_left = dt * (n - 1 - np.arange(n))
  end = jnp.asarray(0.5 - 0.5 * np.cos(np.pi * np.clip(t_left / _END_TAPER_S, 0.0, 1.0)), a.dtype)
  gain = jax.vmap(lambda r: jnp.interp(log_f, log_f_nodes, r[::-1]))(log_gain) * taper
  gain = gain[:, None] if pairs else gain
  filtered = jnp.fft.irfft(jnp.fft.rfft(a, 2 * n) * minimum_phase(gain), 2 * n)[..., :n].astype(a.dtype)
  return a + end * (filtered - a)


@functools.partial(jax.jit, static_argnames=("dt", "periods"))
def fourier_gain(x, log10_gain, *, dt, periods):
  """Records ``x [N, T]`` (m/s^2) through one fixed causal filter whose amplitude is
  ``10 ** log10_gain [P]`` at frequency 1 / T of ``periods`` (static tuple, s): one pass of
  :func:`prescale` with that gain in place of target / PSA (the same interpolation, taper
  and end of window). Jitted."""
  log_gain = jnp.broadcast_to(jnp.log(10.0) * log10_gain, (x.shape[0], len(periods))).astype(x.dtype)
  return _apply_log_gain(x, log_gain, dt, np.asarray(periods))


@functools.partial(jax.jit, static_argnames=("dt", "periods", "damping", "iterations", "percentile", "smoothing"))
def prescale(x, log_target, weights, *, dt, periods, damping, iterations, percentile=None, smoothing=0.0):
  """Frequency-domain matching: ``iterations`` times, each record's Fourier amplitudes times
  the ratio target / PSA, interpolated over frequency, by a causal (minimum-phase) filter of
  that amplitude (:func:`minimum_phase`): the record's own phases plus the filter's, which
  may delay energy but never moves it ahead of an arrival.

  The first stage of :func:`match`: it moves the whole spectrum, jagged targets included,
  towards the target while keeping the record's envelope and arrival times, so the
  time-domain steps that follow (:func:`waveform`) only touch up a few percent. The
  ratio at period ``T`` acts at frequency ``1 / T`` (linear in log frequency between the
  periods, as the log ratio times ``weights``: 0 leaves a period out), tapers to 1 below
  two thirds of the lowest frequency and holds its last value above the highest. The
  record is zero-padded to twice its length, so nothing wraps around, and each pass's change
  tapers to 0 over the window's last second (:func:`_apply_log_gain`).

  Args:
    x: ``[N, T]`` records, or with ``percentile`` ``[N, 2, T]`` pairs, m/s^2.
    log_target: ``[N, P]`` log10 target PSA (m/s^2) on ``periods`` (ascending, s).
    weights: ``[P]`` in [0, 1]: the share of each period's log ratio applied.
    dt, periods, damping: static (s, tuple of s, ratio).
    iterations: passes (static).
    percentile: None for single components; for pairs the RotDnn matched (static; 100:
      maximum direction), and both components take the same gain, so the pair's
      polarisation at each frequency is kept (the pair matching of REQPY).
    smoothing: >= 0 (static), the standard deviation in ln frequency of a Gaussian that
      smooths each pass's log ratio over the periods (0: none). A gain that follows the
      ratio period by period is jagged at the grid's 7%, narrower than a 5%-damped
      oscillator's band: its filter rings for seconds, as lines across the whole window
      (:func:`cvaegan_jax.intensity.fourier_roughness`); 0.1 is the oscillators' band.

  Returns:
    records shaped as ``x``, m/s^2.
  """
  per = np.asarray(periods)
  ln10 = jnp.log(10.0)
  smoother = None
  if smoothing > 0:
    d = (np.log(per)[:, None] - np.log(per)[None]) / smoothing
    k = np.exp(-0.5 * d * d)
    smoother = jnp.asarray(k / k.sum(axis=0, keepdims=True), x.dtype)  # [P, P], columns sum to 1.

  def one_pass(_, a):
    spec = (spectra.response_spectrum(a, dt, per, damping, small_batch=True) if percentile is None
            else pair_spectrum(a, dt, per, damping, percentile, small_batch=True))
    log_ratio = weights * (log_target * ln10 - jnp.log(jnp.maximum(spec, conditioning.TINY)))
    if smoother is not None:
      log_ratio = log_ratio @ smoother
    return _apply_log_gain(a, log_ratio, dt, per, pairs=percentile is not None)

  return jax.lax.fori_loop(0, iterations, one_pass, x)


class MatchResult(NamedTuple):
  """What :func:`match` returns.

  accel_ms2: ``[N, T]`` matched records, m/s^2 (float32), baseline-corrected.
  psa_ms2: ``[N, P]`` their PSA on the periods asked, m/s^2.
  misfit: ``[N, P]`` PSA / target - 1.
  max_abs_misfit: ``[N]`` largest |misfit| inside ``band_s`` per record.
  steps: time-domain steps taken (the slowest record's, over every round).
  """
  accel_ms2: np.ndarray
  psa_ms2: np.ndarray
  misfit: np.ndarray
  max_abs_misfit: np.ndarray
  steps: int


_PER_RECORD = ("accel_ms2", "psa_ms2", "misfit", "max_abs_misfit")  # MatchResult's arrays, one row a record.
PRESCALE_STEPS = 50  # Default frequency-domain passes of refine.match (60 took 10% longer for the same matching).
PRESCALE_ROUND = 10  # Frequency-domain passes between two restorations of the seed's timing.
RETRY_PASSES = 20  # Frequency-domain passes of each retry of refine.match.


def match(accel_ms2, dt: float, periods_s, target_ms2, *, damping: float = spectra.DEFAULT_DAMPING,
          band_s=(0.05, 4.0), outside_weight: float = OUTSIDE_WEIGHT, tol: float = 0.02,
          prescale_steps: int = PRESCALE_STEPS, max_steps: int = 20, baseline_order: int = 5, retries: int = 3,
          smoothing: float = SMOOTHING) -> MatchResult:
  """Spectral matching of any records to target spectra: frequency domain, then time domain.

  1. Baseline correction of order ``baseline_order`` (:func:`baseline_projector`: final
     velocity and displacement zero, and the displacement pulled towards zero along the
     record); every later iterate is kept so corrected, so the matching works around it.
  2. ``prescale_steps`` passes of :func:`prescale` over the periods from ``band_s[0]`` up
     (the log ratio times 1 inside ``band_s``, ``outside_weight`` beyond it, smoothed over
     ``smoothing`` in ln frequency), in rounds of
     :data:`PRESCALE_ROUND`; after each round :func:`timing` gives the record back its own
     t5, D5-75 and D5-95 (the passes act on the whole window and would lengthen it).
  3. Up to ``max_steps`` Levenberg-Marquardt steps of :func:`waveform` (misfit weights 1
     inside ``band_s``, ``outside_weight`` outside, 0 below ``2 dt``), each record until
     its largest |misfit| inside the band is at most ``tol``, or until it stalls (no step
     size lowers its misfit, with the damping at its largest: every further step would repeat
     this one).
  4. Up to ``retries`` times, for the records still above ``tol``: 2 and 3 again from each
     record's best so far, with :data:`RETRY_PASSES` passes, not smoothed (the steps stall where
     neighbouring periods ask for opposite changes at one peak; fresh passes move the peaks).
     Each record keeps its best iterate; one that a retry did not better is not retried again
     (it would start where that retry started).
  5. With ``smoothing``, the records still above ``tol`` go through 2-4 once more from their
     seeds with unsmoothed passes, each keeping the better of its two results: unsmoothed
     passes ring, so only the records that need them get them (issue 26's recorded targets:
     at ``tol`` 89.5% -> 96.4% of records, within 5% 97.3% -> 99.3%, the median Fourier
     roughness 0.282 -> 0.284; docs/experiments.md).

  Records already within ``tol`` after step 1 skip 2 and 3 and come back as they were. Every
  record is matched on its own: the records are split into one share per CPU core, each share
  matched in its own thread, and the time-domain steps run record by record, each until its own
  ``tol`` (issue 26's benchmark on 2 cores: 195 -> 70-75 ms a record, docs/experiments.md).

  Args:
    accel_ms2: ``[N, T]`` records, m/s^2 (any source: the generator's, SIMQKE's, real).
    dt: sampling interval, s.
    periods_s: ``[P]`` ascending periods, s, > 0, where the target is given.
    target_ms2: ``[N, P]`` or ``[P]`` target PSA, m/s^2, > 0.
    damping: ratio of critical damping of the spectra.
    band_s: (shortest, longest) period, s, where the misfit counts fully.
    outside_weight: weight in [0, 1] of the periods outside ``band_s``. 0.1 (the default,
      :data:`OUTSIDE_WEIGHT`) took issue 26's recorded targets from 91.3% to 94.1% at
      ``tol`` against 0.25; the periods outside then miss by 1.5% (median) instead of 1.1%
      (docs/experiments.md).
    tol: largest |misfit| per record the time-domain steps aim for (> 0).
    prescale_steps: frequency-domain passes (0: none).
    max_steps: time-domain steps (0: none).
    baseline_order: >= 3, the order of :func:`cvaegan_jax.intensity.baseline_correct` kept
      throughout. 5 (the default) leaves the 600-event model's refined test records with 0.89
      times the real PGD; 6 (REQPY's) left 0.71 times, 4 about 1.3 and 3 (quickstart) 3.7
      times (docs/experiments.md).
    retries: >= 0, further rounds of passes and steps for the records left above ``tol``
      (on recorded targets 2 took the share within 5% from 93.7% to 98.6%; with the smoothed
      first round a third keeps it above 99%, docs/experiments.md).
    smoothing: >= 0, the first round's gain smoothing (:func:`prescale`), ln frequency; the
      retries' passes are not smoothed. Unsmoothed passes match jagged (recorded) targets
      sooner but ring: narrow-band gains leave lines across the whole window, and the
      matched records' Fourier roughness (:func:`cvaegan_jax.intensity.fourier_roughness`)
      grew by 26% (real records: none). With 0.1 (:data:`SMOOTHING`, the oscillators' band)
      it grows by 2%, the Arias intensity by 1% instead of 7%, and on recorded targets 88%
      instead of 96% of records reach ``tol`` (docs/experiments.md, "refined records ring"),
      which step 5 makes up for the records that need it.

  Returns:
    :class:`MatchResult`; ``max_abs_misfit > tol`` marks a record the steps left short.

  Raises:
    ValueError: records not ``[N, T]`` and finite, or all zeros; periods not ascending and > 0; a target
      that is not finite and > 0 or does not fit ``[N, P]``; a band with no period; an
      ``outside_weight`` outside [0, 1], a ``tol`` <= 0, negative step or retry counts or a
      negative ``smoothing``.
  """
  x = np.asarray(accel_ms2, np.float32)
  if x.ndim != 2 or x.shape[1] < 2 or not np.all(np.isfinite(x)):
    raise ValueError(f"accel_ms2 must be [N, T] with T >= 2 and finite, got shape {x.shape}")
  return _match(x[:, None], dt, periods_s, target_ms2, None, damping=damping, band_s=band_s,
                outside_weight=outside_weight, tol=tol, prescale_steps=prescale_steps, max_steps=max_steps,
                baseline_order=baseline_order, retries=retries, smoothing=smoothing)


def match_pairs(accel_pair, dt: float, periods_s, target_ms2, *, percentile: float = 100.0,
                damping: float = spectra.DEFAULT_DAMPING, band_s=(0.05, 4.0),
                outside_weight: float = OUTSIDE_WEIGHT, tol: float = 0.02, prescale_steps: int = PRESCALE_STEPS,
                max_steps: int = 20, baseline_order: int = 5, retries: int = 3,
                smoothing: float = SMOOTHING) -> MatchResult:
  """Spectral matching of pairs of horizontal components to a RotDnn target (the
  maximum-direction RotD100 of ASCE 7 §16.2.3, or the median RotD50).

  :func:`match` for pairs: the frequency-domain passes multiply both components' Fourier
  amplitudes by the same ratio target / RotDnn (phases and the pair's polarisation kept,
  the idea of REQPY's RotDnn matching), each component's own t5, D5-75 and D5-95 restored
  between rounds; then Levenberg-Marquardt steps correct both components at once with the
  exact Jacobian of the RotDnn (:func:`waveform_pairs`; RotD100 exactly over every angle,
  :func:`cvaegan_jax.spectra.max_direction_spectrum`; another percentile over
  :data:`ROTD_ANGLES` angles). Each component stays baseline-corrected.

  Args:
    accel_pair: ``[N, 2, T]`` pairs of orthogonal horizontal components, m/s^2.
    dt, periods_s, target_ms2: as :func:`match`; ``target_ms2`` is the RotDnn target.
    percentile: the RotDnn matched, in (0, 100] (100: maximum direction, 50: median).
    damping, band_s, outside_weight, tol, prescale_steps, max_steps, baseline_order, retries,
      smoothing: as :func:`match`.

  Returns:
    :class:`MatchResult` with ``accel_ms2 [N, 2, T]`` and ``psa_ms2 [N, P]`` the pairs' RotDnn.

  Raises:
    ValueError: pairs not ``[N, 2, T]`` and finite, a component all zeros, a percentile
      outside (0, 100], and the errors of :func:`match`.
  """
  x = np.asarray(accel_pair, np.float32)
  if x.ndim != 3 or x.shape[1] != 2 or x.shape[2] < 2 or not np.all(np.isfinite(x)):
    raise ValueError(f"accel_pair must be [N, 2, T] (two horizontal components) with T >= 2 and finite, "
                     f"got shape {x.shape}")
  if not 0 < float(percentile) <= 100:
    raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
  return _match(x, dt, periods_s, target_ms2, float(percentile), damping=damping, band_s=band_s,
                outside_weight=outside_weight, tol=tol, prescale_steps=prescale_steps, max_steps=max_steps,
                baseline_order=baseline_order, retries=retries, smoothing=smoothing)


def _match(x, dt, periods_s, target_ms2, percentile, *, smoothing, tol, **kwargs) -> MatchResult:
  """:func:`match` (``percentile`` None, ``x [N, 1, T]``) and :func:`match_pairs` (``x [N, 2, T]``):
  the arguments checked, then the records split into one share per CPU core, each matched in its
  own thread by :func:`_match_share` (every record is matched on its own; the batched passes and
  the oscillator scans of one share use one core: two shares on 2 cores, 1.4 times as fast)."""
  target = _checked_target(x, periods_s, target_ms2, tol=tol, smoothing=smoothing, **kwargs)
  shares = [rows for rows in np.array_split(np.arange(x.shape[0]), _cpu_workers()) if rows.size]
  run = lambda rows: _match_share(x[rows], dt, periods_s, target[rows], percentile, smoothing=smoothing, tol=tol,
                                  **kwargs)
  if len(shares) == 1:
    return run(shares[0])
  with concurrent.futures.ThreadPoolExecutor(len(shares)) as pool:
    parts = list(pool.map(run, shares))
  fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _PER_RECORD}
  return MatchResult(steps=max(p.steps for p in parts), **fields)


def _checked_target(x, periods_s, target_ms2, *, band_s, outside_weight, tol, smoothing, prescale_steps, max_steps,
                    retries, baseline_order, **_) -> np.ndarray:
  """The checks of :func:`match` on records ``x [N, C, T]``; the target as ``[N, P]`` float32."""
  n = x.shape[0]
  silent = np.flatnonzero(~np.any(x != 0, axis=2).all(axis=1))
  if silent.size:
    raise ValueError(f"accel_ms2: record(s) {silent[:10].tolist()} are all zeros: nothing to match")
  per = np.asarray(periods_s, np.float64)
  if per.ndim != 1 or not np.all(np.isfinite(per)) or np.any(per <= 0) or np.any(np.diff(per) <= 0):
    raise ValueError(f"periods_s must be [P], finite, > 0 and ascending (got shape {per.shape})")
  spectra.band_mask(per, band_s)  # Raises for a band with no period.
  try:
    target = np.broadcast_to(np.asarray(target_ms2, np.float32), (n, per.size))
  except ValueError as e:
    raise ValueError(f"target_ms2 of shape {np.shape(target_ms2)} does not fit [{n}, {per.size}]") from e
  if not np.all(np.isfinite(target)) or np.any(target <= 0):
    raise ValueError("target_ms2 must be finite and > 0")
  if not 0.0 <= outside_weight <= 1.0:
    raise ValueError(f"outside_weight must be in [0, 1], got {outside_weight}")
  if not tol > 0:
    raise ValueError(f"tol must be > 0, got {tol}")
  if not smoothing >= 0:
    raise ValueError(f"smoothing must be >= 0 (ln frequency), got {smoothing}")
  if prescale_steps < 0 or max_steps < 0 or retries < 0:
    raise ValueError(f"prescale_steps, max_steps and retries must be >= 0, got {prescale_steps}, {max_steps}, "
                     f"{retries}")
  if int(baseline_order) != baseline_order or baseline_order < 3:
    raise ValueError(f"baseline_order must be an integer >= 3, got {baseline_order!r}")
  return target


def _match_share(x, dt, periods_s, target, percentile, *, smoothing, tol, **kwargs) -> MatchResult:
  """:func:`_match_once` with ``smoothing`` on records ``x [N, C, T]`` (targets ``[N, P]``); the
  records it leaves above ``tol`` again from their seeds without smoothing, each record keeping
  the better of its two results."""
  out = _match_once(x, dt, periods_s, target, percentile, smoothing=smoothing, tol=tol, **kwargs)
  left = np.flatnonzero(out.max_abs_misfit > tol)
  if not smoothing or not left.size:
    return out
  again = _match_once(x[left], dt, periods_s, target[left], percentile, smoothing=0.0, tol=tol, **kwargs)
  take = again.max_abs_misfit < out.max_abs_misfit[left]
  rows = left[take]
  fields = {}
  for name in _PER_RECORD:
    merged = np.array(getattr(out, name))
    merged[rows] = getattr(again, name)[take]
    fields[name] = merged
  return MatchResult(steps=out.steps + again.steps, **fields)


def _match_once(x, dt, periods_s, target, percentile, *, damping, band_s, outside_weight, tol, prescale_steps,
                max_steps, baseline_order, retries, smoothing) -> MatchResult:
  """One matching of :func:`_match_share` (steps 1-4 of :func:`match`) of records ``x [N, C, T]``
  to checked targets ``[N, P]``."""
  n, c, num = x.shape
  per = np.asarray(periods_s, np.float64)
  mask_np = spectra.band_mask(per, band_s)
  weights_np = np.where(mask_np, 1.0, outside_weight).astype(np.float32)
  statics = dict(dt=float(dt), periods=tuple(per.tolist()), damping=float(damping))

  def spectrum(rec, small_batch=True):  # [N, C, T] -> [N, P]; the output's with the default kernel.
    if percentile is None:
      return spectra.response_spectrum(rec[:, 0], dt, per, damping, small_batch=small_batch)
    return pair_spectrum(rec, float(dt), per, float(damping), percentile, small_batch=small_batch)

  def restore_timing(rec, rec_timing):  # Each component its own timing.
    m = rec.shape[0]
    flat = np.asarray(rec).reshape((m * c, num))
    return jnp.asarray(timing(flat, dt, rec_timing)[0].reshape((m, c, num)), jnp.float32)

  proj_u, proj_m = (jnp.asarray(v) for v in baseline_projector(num, float(dt), int(baseline_order)))
  log_target = jnp.log10(jnp.asarray(target))
  mask = jnp.asarray(mask_np)
  band_error = lambda rec, lt: np.asarray(
      _band_error(jnp.log10(jnp.maximum(spectrum(rec), conditioning.TINY)), lt, mask))
  a = jnp.asarray(x)
  best = a - (a @ proj_m.T) @ proj_u.T
  best_error = band_error(best, log_target).copy()
  # Records already within tol are returned as they came (baseline-corrected).
  ready = best_error <= tol
  fd_weights = jnp.asarray(np.where(per >= band_s[0], weights_np, 0.0), jnp.float32)
  # Periods below 2 dt hold no energy of their own (they follow the PGA): not matched.
  # The time-domain steps leave them out of their Jacobians (a tenth of their work on the
  # model's periods; their rows had weight 0).
  seen = per >= 2 * dt
  step_weights, step_mask = jnp.asarray(weights_np[seen]), jnp.asarray(mask_np[seen])
  step_statics = dict(statics, periods=tuple(per[seen].tolist()))
  steps = 0
  repeats = np.zeros(n, bool)
  for attempt in range(1 + int(retries)):
    if ready.all():
      break
    if attempt == 0:
      # The seed's own timing, restored after every 10 passes (the passes spread energy into
      # the quieter stretches: D5-95 grew by up to half without this).
      seed_timing = conditioning.timing(np.asarray(best).reshape((n * c, num)), dt, TIMING_ORDER).reshape((n, c, -1))
    # A retry starts from each record's best so far, with fewer passes: the Levenberg-Marquardt
    # steps stall where neighbouring periods pull apart, and fresh passes (and a fresh mu)
    # move the peaks they are stuck on. It works on the records left above tol only, padded
    # to a power of two (few shapes to compile).
    passes = int(prescale_steps) if attempt == 0 else min(int(prescale_steps), RETRY_PASSES)
    if attempt == 0:
      rows = np.arange(n)
    else:
      left = np.flatnonzero(~ready & ~repeats)
      if not left.size:
        break
      rows = np.concatenate([left, np.full(min(n, 1 << int(np.ceil(np.log2(left.size)))) - left.size, left[0])])
    a, lt, done = best[rows], log_target[rows], jnp.asarray(ready[rows])[:, None, None]
    for start in range(0, passes, PRESCALE_ROUND):
      a = prescale(a if percentile is not None else a[:, 0], lt, fd_weights,
                   iterations=min(PRESCALE_ROUND, passes - start), percentile=percentile,
                   smoothing=float(smoothing) if attempt == 0 else 0.0, **statics)
      a = restore_timing(a, seed_timing[rows].reshape((rows.size * c, -1)))
    if passes:
      a = a - (a @ proj_m.T) @ proj_u.T
    a = jnp.where(done, best[rows], a)
    # The steps run record by record (:func:`waveform`): on the records above tol, once each.
    rows, first = np.unique(rows, return_index=True)  # The padding repeats one record.
    todo = first[~ready[rows]]
    if max_steps and todo.size and mask_np[seen].any():
      lt_seen = lt[todo][:, seen]
      if percentile is None:
        out, s = waveform(a[todo, 0], lt_seen, step_weights, step_mask, proj_u, proj_m,
                          max_steps=int(max_steps), tol=float(tol), damping_mu=1e-3, **step_statics)
        out = out[:, None]
      else:
        out, s = waveform_pairs(a[todo], lt_seen, step_weights, step_mask, proj_u, proj_m, max_steps=int(max_steps),
                                tol=float(tol), damping_mu=1e-3, percentile=percentile, **step_statics)
      a = a.at[todo].set(out)
      steps += int(np.max(s))
    error = band_error(a, lt)
    better = (error[first] < best_error[rows]) & ~ready[rows]
    best = best.at[rows[better]].set(a[first[better]])
    best_error[rows[better]] = error[first[better]]
    if attempt:  # A retry that did not better a record's best would be repeated as it was: not retried.
      repeats[rows[~better]] = True
    ready = best_error <= tol
  a = best
  # The iterates are corrected in float32; once more in float64 for the output.
  out = intensity.baseline_correct(np.asarray(a, np.float64), float(dt), order=int(baseline_order)).astype(np.float32)
  psa = np.asarray(spectrum(jnp.asarray(out), small_batch=False), np.float32)
  misfit = psa / target - 1.0
  return MatchResult(accel_ms2=out[:, 0] if percentile is None else out, psa_ms2=psa, misfit=misfit,
                     max_abs_misfit=np.abs(misfit[:, mask_np]).max(axis=1), steps=steps)


TIMING_ORDER = models.TEMPLATE_TIMING  # The columns of :func:`timing`'s ``timing_s``.


TIMING_SMOOTH_S = 1.0  # Moving average of the timing gain's log (s): the gain varies over seconds.
TIMING_ITERATIONS = 6  # Fixed-point passes of the timing gain.


def timing(accel_ms2, dt: float, timing_s, max_gain: float = 4.0, smooth_s: float = TIMING_SMOOTH_S,
           iterations: int = TIMING_ITERATIONS, pre_event_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
  """Bring records' onset and significant durations to asked values with a smooth envelope gain.

  Each record ``accel_ms2 [N, T]`` (m/s^2) is multiplied by a slowly varying gain (at most
  ``max_gain``, smoothed over ``smooth_s``; :func:`timing_gain`) so that
  its Husid curve passes 5% at the asked t5, 75% at t5 + D5-75 and 95% at t5 + D5-95
  (``timing_s [N, 3]``, s), with its Arias intensity kept. The phases and fine structure
  (which wave arrives when within each stretch) are the record's own: the envelope step of
  stochastic simulation (Boore 2003), applied to a record that nearly has the envelope.

  Args:
    accel_ms2: ``[N, T]`` accelerations, m/s^2, each with some energy.
    dt: sampling interval, s.
    timing_s: ``[N, 3]`` asked t5, D5-75 and D5-95, s (clipped into the window as the
      model's Husid template is).
    max_gain: > 1, the largest factor by which any instant is amplified or attenuated.
    smooth_s: > 0, the length of the moving average of the log gain, s.
    iterations: fixed-point passes (each re-measures the Husid curve).
    pre_event_s: >= 0, seconds at the window's start held quiet (``PRE_EVENT_LEVEL``): the
      training windows open this long before the P pick (0: none).

  Returns:
    ``(records [N, T] float64, gains [N, T])``.

  Raises:
    ValueError: shapes that do not fit, a record with no energy, non-finite or negative
      timing, ``max_gain <= 1``, ``smooth_s <= 0`` or ``pre_event_s`` outside the window.
  """
  x = np.asarray(accel_ms2, np.float64)
  t = np.asarray(timing_s, np.float64)
  if x.ndim != 2 or t.shape != (x.shape[0], 3):
    raise ValueError(f"accel_ms2 [N, T] and timing_s [N, 3] expected, got {x.shape} and {t.shape}")
  if not np.all(np.isfinite(t)) or np.any(t < 0):
    raise ValueError(f"timing_s must be finite, non-negative seconds, got {t.tolist()}")
  if not max_gain > 1 or not smooth_s > 0 or not 0 <= pre_event_s < x.shape[-1] * dt:
    raise ValueError(f"max_gain must be > 1, smooth_s > 0 and pre_event_s in [0, window), got {max_gain!r}, "
                     f"{smooth_s!r} and {pre_event_s!r}")
  energy = (x * x).sum(-1)
  if np.any(energy <= 0) or not np.all(np.isfinite(energy)):
    raise ValueError("accel_ms2: every record needs finite, non-zero energy to take a timing")
  gain = np.asarray(timing_gain(jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32), dt=float(dt),
                                max_gain=float(max_gain), smooth_s=float(smooth_s), iterations=int(iterations),
                                pre_event_s=float(pre_event_s)),
                    np.float64)
  return x * gain, gain


PRE_EVENT_LEVEL = 3e-3  # Amplitude of the pre-event stretch relative to the rest (real windows: ~10^-2.4).
_ONSET_RAMP_S = 0.1  # The pre-event level rises to 1 over this, ending at pre_event_s.


@functools.partial(jax.jit, static_argnames=("dt", "max_gain", "smooth_s", "iterations", "pre_event_s"))
def timing_gain(x, timing_s, *, dt: float, max_gain: float, smooth_s: float, iterations: int,
                pre_event_s: float = 0.0):
  """The smooth envelope gain ``[B, T]`` that brings records ``x [B, T]`` to the onset and
  significant durations ``timing_s [B, 3]`` (t5, D5-75, D5-95, s): their Husid curve then
  passes 5% at t5, 75% at t5 + D5-75 and 95% at t5 + D5-95.

  Per iteration the window is cut at the asked times into four segments; each segment's
  gain is ``sqrt(asked / current share of the energy)``; the log gain is smoothed with a
  moving average of ``smooth_s`` (so it varies over seconds: the record's phases and fine
  structure stay its own, and its Fourier spectrum is smeared by less than ``1 / smooth_s``
  Hz) and accumulated, within ``[1 / max_gain, max_gain]``. The gain is finally scaled so
  that ``x * gain`` has the energy of ``x``. With ``pre_event_s > 0`` the first
  ``pre_event_s`` of the window are held at ``PRE_EVENT_LEVEL`` of the rest (a 0.1 s cosine
  rise ending there), as the data's windows open ``pre_p_s`` before the P pick on noise.
  Jitted; :func:`timing` is the checked entry point.
  """
  b, num = x.shape
  knots = models.husid_knot_times(timing_s, num * dt)
  asked = jnp.diff(jnp.asarray(models.HUSID_KNOTS, x.dtype))  # [4]
  t_sample = dt * (jnp.arange(num) + 0.5)  # Sample i holds the energy of [i dt, (i + 1) dt).
  segment = jnp.clip(jnp.sum(t_sample[None, :, None] >= knots[:, None, 1:4], axis=-1), 0, 3)  # [B, T]
  width = max(1, int(round(smooth_s / dt)))
  edges = dt * jnp.arange(num + 1)
  bound = jnp.log(max_gain)
  energy0 = jnp.sum(x * x, axis=-1, keepdims=True) + 1e-30
  t = dt * jnp.arange(num)
  rise = jnp.clip((t - (pre_event_s - _ONSET_RAMP_S)) / _ONSET_RAMP_S, 0.0, 1.0)
  quiet = (PRE_EVENT_LEVEL + (1.0 - PRE_EVENT_LEVEL) * 0.5 * (1.0 - jnp.cos(jnp.pi * rise)) if pre_event_s > 0
           else jnp.ones_like(t)).astype(x.dtype)
  log_gain = jnp.zeros_like(x)
  for _ in range(iterations):
    y = x * jnp.exp(log_gain) * quiet
    cum = jnp.concatenate([jnp.zeros((b, 1), x.dtype), jnp.cumsum(y * y, axis=-1)], axis=-1)
    cum = cum / (cum[:, -1:] + 1e-30)
    h = jax.vmap(lambda k, c: jnp.interp(k, edges, c))(knots, cum)  # [B, 5]
    step = 0.5 * jnp.log(asked[None, :] / jnp.maximum(jnp.diff(h, axis=-1), 1e-12))  # [B, 4]
    step_t = jnp.take_along_axis(step, segment, axis=-1)
    log_gain = jnp.clip(log_gain + _moving_mean(step_t, width, (width - 1) // 2), -bound, bound)
  gain = jnp.exp(log_gain) * quiet
  return gain * jnp.sqrt(energy0 / (jnp.sum((x * gain) ** 2, axis=-1, keepdims=True) + 1e-30))
