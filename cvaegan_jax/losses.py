"""Pure loss functions of the CVAE-GAN (no optimizers, no state).

Shapes: ``x [B, T, 1]`` model units, critic scores ``[B]``, latent statistics
``[B, L]``, log10 spectra ``[B, P]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from cvaegan_jax import ground_motion, spectra

__all__ = ["reconstruction", "kl_divergence", "critic_wasserstein", "gradient_penalty",
           "generator_adversarial", "log_spectrum", "spectral_misfit", "criterion_score", "criterion_misfit",
           "husid", "husid_misfit", "batch_envelope", "envelope_misfit", "waveform_correlation",
           "decorrelation"]


def reconstruction(x, x_rec):
  """Mean squared error over batch, time and channels (the paper's MSE)."""
  return jnp.mean((x - x_rec) ** 2)


def kl_divergence(mean, logvar):
  """KL(q(z|x,c) || N(0, I)), averaged over latent dimensions and the batch (as the paper)."""
  return jnp.mean(-0.5 * (1.0 + logvar - mean**2 - jnp.exp(logvar)))


def critic_wasserstein(d_real, d_fake):
  """WGAN critic loss E[D(fake)] - E[D(real)] (minimised by the critic)."""
  return jnp.mean(d_fake) - jnp.mean(d_real)


def gradient_penalty(critic_fn, x_real, x_fake, mix):
  """WGAN-GP penalty E[(||grad_x D(x_hat)|| - 1)^2] on ``x_hat = mix x_real + (1 - mix) x_fake``.

  The value is the usual one; its gradient with respect to whatever ``critic_fn`` closes
  over (the critic's parameters) is computed reverse-over-forward instead of
  reverse-over-reverse. With ``g = grad_x D(x_hat)`` and ``n = ||g||``,

    d/dtheta (n - 1)^2 = 2 (n - 1) / n * g^T dg/dtheta = d/dtheta [2 (n - 1) / n * (J_x D) v]

  where ``v = g`` is held fixed and ``(J_x D) v`` is one forward-mode derivative of the
  critic along ``v``. The surrogate therefore has the same gradient as differentiating
  through ``jax.grad`` (tests check them equal), but differentiates a JVP instead of a
  VJP: on XLA:CPU the second-order gradient of the strided convolutions was 50x slower
  than this (``benchmarks/train.py``).

  ``x_real`` and ``x_fake`` are treated as constants (the critic update stops the
  generator's gradient anyway).

  Args:
    critic_fn: ``x [B, T, 1] -> scores [B]`` (condition and parameters closed over).
    x_real, x_fake: ``[B, T, 1]``.
    mix: ``[B, 1, 1]`` uniform in [0, 1].

  Returns:
    The scalar penalty (dimensionless, averaged over the batch).
  """
  x_hat = jax.lax.stop_gradient(mix * x_real + (1.0 - mix) * x_fake)
  grads = jax.lax.stop_gradient(jax.grad(lambda xh: jnp.sum(critic_fn(xh)))(x_hat))
  norms = jnp.sqrt(jnp.sum(grads**2, axis=(1, 2)) + 1e-12)
  value = jnp.mean((norms - 1.0) ** 2)
  _, directional = jax.jvp(critic_fn, (x_hat,), (grads,))  # [B] = g . v, differentiable in theta.
  surrogate = jnp.mean(jax.lax.stop_gradient(2.0 * (norms - 1.0) / norms) * directional)
  return value + surrogate - jax.lax.stop_gradient(surrogate)


def generator_adversarial(d_fake):
  """The generator's adversarial term -E[D(fake)]."""
  return -jnp.mean(d_fake)


def log_spectrum(x, dt: float, periods, damping: float = 0.05):
  """log10 PSA ``[B, P]`` of ``x [B, T, 1]`` (exact and differentiable, see spectra)."""
  psa = spectra.response_spectrum(x[..., 0], dt, periods, damping)
  return jnp.log10(jnp.maximum(psa, 1e-12))


def spectral_misfit(log_psa, log_psa_target):
  """Mean squared log10-spectral misfit (scalar) between ``log_psa [B, P]`` (e.g. from
  :func:`log_spectrum` of generated records) and the target ``[B, P]``, both log10 of PSA in
  the same units (model units in training: log10(PSA / scale))."""
  return jnp.mean((log_psa - log_psa_target) ** 2)


def criterion_score(psa, psa_target, r2_min: float = ground_motion.PAPER_R2_MIN,
                    rmse_max: float = ground_motion.PAPER_RMSE_MAX_MS2):
  """Per-record distance to the paper's acceptance test, ``[B]`` (dimensionless).

  ``score = (1 - R^2) / (1 - r2_min) + (RMSE / rmse_max)^2``, on linear spectra: both
  parts are the residual sum of squares ``SS_res`` over a per-record scale, so a record
  with ``score < 1`` meets ``R^2 > r2_min and RMSE < rmse_max`` (each part is below 1),
  and a record that fails the test has ``score >= 1``. The first part weighs weak records
  (their R^2 decides), the second strong ones (an absolute RMSE asks them for a small
  relative misfit).

  Args:
    psa: ``[B, P]`` generated PSA, m/s^2 (absolute, not model units).
    psa_target: ``[B, P]`` target PSA, m/s^2.
    r2_min: the R^2 threshold (paper: 0.8).
    rmse_max: the RMSE threshold, m/s^2 (paper: 0.1).
  """
  # From the sums, not from spectral_r2 / spectral_rmse: the RMSE's square root has no
  # gradient at a perfect match.
  ss_res, ss_tot = ground_motion.spectral_sums(psa_target, psa)
  return ss_res / ((1.0 - r2_min) * ss_tot) + ss_res / (psa.shape[-1] * rmse_max**2)


def criterion_misfit(psa, psa_target, r2_min: float = ground_motion.PAPER_R2_MIN,
                     rmse_max: float = ground_motion.PAPER_RMSE_MAX_MS2):
  """Batch mean of ``log1p(criterion_score)``: the spectrum-matching loss aligned with the
  paper's test (scalar).

  The log-spectral misfit weighs every record and period alike in relative terms, while
  the test asks strong records for an absolute RMSE (0.1 m/s^2 is 3% of a 3 m/s^2
  spectrum) and weak ones for an R^2 set by the spectral peak. ``log1p`` keeps the
  gradient of a record far from passing at the size of a relative misfit (``d score /
  score``) and lets records near the boundary (``score ~ 1``) pull hardest in absolute
  terms. Arguments as :func:`criterion_score`.
  """
  return jnp.mean(jnp.log1p(criterion_score(psa, psa_target, r2_min, rmse_max)))


def husid(x):
  """Normalised cumulative energy (Husid curve) ``[B, T]`` of ``x [B, T, 1]``: rises from
  ``x[0]^2 / E`` to 1. Scale-free, so it measures only *when* the energy arrives; a record
  that is zero everywhere gives 0 (not NaN)."""
  cum = jnp.cumsum(x[..., 0] ** 2, axis=-1)
  return cum / (cum[:, -1:] + 1e-6)  # Model units are O(1): E >> 1e-6 for any real record.


def husid_misfit(x, x_ref):
  """Mean squared difference of the Husid curves of ``x`` and ``x_ref`` (both ``[B, T, 1]``).

  Dimensionless, in [0, 1]: the (squared) Cramér distance between the two records' energy
  distributions over time. It teaches the generator the build-up and decay of shaking
  (significant durations D5-75, D5-95), which neither the response spectrum nor a
  pointwise MSE on random-phase waveforms constrains.
  """
  return jnp.mean((husid(x) - husid(x_ref)) ** 2)


def batch_envelope(x, frame: int):
  """Mean power of the batch in consecutive frames of ``frame`` samples: ``x [B, T, 1]`` ->
  ``[T // frame]`` (the square of x's unit; a last partial frame is dropped)."""
  n = x.shape[1] // frame
  return jnp.mean(x[:, : n * frame, 0].reshape(x.shape[0], n, frame) ** 2, axis=(0, 2))


def envelope_misfit(x, x_ref, frame: int = 10, floor: float = 1e-4):
  """Mean squared log-ratio of the batch envelopes (:func:`batch_envelope`) of generated ``x``
  and real ``x_ref`` (both ``[B, T, 1]``, model units), scalar, >= 0.

  A moment of the population, not of each record: real windows start 1 s before the P
  onset (quiet) and their S arrivals are spread over the window, so their batch-mean power
  is smooth in time. A generator that puts its largest sample at the same instant in every
  record (which pins the PGA, and so the short-period spectrum, for the spectral losses)
  raises one frame far above it; one that is loud before the P onset raises the first
  second. ``floor`` (model units squared) keeps quiet frames from dominating.
  """
  e, e_ref = batch_envelope(x, frame), batch_envelope(x_ref, frame)
  return jnp.mean((jnp.log(e + floor) - jnp.log(e_ref + floor)) ** 2)


def waveform_correlation(x, y):
  """Pearson correlation over time ``[B]`` of ``x`` and ``y`` (both ``[B, T, 1]``), in [-1, 1].

  Two records of one spectrum with independent phases correlate near 0; a generator whose
  samples for one condition barely depend on the latent gives values near 1. A record
  that is zero everywhere counts as uncorrelated (0, not NaN).
  """
  x = x[..., 0] - jnp.mean(x[..., 0], axis=-1, keepdims=True)
  y = y[..., 0] - jnp.mean(y[..., 0], axis=-1, keepdims=True)
  den = jnp.sqrt(jnp.sum(x * x, axis=-1) * jnp.sum(y * y, axis=-1))
  return jnp.sum(x * y, axis=-1) / jnp.maximum(den, 1e-12)


def decorrelation(x, y):
  """Mean squared correlation (scalar, in [0, 1]) of records ``x`` and ``y`` ``[B, T, 1]``
  generated for the same conditions from independent latents.

  The spectral losses reward a generator that ignores its latent (one waveform that
  matches the condition), and a pointwise MSE on random-phase records barely rewards
  using it; this term asks two samples of one condition to differ as two real records of
  one spectrum do, so a suite generated for one target holds distinct records.
  """
  return jnp.mean(waveform_correlation(x, y) ** 2)
