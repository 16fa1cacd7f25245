"""The CVAE-GAN: encoder q(z|x,c), decoder p(x|z,c) and critic D(x,c) (Flax Linen).

Shapes: waveforms ``x`` are ``[batch, time, 1]`` in model units (see
:mod:`cvaegan_jax.conditioning`), conditions ``c`` are ``[batch, cond_dim]``, latents
``z`` are ``[batch, latent_dim]``. With ``configs/paper.py`` the modules are exactly the
layer list of the authors' public script (``../shared/DESIGN.md``):

* Encoder: Conv1D 64/128/256 (kernel 10, stride 2, BatchNorm, ReLU), global average
  pool, concat c, Dense(latent) for the mean and Dense(latent) for the log-variance.
* Decoder: concat(z, c) -> Dense(375*256) -> reshape [375, 256] -> 3 x [upsample x2,
  Conv1D 128/64/32 kernel 3, BatchNorm, ReLU] -> Conv1D(1, kernel 3) -> tanh.
* Critic: c -> Dense(time) as a second channel beside x, Conv1D 32/64/128/256 (kernel 5,
  stride 2, LeakyReLU 0.2), flatten, Dense(1). No normalisation (WGAN-GP).

``configs/base.py`` changes a few fields of ``config.model``: a linear output,
``Decoder(zero_mean=True)`` (removes the output's time average),
``Decoder(peak_normalize=True)`` (divides the output by its own peak) and
``Decoder(film=True)`` (the condition scales and shifts the channels of every upsampling
block). Its timing design (``model.time_latent``, ``model.critic="multiscale"``) gives the
latent a time axis, ``z [B, F, latent_dim]`` with ``F = T / 2**len(decoder_features)`` frames
(the encoder keeps time instead of pooling it away; each frame's latent enters the decoder
beside the condition's per-frame features), and scores records with
:class:`MultiScaleCritic`. :func:`build` makes the generator and critic of a ``config.model``;
:func:`latent_shape` gives the latent's shape per record.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

__all__ = ["Encoder", "Decoder", "Critic", "MultiScaleCritic", "CVAEGAN", "build", "latent_shape"]


def _batch_norm(x, train: bool):
  """BatchNorm with Keras' defaults (momentum 0.99, epsilon 1e-3), as the authors' script."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3)(x)


class Encoder(nn.Module):
  """q(z | x, c): ``x [B, T, 1]``, ``c [B, C]`` -> (mean, log-variance), each ``[B, latent]``
  (``time_latent``: each ``[B, T / stride**len(features), latent]``).

  The paper averages the last feature map over all of time (a global pool), so the latent
  cannot say *when* the record shakes. With ``time_latent`` each frame of the last map, with
  the condition beside it, gives its own latent mean and log-variance (a 1x1 convolution).
  """
  features: Sequence[int] = (64, 128, 256)
  kernel: int = 10
  stride: int = 2
  latent_dim: int = 100
  time_latent: bool = False

  @nn.compact
  def __call__(self, x, c, train: bool):
    for f in self.features:
      x = nn.Conv(f, (self.kernel,), strides=(self.stride,), padding="SAME")(x)
      x = nn.relu(_batch_norm(x, train))
    if self.time_latent:
      h = jnp.concatenate([x, jnp.broadcast_to(c[:, None, :], x.shape[:2] + c.shape[-1:])], axis=-1)
    else:
      h = jnp.concatenate([jnp.mean(x, axis=1), c], axis=-1)
    return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="logvar")(h)


