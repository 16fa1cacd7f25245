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

``configs/base.py`` changes a few fields (normalisation, output activation); every
difference is a config field of ``config.model``. ``Decoder(envelope=True)``
(``model.decoder_envelope``, off by default) multiplies the output by a smooth positive
envelope computed at the coarse base resolution, a modulated-noise structure;
``Decoder(zero_mean=True)`` (``model.decoder_zero_mean``) removes the output's time average;
``Decoder(film=True)`` (``model.decoder_film``) lets the condition scale and shift the
channels of every upsampling block (conditional normalisation);
``Encoder(time_bins=K)`` (``model.encoder_time_bins``, 0 by default: the paper's global pool)
keeps the means of K time segments of its last feature map.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Encoder", "Decoder", "Critic", "CVAEGAN", "Norm", "segment_means"]


class Norm(nn.Module):
  """BatchNorm (the paper), GroupNorm, LayerNorm or nothing, chosen by ``kind``."""
  kind: str = "batch"
  momentum: float = 0.99  # Keras' BatchNormalization default.
  epsilon: float = 1e-3  # Keras' default.

  @nn.compact
  def __call__(self, x, train: bool):
    if self.kind == "batch":
      return nn.BatchNorm(use_running_average=not train, momentum=self.momentum, epsilon=self.epsilon)(x)
    if self.kind == "group":
      return nn.GroupNorm(num_groups=min(8, x.shape[-1]), epsilon=self.epsilon)(x)
    if self.kind == "layer":
      return nn.LayerNorm(epsilon=self.epsilon)(x)
    if self.kind == "none":
      return x
    raise ValueError(f"model norm must be 'batch', 'group', 'layer' or 'none', got {self.kind!r}")


def segment_means(x, bins: int):
  """Means of ``x [B, L, F]`` over ``bins`` consecutive, near-equal segments of its time
  axis -> ``[B, bins, F]`` (segment lengths differ by at most one sample)."""
  length = x.shape[1]
  if not 1 <= bins <= length:
    raise ValueError(f"encoder time_bins must be in [1, {length}] (the encoder's output length), got {bins}")
  edges = np.linspace(0, length, bins + 1).round().astype(int)
  w = np.zeros((length, bins), np.float32)
  for k in range(bins):
    w[edges[k]:edges[k + 1], k] = 1.0 / (edges[k + 1] - edges[k])
  return jnp.einsum("blf,lk->bkf", x, jnp.asarray(w, x.dtype))


class Encoder(nn.Module):
  """q(z | x, c): ``x [B, T, 1]``, ``c [B, C]`` -> (mean, log-variance), each ``[B, latent]``.

  ``time_bins = 0`` pools the last feature map over all of time (the paper's global average
  pool), which leaves the latent blind to *when* the energy arrives; ``time_bins = K`` keeps
  the means of K consecutive segments (flattened), so the latent can carry the envelope.
  """
  features: Sequence[int] = (64, 128, 256)
  kernel: int = 10
  stride: int = 2
  latent_dim: int = 100
  norm: str = "batch"
  time_bins: int = 0

  @nn.compact
  def __call__(self, x, c, train: bool):
    for f in self.features:
      x = nn.Conv(f, (self.kernel,), strides=(self.stride,), padding="SAME")(x)
      x = Norm(self.norm)(x, train)
      x = nn.relu(x)
    if self.time_bins:
      pooled = segment_means(x, self.time_bins).reshape((x.shape[0], -1))
    else:
      pooled = jnp.mean(x, axis=1)
    h = jnp.concatenate([pooled, c], axis=-1)
    return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="logvar")(h)


