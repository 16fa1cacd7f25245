"""Pure loss functions of the CVAE-GAN (no optimizers, no state).

Shapes: ``x [B, T, 1]`` model units (pairs of horizontal components: ``[B, T, 2]``; the
per-record terms, timing included, take each component as a record, :func:`per_component`; the
timing condition is that of the pair's combined energy, :func:`pair_energy`), critic scores ``[B]`` (paper) or ``[B, N]`` (one per
position, multi-scale), latent statistics ``[B, L]`` or ``[B, F, L]``, log10 spectra ``[B, P]``.

The paper's terms (MSE, KL, WGAN-GP) sit beside the timing design's: phase-blind
reconstruction (:func:`stft_loss`, :func:`envelope_loss`), timing against the condition
(:func:`timing_misfit`), least-squares adversarial terms and feature matching.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cvaegan_jax import fit, spectra

__all__ = ["per_component", "pair_energy", "condition_spectrum", "reconstruction", "kl_divergence", "critic_wasserstein", "gradient_penalty",
           "generator_adversarial", "log_spectrum", "spectral_misfit", "criterion_score", "criterion_misfit",
           "husid", "husid_times", "peak_time", "DURATION_STATS", "duration_stats",
           "waveform_correlation", "decorrelation", "STFT_RESOLUTIONS", "stft_magnitude", "stft_loss",
           "log_envelope", "envelope_loss", "timing_misfit", "critic_lsgan", "generator_lsgan", "feature_matching"]


def per_component(x):
  """``x [B, T, C]`` -> ``[B * C, T, 1]``: each component a record of its own (row ``b * C + k``
  is component ``k`` of record ``b``); ``C = 1`` is returned as it is."""
  if x.shape[-1] == 1:
    return x
  b, t, c = x.shape
  return jnp.moveaxis(x, -1, 1).reshape(b * c, t, 1)


def pair_energy(x):
  """``x [B, T, C]`` -> ``[B, T, 1]``: the length ``sqrt(sum_k x_k^2)`` of the ground motion
  vector, whose Husid curve and peak are the pair's whatever the orientation; ``C = 1`` is
  returned as it is."""
  if x.shape[-1] == 1:
    return x
  return jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True))


def condition_spectrum(x, dt: float, periods, damping: float = 0.05, pair_spectrum: str = "rotd50"):
  """The spectrum a record's condition is made of, ``[B, P]`` in x's units: the PSA of
  ``x [B, T, 1]``, or a pair's (``[B, T, 2]``) RotD50 over 180 angles
  (:func:`cvaegan_jax.spectra.rotd_spectrum`) or RotD100 (``pair_spectrum="rotd100"``,
  :func:`cvaegan_jax.spectra.max_direction_spectrum`; ignored for one component). Exact; for
  metrics, not losses (RotD50 costs 180 oscillator passes)."""
  if x.shape[-1] == 1:
    return spectra.response_spectrum(x[..., 0], dt, periods, damping)
  pair = jnp.moveaxis(x, -1, 1)
  if pair_spectrum == "rotd100":
    return spectra.max_direction_spectrum(pair, dt, periods, damping)
  if pair_spectrum != "rotd50":
    raise ValueError(f"pair_spectrum must be 'rotd50' or 'rotd100', got {pair_spectrum!r}")
  return spectra.rotd_spectrum(pair, dt, periods, damping, percentiles=(50.0,))[..., 0, :]


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


def log_spectrum(x, dt: float, periods, damping: float = 0.05, *, small_batch: bool = False):
  """log10 PSA ``[B, P]`` of ``x [B, T, 1]`` (exact and differentiable, see spectra); of a pair
  ``[B, T, 2]``, the mean of its components' log10 PSA (the geometric-mean spectrum: one
  oscillator pass per component, where RotD50 would take one per angle). ``small_batch``: as
  :func:`cvaegan_jax.spectra.response_spectrum` (the refinement's calls; training keeps False)."""
  if x.shape[-1] == 1:
    psa = spectra.response_spectrum(x[..., 0], dt, periods, damping, small_batch=small_batch)
    return jnp.log10(jnp.maximum(psa, 1e-12))
  psa = spectra.response_spectrum(jnp.moveaxis(x, -1, 1), dt, periods, damping,
                                  small_batch=small_batch)  # [B, C, P]
  return jnp.mean(jnp.log10(jnp.maximum(psa, 1e-12)), axis=1)


def spectral_misfit(log_psa, log_psa_target):
  """Mean squared log10-spectral misfit (scalar) between ``log_psa [B, P]`` (e.g. from
  :func:`log_spectrum` of generated records) and the target ``[B, P]``, both log10 of PSA in
  the same units (model units in training: log10(PSA / scale))."""
  return jnp.mean((log_psa - log_psa_target) ** 2)


def criterion_score(psa, psa_target, r2_min: float = fit.PAPER_R2_MIN,
                    rmse_max: float = fit.PAPER_RMSE_MAX_MS2):
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
  ss_res, ss_tot = fit.spectral_sums(psa_target, psa)
  return ss_res / ((1.0 - r2_min) * ss_tot) + ss_res / (psa.shape[-1] * rmse_max**2)


def criterion_misfit(psa, psa_target, r2_min: float = fit.PAPER_R2_MIN,
                     rmse_max: float = fit.PAPER_RMSE_MAX_MS2):
  """Batch mean of ``log1p(criterion_score)``: the spectrum-matching loss aligned with the
  paper's test (scalar, dimensionless).

  The log-spectral misfit weighs every record and period alike in relative terms, while
  the test asks strong records for an absolute RMSE (0.1 m/s^2 is 3% of a 3 m/s^2
  spectrum) and weak ones for an R^2 set by the spectral peak. ``log1p`` gives each record
  the gradient ``d score / (1 + score)``: a relative misfit's size for records far off, and
  records near the boundary (``score ~ 1``) pull hardest in absolute terms.

  Arguments as :func:`criterion_score`.
  """
  return jnp.mean(jnp.log1p(criterion_score(psa, psa_target, r2_min, rmse_max)))


def husid(x):
  """Normalised cumulative energy (Husid curve) ``[B, T]`` of ``x [B, T, 1]``: rises from
  ``x[0]^2 / E`` to 1. Scale-free, so it measures only *when* the energy arrives; a record
  that is zero everywhere gives 0 (not NaN)."""
  cum = jnp.cumsum(x[..., 0] ** 2, axis=-1)
  return cum / (cum[:, -1:] + 1e-6)  # Model units are O(1): E >> 1e-6 for any real record.


def husid_times(x, levels, dt: float, temperature: float = 0.0):
  """Times ``[B, Q]`` (s, from the first sample) at which the Husid curves of ``x [B, T, 1]``
  reach each of ``levels`` (Q levels in (0, 1)).

  The time spent below a level, ``dt * sum_t [H_t < q]``: for the non-decreasing Husid curve
  this is the first crossing, rounded down to a sample. With ``temperature > 0`` the
  indicator becomes a ramp from 1 to 0 as ``H_t`` goes from ``q - temperature / 2`` to
  ``q + temperature / 2``: continuous in ``x``, with a gradient on the samples near the
  crossing, so that it can sit in a loss. Away from the crossing it is the count itself (a
  sigmoid would count a quiet stretch before the onset short), and where ``H`` rises linearly
  the ramp's two halves cancel: the time is the crossing's.
  """
  h = husid(x)[:, None, :]
  q = jnp.asarray(levels, h.dtype)[None, :, None]
  below = jnp.clip((q - h) / temperature + 0.5, 0.0, 1.0) if temperature else (h < q).astype(h.dtype)
  return dt * jnp.sum(below, axis=-1)


def peak_time(x, dt: float, sharpness: float = 0.0):
  """Time ``[B]`` (s) of the largest ``|x|`` of ``x [B, T, 1]`` (the time of the PGA).

  ``sharpness = 0``: the first sample of the peak, as ``intensity.pga_time``. With
  ``sharpness > 0``, the mean time under ``softmax(sharpness * |x| / max|x|)``: samples within
  ``1 / sharpness`` of the peak share its weight, so the time is smooth in ``x`` (a loss can
  move it) and lies between the record's near-peak samples.
  """
  a = jnp.abs(x[..., 0])
  t = dt * jnp.arange(a.shape[-1], dtype=a.dtype)
  if not sharpness:
    return t[jnp.argmax(a, axis=-1)]
  peak = jax.lax.stop_gradient(jnp.max(a, axis=-1, keepdims=True))
  w = jax.nn.softmax(sharpness * a / jnp.maximum(peak, 1e-12), axis=-1)
  return jnp.sum(w * t, axis=-1)


DURATION_STATS = ("t5", "t75", "t95", "d5_75", "d5_95", "t_peak")


def duration_stats(x, dt: float, temperature: float = 0.0, sharpness: float = 0.0):
  """The times that describe *when* a record shakes, ``[B, 6]`` in s, in the order of
  ``DURATION_STATS``: Husid crossings t5, t75, t95 (:func:`husid_times`), the significant
  durations D5-75 and D5-95, and the time of the peak (:func:`peak_time`). Zero
  ``temperature``/``sharpness`` give the hard values (metrics), positive ones smooth values
  (losses)."""
  t5, t75, t95 = jnp.moveaxis(husid_times(x, (0.05, 0.75, 0.95), dt, temperature), -1, 0)
  return jnp.stack([t5, t75, t95, t75 - t5, t95 - t5, peak_time(x, dt, sharpness)], axis=-1)


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


# Windows of 0.32-2.56 s at 100 Hz with a quarter-window hop: from bursts to the envelope.
STFT_RESOLUTIONS = ((32, 8), (64, 16), (128, 32), (256, 64))


def stft_magnitude(x, window: int, hop: int):
  """|STFT| ``[B, F, window // 2 + 1]`` of ``x [B, T, 1]`` with a periodic Hann window of
  ``window`` samples and a hop of ``hop`` (frames from the first sample, none past the end)."""
  a = x[..., 0]
  frames = 1 + (a.shape[-1] - window) // hop
  idx = hop * jnp.arange(frames)[:, None] + jnp.arange(window)[None, :]
  hann = 0.5 - 0.5 * jnp.cos(2.0 * jnp.pi * jnp.arange(window) / window)
  return jnp.abs(jnp.fft.rfft(a[:, idx] * hann, axis=-1))


def stft_loss(x, y, resolutions=STFT_RESOLUTIONS, eps: float = 1e-5):
  """Multi-resolution STFT loss of ``x`` against ``y`` (both ``[B, T, 1]``), scalar.

  For each ``(window, hop)``: the spectral convergence ``|| |Y| - |X| ||_F / || |Y| ||_F`` plus
  the mean absolute difference of ``ln(|X| + eps)`` and ``ln(|Y| + eps)`` (Yamamoto et al.
  2020, Parallel WaveGAN), averaged over resolutions. Magnitudes only: a record and the same
  record with other phases inside each window (e.g. shifted by a few samples) score near 0,
  while *when* the energy comes, frame by frame, is kept. A pointwise MSE on random-phase
  records teaches only power.
  """
  total = 0.0
  for window, hop in resolutions:
    mx, my = stft_magnitude(x, window, hop), stft_magnitude(y, window, hop)
    sc = jnp.sqrt(jnp.sum((my - mx) ** 2, axis=(1, 2))) / jnp.sqrt(jnp.sum(my**2, axis=(1, 2)) + eps)
    total = total + jnp.mean(sc) + jnp.mean(jnp.abs(jnp.log(mx + eps) - jnp.log(my + eps)))
  return total / len(resolutions)


def log_envelope(x, window: int = 100, hop: int = 25, eps: float = 1e-4):
  """``ln`` of the RMS of ``x [B, T, 1]`` in windows of ``window`` samples every ``hop``
  samples, ``[B, F]`` (model units; ``eps`` floors silent windows)."""
  a2 = x[..., 0] ** 2
  frames = 1 + (a2.shape[-1] - window) // hop
  idx = hop * jnp.arange(frames)[:, None] + jnp.arange(window)[None, :]
  return 0.5 * jnp.log(jnp.mean(a2[:, idx], axis=-1) + eps**2)


def envelope_loss(x, y, window: int = 100, hop: int = 25):
  """Mean absolute difference of :func:`log_envelope` of ``x`` and ``y`` ``[B, T, 1]``,
  scalar (ln units): a stationary noise and a burst of the same power differ by the log of
  the burst's crest over its quiet stretches; a record and its re-phased copy barely."""
  return jnp.mean(jnp.abs(log_envelope(x, window, hop) - log_envelope(y, window, hop)))


def onset_jump(x, dt: float, start_s: float = 2.0, window_s: float = 1.0, bin_s: float = 0.1,
               temperature: float = 0.05, eps: float = 1e-4):
  """The S onset's jump of ``x [B, T, 1]`` -> ``[B]`` (log10 units), smooth: the measure of
  :func:`cvaegan_jax.intensity.envelope_jump` with a soft maximum.

  The log10 RMS of ``bin_s`` bins is averaged over ``window_s`` after and before each bin
  boundary at or after ``start_s``; the rise from the mean before to the mean after is
  maximised over the boundaries by ``temperature * logsumexp(rise / temperature)``, which
  lies between the largest rise and that plus ``temperature * ln(boundaries)``. Real windows
  jump 0.8-1.5 where their S waves arrive; shaking that builds up over seconds, 0.5 or less.
  ``eps`` (model units) floors silent bins, as :func:`log_envelope`.

  Raises:
    ValueError: a record too short for ``start_s`` and two windows.
  """
  n = max(int(round(bin_s / dt)), 1)
  k = max(int(round(window_s / bin_s)), 1)
  first = max(int(np.ceil(start_s / bin_s - 1e-9)), k)
  b, bins = x.shape[0], x.shape[1] // n
  if bins - k < first:
    raise ValueError(f"onset_jump: a record of {x.shape[1]} samples (dt {dt} s) is too short for start_s={start_s} s "
                     f"and two windows of {window_s} s")
  level = 0.5 * jnp.log10(jnp.mean(x[:, :bins * n, 0].reshape(b, bins, n) ** 2, axis=-1) + eps**2)
  cum = jnp.concatenate([jnp.zeros((b, 1)), jnp.cumsum(level, axis=-1)], axis=-1)  # cum[:, i]: sum of bins < i.
  i = np.arange(first, bins - k + 1)
  rise = ((cum[:, i + k] - cum[:, i]) - (cum[:, i] - cum[:, i - k])) / k
  return temperature * jax.nn.logsumexp(rise / temperature, axis=-1)


def onset_misfit(x, y, dt: float):
  """Mean absolute difference of the S-onset jumps (:func:`onset_jump`) of ``x`` and ``y``
  ``[B, T, 1]``, scalar (log10 units): what asks a generated record to rise as sharply where
  its S waves arrive as the record of its condition does."""
  return jnp.mean(jnp.abs(onset_jump(x, dt) - onset_jump(y, dt)))


def timing_misfit(x, timing_s, names, dt: float, temperature: float = 0.02):
  """Mean squared ``ln((t_x + 1 s) / (t + 1 s))`` (scalar) between the smooth timing measures
  of ``x [B, T, 1]`` (:func:`duration_stats` with ``temperature``) and the asked ones
  ``timing_s [B, K]`` (s), in the order of ``names`` (from ``t5``, ``d5_75``, ``d5_95``): what
  asks a record generated under timing conditions to keep them."""
  stats = duration_stats(x, dt, temperature)
  got = jnp.stack([stats[:, DURATION_STATS.index(n)] for n in names], axis=-1)
  return jnp.mean((jnp.log(jnp.maximum(got, 0.0) + 1.0) - jnp.log(jnp.maximum(timing_s, 0.0) + 1.0)) ** 2)


def critic_lsgan(d_real, d_fake):
  """Least-squares critic loss ``E[(D(real) - 1)^2] + E[D(fake)^2]`` over all scores (Mao et
  al. 2017; HiFi-GAN's objective), minimised by the critic. No gradient penalty needed."""
  return jnp.mean((d_real - 1.0) ** 2) + jnp.mean(d_fake**2)


def generator_lsgan(d_fake):
  """The generator's least-squares adversarial term ``E[(D(fake) - 1)^2]``."""
  return jnp.mean((d_fake - 1.0) ** 2)


def feature_matching(feats_real, feats_fake):
  """Mean over the critic's layers of the mean absolute difference of their activations on
  real and generated records (HiFi-GAN's feature-matching loss), scalar; the real side is a
  constant."""
  return sum(jnp.mean(jnp.abs(jax.lax.stop_gradient(r) - f)) for r, f in zip(feats_real, feats_fake)) / len(feats_real)
