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

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["strided_conv", "StridedConv", "UpsampleConv", "Encoder", "Decoder", "TimingDecoder", "husid_template", "Critic", "MultiScaleCritic", "CVAEGAN", "build",
           "latent_shape", "TEMPLATE_TIMING", "HUSID_KNOTS", "husid_knot_times"]

TEMPLATE_TIMING = ("t5", "d5_75", "d5_95")  # The timing conditions the Husid template reads, in order.


def _batch_norm(x, train: bool):
  """BatchNorm with Keras' defaults (momentum 0.99, epsilon 1e-3), as the authors' script."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3)(x)


_DIMS = ("NWC", "WIO", "NWC")


def _conv_params(module: nn.Module, kernel: int, c_in: int, features: int):
  """``nn.Conv``'s parameters, declared in ``module``: ``kernel [kernel, c_in, features]``
  (LeCun normal) and ``bias [features]`` (zeros), under nn.Conv's names."""
  w = module.param("kernel", nn.initializers.lecun_normal(), (kernel, c_in, features), jnp.float32)
  return w, module.param("bias", nn.initializers.zeros_init(), (features,), jnp.float32)


def _phase_taps(kernel: int) -> tuple[np.ndarray, np.ndarray, int]:
  """The polyphase form of "repeat x2, then a SAME convolution of odd ``kernel``".

  Output ``2 i + phase`` reads input samples ``i + lo[phase] + j``, ``j < span``, with taps
  that are sums of the original ones. Returns (``select [2, span, kernel]``, 0/1: tap ``t``
  of the original kernel goes to tap ``j`` of phase ``phase``; ``lo [2]``; ``span``).
  """
  r = (kernel - 1) // 2
  offsets = np.array([[(phase + t - r) // 2 for t in range(kernel)] for phase in (0, 1)])
  lo = offsets.min(axis=1)
  span = int((offsets.max(axis=1) - lo).max()) + 1
  select = np.zeros((2, span, kernel), np.float32)
  for phase in (0, 1):
    select[phase, offsets[phase] - lo[phase], np.arange(kernel)] = 1.0
  return select, lo, span


INTERPOLATION_HALF_TAPS = 8  # Taps each side of the "lowpass" upsampling's half-band filter.


@functools.lru_cache(maxsize=4)
def half_band_taps(half: int = INTERPOLATION_HALF_TAPS) -> np.ndarray:
  """The odd phase of a x2 interpolator, ``[2 half]``: output ``2 i + 1`` is
  ``sum_k taps[k] x[i - half + 1 + k]`` (the even outputs are the input samples).

  A half-band low-pass (sinc at offsets +-0.5, +-1.5, ..., Kaiser window, beta 8) that
  passes the input's band and removes its images above the input's Nyquist frequency:
  repeating samples (Keras ``UpSampling1D``) leaves these images, as lines at multiples of
  the lowest rate in every upsampled record (12.5, 25, 37.5 Hz at 100 Hz after three
  doublings). The taps sum to 1 (a constant stays constant).
  """
  offsets = np.arange(-half + 1, half + 1) - 0.5
  window = np.kaiser(4 * half + 1, 8.0)[1::2]  # The window at the half-sample offsets.
  taps = np.sinc(offsets) * window
  return (taps / taps.sum()).astype(np.float32)


def interpolate2(x):
  """``x [B, L, C]`` -> ``[B, 2 L, C]``: band-limited x2 interpolation (:func:`half_band_taps`),
  the even samples the input's; zeros beyond the ends."""
  taps = half_band_taps()
  half, n = taps.size // 2, x.shape[1]
  pad = jnp.pad(x, ((0, 0), (half - 1, half), (0, 0)))
  # Symmetric taps: pairs of shifted slices, one multiply each (a depthwise convolution's
  # gradient was 4x slower on XLA:CPU).
  mirror = lambda k: 2 * half - 1 - k  # taps[k] == taps[mirror(k)].
  odd = sum(float(taps[k]) * (pad[:, k:k + n] + pad[:, mirror(k):mirror(k) + n]) for k in range(half))
  return jnp.stack([x, odd], axis=2).reshape(x.shape[0], 2 * n, x.shape[-1])


class UpsampleConv(nn.Module):
  """Keras' ``UpSampling1D(2)`` then ``Conv1D(features, kernel, padding="same")``, computed at
  the input's rate: ``x [B, L, C]`` -> ``[B, 2 L, features]``.

  Repeating each sample twice and convolving makes every even output a convolution of the
  input with taps ``w[t]`` summed per input sample, and every odd output another: two
  convolutions of ``(kernel + 1) / 2`` taps at the low rate instead of one of ``kernel`` taps at
  the high rate (for the paper's kernel 3, two thirds of the multiply-adds; the same output
  to float rounding, ``tests/models_test.py``). The parameters are ``nn.Conv``'s (same names,
  shapes and initialisers), so checkpoints and parameter counts do not change. An even
  kernel falls back to repeating the input.
  """
  features: int
  kernel: int = 3
  upsample: str = "repeat"  # "repeat" (Keras UpSampling1D) or "lowpass" (interpolate2, no images).

  @nn.compact
  def __call__(self, x):
    c_in = x.shape[-1]
    w, b = _conv_params(self, self.kernel, c_in, self.features)
    if self.upsample == "lowpass":
      return jax.lax.conv_general_dilated(interpolate2(x), w, (1,), "SAME", dimension_numbers=_DIMS) + b
    if self.upsample != "repeat":
      raise ValueError(f"model.decoder_upsample must be 'repeat' or 'lowpass', got {self.upsample!r}")
    if self.kernel % 2 == 0:
      y = jax.lax.conv_general_dilated(jnp.repeat(x, 2, axis=1), w, (1,), "SAME", dimension_numbers=_DIMS)
      return y + b
    select, lo, span = _phase_taps(self.kernel)
    taps = jnp.einsum("pjt,tio->jipo", select, w).reshape(span, c_in, 2 * self.features)  # Phases side by side.
    pad_left = int(-lo.min())
    pad_right = int(max(lo.max() + span - 1, 0))
    # Padded here, not by the convolution: XLA:CPU's gradient of a padded convolution took 50x longer.
    x_pad = jnp.pad(x, ((0, 0), (pad_left, pad_right), (0, 0)))
    y = jax.lax.conv_general_dilated(x_pad, taps, (1,), "VALID", dimension_numbers=_DIMS)
    n = x.shape[1]
    phases = [y[:, lo[p] + pad_left:lo[p] + pad_left + n, p * self.features:(p + 1) * self.features]
              for p in (0, 1)]
    return jnp.stack(phases, axis=2).reshape(x.shape[0], 2 * n, self.features) + b


def _same_padding(n: int, kernel: int, stride: int) -> tuple[int, int]:
  """Left and right zero padding of a 'same' convolution (Keras, Flax) of ``n`` samples."""
  total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
  return total // 2, total - total // 2


def _strided_conv_folded(x, w, stride: int):
  """A 'same' convolution of stride ``stride`` as a stride-1 convolution (padded outside it) of
  the input folded into ``stride`` times the channels: ``x [B, N, C]``, ``w [K, C, F]`` -> ``[B, ceil(N / stride), F]``.

  Sample ``stride m + q`` becomes channel block ``q`` of frame ``m``, and tap ``stride j + q`` of
  the kernel becomes tap ``j`` of block ``q``. The same multiply-adds; its gradients are
  stride-1 convolutions, where the strided convolution's input gradient is a convolution of
  the gradient dilated by the stride (see :func:`strided_conv`).
  """
  b, n, c = x.shape
  k = w.shape[0]
  out = -(-n // stride)
  taps = -(-k // stride)
  left, _ = _same_padding(n, k, stride)
  length = (out - 1 + taps) * stride
  folded = jnp.pad(x, ((0, 0), (left, length - n - left), (0, 0))).reshape(b, length // stride, stride * c)
  w_folded = jnp.pad(w, ((0, taps * stride - k), (0, 0), (0, 0))).reshape(taps, stride * c, w.shape[2])
  return jax.lax.conv_general_dilated(folded, w_folded, (1,), "VALID", dimension_numbers=_DIMS)


def _strided_conv_native(x, w, stride: int):
  """XLA's strided 'same' convolution, ``x [B, N, C]``, ``w [K, C, F]`` -> ``[B, ceil(N / stride), F]``."""
  return jax.lax.conv_general_dilated(x, w, (stride,), [_same_padding(x.shape[1], w.shape[0], stride)],
                                      dimension_numbers=_DIMS)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def strided_conv(x, w, stride: int):
  """Keras' ``Conv1D(strides=stride, padding="same")`` without bias: ``x [B, N, C]``,
  ``w [K, C, F]`` -> ``[B, ceil(N / stride), F]``.

  The value is XLA's strided convolution. Its derivatives (forward and reverse mode, so the
  gradient penalty's JVP too) take, for each of its two linear maps, the form XLA:CPU runs
  faster (``benchmarks/README.md``):
  - in the input, :func:`_strided_conv_folded`, the same map as a stride-1 convolution: the
    strided form's input gradient, a convolution of the stride-dilated gradient, took 3-8
    times its forward pass (the paper's encoder and critic layers), the folded form's about
    one. Up to ``NATIVE_INPUT_GRADIENT_CHANNELS`` input channels the strided form's is the
    faster (the critic's first layer: 4.8 against 9.6 ms at batch 128);
  - in the weights, the strided form: its weight gradient took 0.7-0.8 times the folded
    form's, which also multiplies the taps padded to a multiple of the stride.
  Equal to float rounding (``tests/models_test.py``).
  """
  return _strided_conv_native(x, w, stride)


NATIVE_INPUT_GRADIENT_CHANNELS = 2  # Up to this many input channels, the input gradient is XLA's own.


def _strided_conv_jvp(stride, primals, tangents):
  x, w = primals
  dx, dw = tangents
  parts = []  # A symbolic zero (a constant input) costs no convolution.
  if not isinstance(dx, jax.custom_derivatives.SymbolicZero):
    # Linear in dx: reverse mode transposes it into the input gradient (see strided_conv).
    small = x.shape[-1] <= NATIVE_INPUT_GRADIENT_CHANNELS
    parts.append(_strided_conv_native(dx, w, stride) if small else _strided_conv_folded(dx, w, stride))
  if not isinstance(dw, jax.custom_derivatives.SymbolicZero):
    # Linear in dw: transposed into the weight gradient (see strided_conv).
    parts.append(_strided_conv_native(x, dw, stride))
  y = strided_conv(x, w, stride)
  return y, sum(parts[1:], parts[0]) if parts else jnp.zeros_like(y)


strided_conv.defjvp(_strided_conv_jvp, symbolic_zeros=True)


class StridedConv(nn.Module):
  """``nn.Conv(features, (kernel,), strides=(stride,), padding="SAME")`` with the derivatives of
  :func:`strided_conv`: ``x [B, N, C]`` -> ``[B, ceil(N / stride), features]``. The same
  parameter names, shapes and initialisers as ``nn.Conv`` (callers name it ``Conv_{i}`` as
  Flax named those), so checkpoints and parameter counts do not change.
  """
  features: int
  kernel: int
  stride: int = 1

  @nn.compact
  def __call__(self, x):
    w, b = _conv_params(self, self.kernel, x.shape[-1], self.features)
    return strided_conv(x, w, self.stride) + b


@jax.custom_jvp
def add_bias(y, b):
  """``y [..., F] + b [F]``, whose derivative in ``b`` is transposed into a dot with ones.

  The plain sum's bias gradient is a sum over the leading axes, which XLA:CPU took 76 ms to
  reduce for the paper decoder's first layer (``[128, 96000]``, batch 128); the same sum as a
  product with a vector of ones took 1.3 ms (``benchmarks/README.md``). Equal to float rounding.
  """
  return y + b


@add_bias.defjvp
def _add_bias_jvp(primals, tangents):
  y, b = primals
  dy, db = tangents
  rows = int(np.prod(y.shape[:-1]))
  broadcast = jnp.dot(jnp.ones((rows, 1), db.dtype), db[None, :]).reshape(y.shape)  # Ones times db: a dot.
  return y + b, dy + broadcast


class WideDense(nn.Module):
  """``nn.Dense(features)`` (same parameter names, shapes and initialisers) whose bias gradient is
  a dot (:func:`add_bias`): ``x [B, I]`` -> ``[B, features]``. For layers of many outputs, such
  as the paper decoder's first (96 000)."""
  features: int

  @nn.compact
  def __call__(self, x):
    w = self.param("kernel", nn.initializers.lecun_normal(), (x.shape[-1], self.features), jnp.float32)
    b = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    return add_bias(x @ w, b)


def _upsample_block(x, c, features: int, kernel: int, film: bool, train: bool, index: int, upsample: str = "repeat",
                    film_name: str | None = None):
  """One decoder block, called from a compact ``__call__`` (its layers belong to the caller):
  ``x [B, L, C]`` -> ``[B, 2 L, features]``: repeat x2 (Keras UpSampling1D), Conv1D
  (:class:`UpsampleConv`, named ``Conv_{index}`` as ``nn.Conv`` was), BatchNorm, optional FiLM
  from ``c [B, C]`` (a Dense named ``film_name``, or Flax's next ``Dense_{n}``), ReLU.

  FiLM (conditional normalisation; de Vries et al. 2017, Perez et al. 2018): the channels get a
  scale 1 + gamma(c) and a shift beta(c). Otherwise the condition enters only the first layer,
  and the last blocks, which make the short periods, see it through three convolutions.
  Zero-initialised: training starts from the plain decoder.
  """
  x = UpsampleConv(features, kernel, upsample, name=f"Conv_{index}")(x)
  x = _batch_norm(x, train)
  if film:
    gb = nn.Dense(2 * features, kernel_init=nn.initializers.zeros, name=film_name)(c)[:, None, :]
    x = x * (1.0 + gb[..., :features]) + gb[..., features:]
  return nn.relu(x)


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
    for i, f in enumerate(self.features):
      x = StridedConv(f, self.kernel, self.stride, name=f"Conv_{i}")(x)
      x = nn.relu(_batch_norm(x, train))
    if self.time_latent:
      h = jnp.concatenate([x, jnp.broadcast_to(c[:, None, :], x.shape[:2] + c.shape[-1:])], axis=-1)
    else:
      h = jnp.concatenate([jnp.mean(x, axis=1), c], axis=-1)
    return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="logvar")(h)


class Decoder(nn.Module):
  """p(x | z, c): ``z [B, latent]``, ``c [B, C]`` -> ``x [B, T, channels]`` with
  ``T = base_length * 2**len(features)`` (channels 2: a pair of horizontal components).
  """
  base_length: int = 375
  base_features: int = 256
  features: Sequence[int] = (128, 64, 32)
  kernel: int = 3
  output: str = "tanh"  # "tanh" (paper, peak-normalised data) or "linear".
  zero_mean: bool = False  # Subtract the output's time average (band-passed records have none).
  peak_normalize: bool = False  # Divide the output by its largest |sample| (see below).
  film: bool = False  # The condition sets a scale and shift of every block's channels (see below).
  upsample: str = "repeat"  # Each block's x2: "repeat" (the paper's) or "lowpass" (:func:`interpolate2`).
  channels: int = 1  # Output channels (2: pairs).

  @nn.compact
  def __call__(self, z, c, train: bool):
    h = WideDense(self.base_length * self.base_features, name="Dense_0")(jnp.concatenate([z, c], axis=-1))
    x = h.reshape((h.shape[0], self.base_length, self.base_features))
    for i, f in enumerate(self.features):  # FiLM layers keep nn.Dense's names after the first layer's.
      x = _upsample_block(x, c, f, self.kernel, self.film, train, i, self.upsample, film_name=f"Dense_{i + 1}")
    x = nn.Conv(self.channels, (self.kernel,), padding="SAME", name=f"Conv_{len(self.features)}")(x)
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
      x = x / (jnp.max(jnp.abs(x), axis=(1, 2), keepdims=True) + 1e-6)
    return x


HUSID_KNOTS = (0.0, 0.05, 0.75, 0.95, 1.0)  # Husid levels at 0, t5, t5 + D5-75, t5 + D5-95, the end.


def husid_knot_times(timing_s, length_s: float, min_gap_s: float = 1e-3):
  """``[B, 5]`` times (s) at which the Husid curve that ``timing_s [B, 3]`` (t5, D5-75, D5-95,
  s) describes takes the levels ``HUSID_KNOTS``: 0, t5, t5 + D5-75, t5 + D5-95 and
  ``length_s``, clipped into the window (t5 <= 0.97, t75 <= 0.98, t95 <= 0.99 of it) and
  kept increasing by at least ``min_gap_s``."""
  t5 = jnp.clip(timing_s[:, 0], 0.0, 0.97 * length_s)
  t75 = jnp.clip(t5 + timing_s[:, 1], t5 + min_gap_s, 0.98 * length_s)
  t95 = jnp.clip(t5 + timing_s[:, 2], t75 + min_gap_s, 0.99 * length_s)
  return jnp.stack([jnp.zeros_like(t5), t5, t75, t95, jnp.full_like(t5, length_s)], axis=-1)


def husid_template(timing_s, frames: int, frame_s: float):
  """The Husid curve that timing conditions describe, per frame: ``timing_s [B, 3]`` (t5,
  D5-75, D5-95 in s) -> ``[B, frames, 2]``: the curve ``H`` (piecewise linear through 0 at the
  start, 0.05 at t5, 0.75 at t5 + D5-75, 0.95 at t5 + D5-95 and 1 at the window's end, read at
  each frame's centre) and ``ln`` of its slope times the window length (the log energy
  density: 0 for energy spread evenly over the window).

  Ding et al. (2026) condition their generator on the Husid curve itself; here it is built
  from the three numbers, so that a user can ask for them.
  """
  length = frames * frame_s
  knots_t = husid_knot_times(timing_s, length, 0.01 * frame_s)  # [B, 5]
  knots_h = jnp.asarray(HUSID_KNOTS)
  t = frame_s * (jnp.arange(frames) + 0.5)
  h = jax.vmap(lambda kt: jnp.interp(t, kt, knots_h))(knots_t)
  seg = jnp.clip(jnp.sum(t[None, :, None] >= knots_t[:, None, 1:4], axis=-1), 0, 3)  # Segment of each frame.
  slope = jnp.diff(knots_h)[None, :] / jnp.maximum(jnp.diff(knots_t, axis=-1), 1e-3)  # [B, 4] per s.
  log_density = jnp.log(jnp.take_along_axis(slope, seg, axis=-1) * length)
  return jnp.stack([h, log_density], axis=-1)


class TimingDecoder(nn.Module):
  """p(x | z, c) with a time-axis latent: ``z [B, F, latent]``, ``c [B, C]`` -> ``x [B, T,
  channels]``, ``T = F * 2**len(features)`` (channels 2: a pair of horizontal components).

  Nothing in it is tied to an absolute time: each base frame is a Dense of its own latent,
  the condition and (with timing conditions) the Husid template at that frame
  (:func:`husid_template`, read from the condition's last three entries, ``ln(t + 1 s)``);
  dilated residual convolutions at the frame rate (``dilations``) give the frames a context
  of seconds (long periods); the upsampling blocks are the paper's, with FiLM. The paper's
  decoder makes its first frames with one Dense of the condition, a weight for every instant,
  which is where the fixed-time spikes of its samples come from.

  The output is divided by its own RMS and multiplied by a level that only the condition
  sets (``exp(Dense(c))``, model units; a pair's RMS is over both components, whose balance the
  latent decides): the latent decides the waveform, not how strong it is. Otherwise prior latents, which the decoder sees less than the encoder's, come out
  weaker than reconstructions (0.6 times their spectra at step 500 of the first run).
  """
  base_length: int = 375
  base_features: int = 64
  features: Sequence[int] = (64, 32, 16)
  kernel: int = 3
  zero_mean: bool = True
  film: bool = True
  dilations: Sequence[int] = (1, 3, 9, 27)
  timing: bool = False  # The condition ends in ln(t5 + 1), ln(D5-75 + 1), ln(D5-95 + 1) (s).
  frame_s: float = 0.08  # Seconds per base frame.
  negative_slope: float = 0.2
  upsample: str = "repeat"  # Each block's x2: "repeat" (the paper's) or "lowpass" (:func:`interpolate2`).
  channels: int = 1  # Output channels (2: pairs).

  @nn.compact
  def __call__(self, z, c, train: bool):
    b, f = z.shape[0], z.shape[1]
    parts = [z, jnp.broadcast_to(c[:, None, :], (b, f, c.shape[-1]))]
    if self.timing:
      parts.append(husid_template(jnp.exp(c[:, -3:]) - 1.0, f, self.frame_s))
    x = nn.Dense(self.base_features, name="frames")(jnp.concatenate(parts, axis=-1))
    for i, d in enumerate(self.dilations):
      h = nn.Conv(self.base_features, (3,), kernel_dilation=(d,), padding="SAME", name=f"context_{i}")(
          nn.leaky_relu(x, self.negative_slope))
      x = x + h
    for i, f_out in enumerate(self.features):
      x = _upsample_block(x, c, f_out, self.kernel, self.film, train, i, self.upsample)
    x = nn.Conv(self.channels, (self.kernel,), padding="SAME", name=f"Conv_{len(self.features)}")(x)
    if self.zero_mean:
      x = x - jnp.mean(x, axis=1, keepdims=True)
    rms = jnp.sqrt(jnp.mean(x * x, axis=(1, 2), keepdims=True) + 1e-12)
    # Starts at the training records' median: RMS = 0.19 PSA(0.01 s) (600-event set).
    log_level = nn.Dense(1, name="level", bias_init=nn.initializers.constant(-1.7))(c)[:, None, :]
    return x / rms * jnp.exp(log_level)


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
    for i, f in enumerate(self.features):
      h = StridedConv(f, self.kernel, self.stride, name=f"Conv_{i}")(h)
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
        h = StridedConv(f, self.kernel, self.stride, name=f"conv_{s}_{i}")(h)
        h = nn.leaky_relu(h, self.negative_slope)
        feats.append(h)
      scores.append(nn.Conv(1, (3,), padding="SAME", name=f"score_{s}")(h)[..., 0])
    return jnp.concatenate(scores, axis=1), feats


class CVAEGAN(nn.Module):
  """Encoder + decoder (the generator); the critic is a separate module with its own state."""
  encoder: Encoder
  decoder: nn.Module

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


def build(model_config, num_samples: int, dt: float | None = None, channels: int = 1) -> tuple[CVAEGAN, nn.Module]:
  """The generator (encoder + decoder) and critic of a ``config.model``.

  Args:
    model_config: ``config.model`` (see ``configs/base.py``).
    num_samples: samples per record ``T``; divisible by ``2**len(decoder_features)``.
    dt: sampling interval, s (needed by the timing decoder with timing conditions).
    channels: components per record (2: pairs, ``data.pairs``); the encoder and critic take
      them as input channels, the decoder makes them.

  Raises:
    ValueError: ``num_samples`` not divisible by the decoder's total upsampling, a time
      latent whose encoder does not reach the decoder's frames, timing conditions other than
      ``("t5", "d5_75", "d5_95")`` with a time latent, or an unknown critic.
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
  upsample = m.get("decoder_upsample", "repeat")  # Workdirs written before the field: the paper's.
  if m.time_latent:
    timing = tuple(m.timing_conditions)
    if timing not in ((), TEMPLATE_TIMING):
      raise ValueError(f"model.time_latent reads its Husid template from timing_conditions {TEMPLATE_TIMING} "
                       f"(or none), got {timing}")
    if timing and dt is None:
      raise ValueError("models.build needs dt (s) for the timing decoder's Husid template")
    dec = TimingDecoder(frames, m.decoder_base_features, tuple(m.decoder_features), m.decoder_kernel,
                        zero_mean=m.decoder_zero_mean, film=m.decoder_film, timing=bool(timing),
                        frame_s=(dt or 0.0) * 2**n_up, upsample=upsample, channels=int(channels))
  else:
    dec = Decoder(frames, m.decoder_base_features, tuple(m.decoder_features), m.decoder_kernel,
                  m.decoder_output, zero_mean=m.decoder_zero_mean, peak_normalize=m.decoder_peak_normalize,
                  film=m.decoder_film, upsample=upsample, channels=int(channels))
  if m.critic == "paper":
    critic = Critic(tuple(m.critic_features), m.critic_kernel, m.critic_stride)
  elif m.critic == "multiscale":
    critic = MultiScaleCritic(tuple(m.critic_features), m.critic_kernel, m.critic_stride, tuple(m.critic_scales))
  else:
    raise ValueError(f"model.critic must be 'paper' or 'multiscale', got {m.critic!r}")
  return CVAEGAN(enc, dec), critic