class Decoder(nn.Module):
  """p(x | z, c): ``z [B, latent]``, ``c [B, C]`` -> ``x [B, T, 1]`` with
  ``T = base_length * 2**len(features)``."""
  base_length: int = 375
  base_features: int = 256
  features: Sequence[int] = (128, 64, 32)
  kernel: int = 3
  norm: str = "batch"
  output: str = "tanh"  # "tanh" (paper, peak-normalised data) or "linear".
  envelope: bool = False  # Multiply the output by a smooth positive envelope (see below).
  zero_mean: bool = False  # Subtract the output's time average (band-passed records have none).
  peak_normalize: bool = False  # Divide the output by its largest |sample| (see below).
  film: bool = False  # The condition sets a scale and shift of every block's channels (see below).

  @nn.compact
  def __call__(self, z, c, train: bool):
    h = nn.Dense(self.base_length * self.base_features)(jnp.concatenate([z, c], axis=-1))
    x = h.reshape((h.shape[0], self.base_length, self.base_features))
    env = None
    if self.envelope:
      # A modulated-noise structure (as stochastic ground-motion models): a positive
      # envelope at the coarse base resolution, linearly interpolated to the output length,
      # gates the carrier the convolutions produce, so quiet parts can be quiet.
      env = nn.softplus(nn.Conv(1, (5,), padding="SAME", name="envelope")(x))
    for f in self.features:
      x = jnp.repeat(x, 2, axis=1)  # Keras UpSampling1D(2).
      x = nn.Conv(f, (self.kernel,), padding="SAME")(x)
      x = Norm(self.norm)(x, train)
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
    if env is not None:
      x = x * jax.image.resize(env, x.shape, "linear")
    if self.zero_mean:
      # Records band-passed above 0.1 Hz have no mean; an offset would add a constant to
      # every long-period oscillator's input and a drift to velocity and displacement.
      x = x - jnp.mean(x, axis=1, keepdims=True)
    if self.peak_normalize:
      # Records in "psa0" units have a peak of ~1 (PGA ~ PSA(0.01 s)); the paper divides every
      # waveform by its own peak. Dividing the output by its own makes the generated PGA the
      # target's exactly. (It does not remove the fixed-time spike the spectral losses favour:
      # the spike then sets the level of the rest of the record; see the README.)
      x = x / (jnp.max(jnp.abs(x), axis=1, keepdims=True) + 1e-6)
    return x


class Critic(nn.Module):
  """D(x, c): ``x [B, T, 1]``, ``c [B, C]`` -> score ``[B]`` (unbounded, WGAN).

  ``hidden = 0`` is the paper's readout: flatten, Dense(1). That score is a sum over time
  positions of features of short windows (the convolutions' receptive field, 0.6 s with the
  paper's layers), so two sets of records whose windows have the same distribution at every
  position get the same mean score: one burst at a random time and independent bursts
  everywhere look alike to it. ``hidden > 0`` puts a Dense(hidden) + LeakyReLU between the
  flatten and the score, which can combine what happens at different times.
  """
  features: Sequence[int] = (32, 64, 128, 256)
  kernel: int = 5
  stride: int = 2
  negative_slope: float = 0.2
  hidden: int = 0

  @nn.compact
  def __call__(self, x, c):
    cond = nn.Dense(x.shape[1])(c)[..., None]
    h = jnp.concatenate([x, cond], axis=-1)
    for f in self.features:
      h = nn.Conv(f, (self.kernel,), strides=(self.stride,), padding="SAME")(h)
      h = nn.leaky_relu(h, self.negative_slope)
    h = h.reshape((h.shape[0], -1))
    if self.hidden:
      h = nn.leaky_relu(nn.Dense(self.hidden)(h), self.negative_slope)
    return nn.Dense(1)(h)[:, 0]


class CVAEGAN(nn.Module):
  """Encoder + decoder (the generator); the critic is a separate module with its own state."""
  encoder: Encoder
  decoder: Decoder

  def __call__(self, x, c, eps, train: bool):
    """Reconstruct: returns (x_rec [B, T, 1], mean [B, L], logvar [B, L]); eps ~ N(0, I) [B, L]."""
    mean, logvar = self.encoder(x, c, train)
    z = mean + jnp.exp(0.5 * logvar) * eps
    return self.decoder(z, c, train), mean, logvar

  def generate(self, z, c, train: bool = False):
    """Decode prior samples ``z [B, L]`` under conditions ``c [B, C]`` -> ``[B, T, 1]``."""
    return self.decoder(z, c, train)

  def encode(self, x, c, train: bool = False):
    """(mean, logvar) of q(z | x, c)."""
    return self.encoder(x, c, train)