class Decoder(nn.Module):
  """p(x | z, c): ``z [B, latent]``, ``c [B, C]`` -> ``x [B, T, 1]`` with
  ``T = base_length * 2**len(features)``.

  With ``time_latent`` the latent is ``z [B, base_length, latent]``: the first Dense makes
  the base frames from the condition alone (so where energy goes is the condition's, e.g.
  its onset and durations) and each frame adds a projection of its own latent (so what is
  drawn there, its phase and bursts, is the latent's).
  """
  base_length: int = 375
  base_features: int = 256
  features: Sequence[int] = (128, 64, 32)
  kernel: int = 3
  output: str = "tanh"  # "tanh" (paper, peak-normalised data) or "linear".
  zero_mean: bool = False  # Subtract the output's time average (band-passed records have none).
  peak_normalize: bool = False  # Divide the output by its largest |sample| (see below).
  film: bool = False  # The condition sets a scale and shift of every block's channels (see below).
  time_latent: bool = False  # z has a time axis of base_length frames (see above).

  @nn.compact
  def __call__(self, z, c, train: bool):
    if self.time_latent:
      h = nn.Dense(self.base_length * self.base_features)(c)
      x = h.reshape((h.shape[0], self.base_length, self.base_features))
      x = x + nn.Dense(self.base_features, name="latent_frames")(z)
    else:
      h = nn.Dense(self.base_length * self.base_features)(jnp.concatenate([z, c], axis=-1))
      x = h.reshape((h.shape[0], self.base_length, self.base_features))
    for f in self.features:
      x = jnp.repeat(x, 2, axis=1)  # Keras UpSampling1D(2).
      x = nn.Conv(f, (self.kernel,), padding="SAME")(x)
      x = _batch_norm(x, train)
      if self.film:
        # Conditional normalisation (FiLM; de Vries et al. 2017, Perez et al. 2018): each
        # block's channels get a scale 1 + gamma(c) and a shift beta(c). Otherwise the condition
        # enters only the first Dense, and the last blocks, which make the short periods, see
        # it through three convolutions. Zero-initialised: training starts from the plain decoder.
        gb = nn.Dense(2 * f, kernel_init=nn.initializers.zeros)(c)[:, None, :]
        x = x * (1.0 + gb[..., :f]) + gb[..., f:]
      x = nn.relu(x)
    x = nn.Conv(1, (self.kernel,), padding="SAME")(x)
    if self.output == "tanh":
      x = jnp.tanh(x)
    elif self.output != "linear":
      raise ValueError(f"model decoder_output must be 'tanh' or 'linear', got {self.output!r}")
    if self.zero_mean:
      # Records band-passed above 0.1 Hz have no mean; an offset would add a constant to
      # every long-period oscillator's input and a drift to velocity and displacement.
      x = x - jnp.mean(x, axis=1, keepdims=True)
    if self.peak_normalize:
      # Records in "psa0" units have a peak of ~1 (PGA ~ PSA(0.01 s)); the paper divides every
      # waveform by its own peak. Dividing the output by its own makes the generated PGA the
      # target's exactly. (It does not remove the fixed-time spike the spectral losses favour:
      # the spike then sets the level of the rest of the record; see docs/experiments.md.)
      x = x / (jnp.max(jnp.abs(x), axis=1, keepdims=True) + 1e-6)
    return x


class Critic(nn.Module):
  """D(x, c): ``x [B, T, 1]``, ``c [B, C]`` -> score ``[B]`` (unbounded, WGAN).

  The paper's readout: flatten, Dense(1), a sum over time positions of features of short
  windows (the convolutions' receptive field, 0.6 s with the paper's layers).
  """
  features: Sequence[int] = (32, 64, 128, 256)
  kernel: int = 5
  stride: int = 2
  negative_slope: float = 0.2

  @nn.compact
  def __call__(self, x, c):
    cond = nn.Dense(x.shape[1])(c)[..., None]
    h = jnp.concatenate([x, cond], axis=-1)
    for f in self.features:
      h = nn.Conv(f, (self.kernel,), strides=(self.stride,), padding="SAME")(h)
      h = nn.leaky_relu(h, self.negative_slope)
    h = h.reshape((h.shape[0], -1))
    return nn.Dense(1)(h)[:, 0]


class MultiScaleCritic(nn.Module):
  """D(x, c) at several time resolutions: ``x [B, T, 1]``, ``c [B, C]`` -> (scores
  ``[B, N]``, features).

  One sub-critic per entry of ``scales``: the record average-pooled by that factor (1: raw),
  the condition as a second channel, strided convolutions with LeakyReLU, and a last
  convolution that scores every position (a patch critic; HiFi-GAN's multi-scale
  discriminator, Kong et al. 2020). A score per position, not one per record, asks every
  stretch of the record to look real: a burst where the real record is quiet, or steady
  noise where it bursts, is scored where it is. ``N`` is the number of positions of all
  sub-critics together; ``features`` lists every sub-critic's activations (for feature
  matching).
  """
  features: Sequence[int] = (32, 64, 128, 256)
  kernel: int = 5
  stride: int = 2
  scales: Sequence[int] = (1, 2, 4)
  negative_slope: float = 0.2

  @nn.compact
  def __call__(self, x, c):
    scores, feats = [], []
    for s in self.scales:
      h = nn.avg_pool(x, (s,), strides=(s,), padding="VALID") if s > 1 else x
      cond = nn.Dense(h.shape[1], name=f"cond_{s}")(c)[..., None]
      h = jnp.concatenate([h, cond], axis=-1)
      for i, f in enumerate(self.features):
        h = nn.Conv(f, (self.kernel,), strides=(self.stride,), padding="SAME", name=f"conv_{s}_{i}")(h)
        h = nn.leaky_relu(h, self.negative_slope)
        feats.append(h)
      scores.append(nn.Conv(1, (3,), padding="SAME", name=f"score_{s}")(h)[..., 0])
    return jnp.concatenate(scores, axis=1), feats


class CVAEGAN(nn.Module):
  """Encoder + decoder (the generator); the critic is a separate module with its own state."""
  encoder: Encoder
  decoder: Decoder

  def __call__(self, x, c, eps, train: bool):
    """Reconstruct: returns (x_rec [B, T, 1], mean, logvar); eps ~ N(0, I), all three of the
    latent's shape (``[B, L]``, or ``[B, F, L]`` with a time axis)."""
    mean, logvar = self.encoder(x, c, train)
    z = mean + jnp.exp(0.5 * logvar) * eps
    return self.decoder(z, c, train), mean, logvar

  def generate(self, z, c, train: bool = False):
    """Decode prior samples ``z`` (``[B, L]`` or ``[B, F, L]``) under conditions ``c [B, C]`` -> ``[B, T, 1]``."""
    return self.decoder(z, c, train)

  def encode(self, x, c, train: bool = False):
    """(mean, logvar) of q(z | x, c)."""
    return self.encoder(x, c, train)


def latent_shape(model_config, num_samples: int) -> tuple[int, ...]:
  """The latent of one record: ``(latent_dim,)``, or ``(frames, latent_dim)`` with
  ``model.time_latent`` (``frames = num_samples / 2**len(decoder_features)``)."""
  m = model_config
  if m.time_latent:
    return (num_samples // 2 ** len(m.decoder_features), m.latent_dim)
  return (m.latent_dim,)


def build(model_config, num_samples: int) -> tuple[CVAEGAN, nn.Module]:
  """The generator (encoder + decoder) and critic of a ``config.model``.

  Args:
    model_config: ``config.model`` (see ``configs/base.py``).
    num_samples: samples per record ``T``; divisible by ``2**len(decoder_features)``.

  Raises:
    ValueError: ``num_samples`` not divisible by the decoder's total upsampling, a time
      latent whose encoder does not reach the decoder's frames, or an unknown critic.
  """
  m = model_config
  n_up = len(m.decoder_features)
  if num_samples % (2**n_up):
    raise ValueError(f"data.num_samples={num_samples} must be divisible by 2**{n_up} (decoder upsamplings)")
  frames = num_samples // 2**n_up
  if m.time_latent and -(-num_samples // m.encoder_stride ** len(m.encoder_features)) != frames:
    raise ValueError(f"model.time_latent: the encoder's {len(m.encoder_features)} convolutions of stride "
                     f"{m.encoder_stride} must reduce {num_samples} samples to the decoder's {frames} frames")
  enc = Encoder(tuple(m.encoder_features), m.encoder_kernel, m.encoder_stride, m.latent_dim, m.time_latent)
  dec = Decoder(frames, m.decoder_base_features, tuple(m.decoder_features), m.decoder_kernel,
                m.decoder_output, zero_mean=m.decoder_zero_mean, peak_normalize=m.decoder_peak_normalize,
                film=m.decoder_film, time_latent=m.time_latent)
  if m.critic == "paper":
    critic = Critic(tuple(m.critic_features), m.critic_kernel, m.critic_stride)
  elif m.critic == "multiscale":
    critic = MultiScaleCritic(tuple(m.critic_features), m.critic_kernel, m.critic_stride, tuple(m.critic_scales))
  else:
    raise ValueError(f"model.critic must be 'paper' or 'multiscale', got {m.critic!r}")
  return CVAEGAN(enc, dec), critic
