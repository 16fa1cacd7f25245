"""A Keras/TensorFlow re-implementation of one CVAE-GAN training step (Hu et al. 2026), a speed peer.

Not used by training: it only times, beside ``benchmarks/train.py``, the same work as our JAX
``train.train_step`` with ``configs/paper.py``, written the way the authors' Keras script is.

Models (channels-last; T = 3000 samples, P = 200 periods, latent L = 100):

* Encoder: ``x [B, T, 1]`` -> 3 x [Conv1D 64/128/256 (kernel 10, stride 2, same), BatchNorm
  (momentum 0.99, eps 1e-3), ReLU] -> global average pool ``[B, 256]`` -> concat ``c [B, P]``
  -> Dense(L) mean and Dense(L) log-variance, each ``[B, L]``.
* Decoder: concat(z, c) ``[B, L + P]`` -> Dense(375 * 256) -> reshape ``[B, 375, 256]`` -> 3 x
  [UpSampling1D(2), Conv1D 128/64/32 (kernel 3, same), BatchNorm, ReLU] -> Conv1D(1, kernel 3)
  -> tanh ``[B, T, 1]``.
* Critic: ``c`` -> Dense(T) as a second channel beside ``x`` ``[B, T, 2]`` -> Conv1D
  32/64/128/256 (kernel 5, stride 2, same), each with LeakyReLU(0.2) -> flatten -> Dense(1)
  -> score ``[B]``. No normalisation.

Step (one ``tf.function``): 2 critic updates (WGAN loss + 10 x gradient penalty by a nested
``tf.GradientTape``, Adam 1e-4, betas 0.0/0.9), then one generator update
(5 MSE + 0.5 KL + 0.1 (-mean D(x_rec)), the same Adam) on a fixed synthetic batch.

  python benchmarks/keras_peer.py [--batch_size=128] [--steps=3] [--jit_compile]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

__all__ = ["make_step"]


def _models(num_samples: int, num_periods: int, latent_dim: int):
  """(encoder, decoder, critic) Keras models.

  encoder: ``(x [B, T, 1], c [B, P])`` -> ``(mean [B, L], logvar [B, L])``;
  decoder: ``(z [B, L], c [B, P])`` -> ``x [B, T, 1]``; critic: ``(x [B, T, 1], c [B, P])`` -> ``[B, 1]``.
  Kernels start lecun-normal, biases at zero (Flax's defaults).
  """
  import keras
  from keras import layers

  init = "lecun_normal"
  bn = lambda: layers.BatchNormalization(momentum=0.99, epsilon=1e-3)
  x_in, c_in = keras.Input((num_samples, 1)), keras.Input((num_periods,))
  h = x_in
  for f in (64, 128, 256):
    h = layers.ReLU()(bn()(layers.Conv1D(f, 10, strides=2, padding="same", kernel_initializer=init)(h)))
  h = layers.Concatenate()([layers.GlobalAveragePooling1D()(h), c_in])
  encoder = keras.Model([x_in, c_in], [layers.Dense(latent_dim, kernel_initializer=init)(h),
                                       layers.Dense(latent_dim, kernel_initializer=init)(h)], name="encoder")

  base = num_samples // 8
  z_in, c_in = keras.Input((latent_dim,)), keras.Input((num_periods,))
  h = layers.Dense(base * 256, kernel_initializer=init)(layers.Concatenate()([z_in, c_in]))
  h = layers.Reshape((base, 256))(h)
  for f in (128, 64, 32):
    h = layers.UpSampling1D(2)(h)
    h = layers.ReLU()(bn()(layers.Conv1D(f, 3, padding="same", kernel_initializer=init)(h)))
  out = layers.Conv1D(1, 3, padding="same", activation="tanh", kernel_initializer=init)(h)
  decoder = keras.Model([z_in, c_in], out, name="decoder")

  x_in, c_in = keras.Input((num_samples, 1)), keras.Input((num_periods,))
  cond = layers.Reshape((num_samples, 1))(layers.Dense(num_samples, kernel_initializer=init)(c_in))
  h = layers.Concatenate()([x_in, cond])
  for f in (32, 64, 128, 256):
    h = layers.LeakyReLU(negative_slope=0.2)(
        layers.Conv1D(f, 5, strides=2, padding="same", kernel_initializer=init)(h))
  out = layers.Dense(1, kernel_initializer=init)(layers.Flatten()(h))
  critic = keras.Model([x_in, c_in], out, name="critic")
  return encoder, decoder, critic


def make_step(batch_size: int, num_samples: int = 3000, num_periods: int = 200, latent_dim: int = 100,
              seed: int = 0, jit_compile: bool = False) -> tuple[Callable[[], None], int]:
  """Builds the Keras models, optimizers and a fixed synthetic batch; returns (step, trainable_params).

  The batch: ``x [B, T, 1]`` (standard normal x 0.3, as ``benchmarks/train.py``), ``c [B, P]``
  (standard normal), float32, with ``B = batch_size``, ``T = num_samples``, ``P = num_periods``.
  step() runs one whole training step (2 critic updates with gradient penalty, then the
  generator update) in one ``tf.function`` (XLA with ``jit_compile``) and blocks until done by
  reading back the generator loss. ``trainable_params`` counts encoder + decoder + critic
  weights (BatchNorm moving statistics excluded).
  """
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import keras
  import numpy as np
  import tensorflow as tf

  keras.utils.set_random_seed(seed)
  encoder, decoder, critic = _models(num_samples, num_periods, latent_dim)
  gen_vars = encoder.trainable_variables + decoder.trainable_variables
  critic_vars = critic.trainable_variables
  n_params = int(sum(np.prod(v.shape) for v in gen_vars + critic_vars))
  # optax.adam's defaults besides the paper's lr and betas (eps 1e-8, not Keras' 1e-7).
  adam = lambda: keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8)
  gen_opt, critic_opt = adam(), adam()
  gen_opt.build(gen_vars)
  critic_opt.build(critic_vars)

  rng = np.random.default_rng(seed)
  x = tf.constant(rng.standard_normal((batch_size, num_samples, 1)).astype(np.float32) * 0.3)
  c = tf.constant(rng.standard_normal((batch_size, num_periods)).astype(np.float32))
  gen = tf.random.Generator.from_seed(seed)
  n_critic, gp_weight, rec_weight, kl_weight, adv_weight = 2, 10.0, 5.0, 0.5, 0.1

  def reconstruct():
    """(x_rec [B, T, 1], mean [B, L], logvar [B, L]) with fresh eps, BatchNorm in training mode."""
    mean, logvar = encoder([x, c], training=True)
    z = mean + tf.exp(0.5 * logvar) * gen.normal((batch_size, latent_dim))
    return decoder([z, c], training=True), mean, logvar

  def critic_update():
    """One WGAN-GP critic update; returns the critic loss (scalar)."""
    fake = tf.stop_gradient(reconstruct()[0])
    mix = gen.uniform((batch_size, 1, 1))
    x_hat = mix * x + (1.0 - mix) * fake  # As losses.gradient_penalty: mix weighs the real record.
    with tf.GradientTape() as tape:
      w = tf.reduce_mean(critic([fake, c], training=True)) - tf.reduce_mean(critic([x, c], training=True))
      with tf.GradientTape() as inner:
        inner.watch(x_hat)
        d_hat = tf.reduce_sum(critic([x_hat, c], training=True))
      g = inner.gradient(d_hat, x_hat)  # [B, T, 1]
      norms = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2]) + 1e-12)
      loss = w + gp_weight * tf.reduce_mean(tf.square(norms - 1.0))
    critic_opt.apply_gradients(zip(tape.gradient(loss, critic_vars), critic_vars))
    return loss

  def generator_update():
    """One generator update (encoder + decoder); returns the generator loss (scalar)."""
    with tf.GradientTape() as tape:
      x_rec, mean, logvar = reconstruct()
      rec = tf.reduce_mean(tf.square(x - x_rec))
      kl = tf.reduce_mean(-0.5 * (1.0 + logvar - tf.square(mean) - tf.exp(logvar)))
      adv = -tf.reduce_mean(critic([x_rec, c], training=True))
      loss = rec_weight * rec + kl_weight * kl + adv_weight * adv
    gen_opt.apply_gradients(zip(tape.gradient(loss, gen_vars), gen_vars))
    return loss

  @tf.function(jit_compile=jit_compile)
  def train_step():
    """2 critic updates then 1 generator update; returns (critic loss, generator loss)."""
    critic_loss = tf.constant(0.0)
    for _ in range(n_critic):  # Unrolled at trace time, as our jitted Python loop.
      critic_loss = critic_update()
    return critic_loss, generator_update()

  def step() -> None:
    """One training step, blocking until its losses are on the host; raises on a NaN loss."""
    critic_loss, gen_loss = train_step()
    if not (np.isfinite(critic_loss.numpy()) and np.isfinite(gen_loss.numpy())):
      raise FloatingPointError(f"non-finite loss: critic {critic_loss.numpy()}, generator {gen_loss.numpy()}")

  return step, n_params


def main() -> None:
  """Times the Keras step: 1 warm-up (tracing) step, then the median of ``--steps`` steps."""
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--batch_size", type=int, default=128)
  ap.add_argument("--steps", type=int, default=3)
  ap.add_argument("--jit_compile", action="store_true", help="compile the step with XLA")
  args = ap.parse_args()
  step, n_params = make_step(args.batch_size, jit_compile=args.jit_compile)
  import keras
  import tensorflow as tf
  t0 = time.perf_counter()
  step()
  first = time.perf_counter() - t0
  times = []
  for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
  sec = sorted(times)[len(times) // 2]
  print(f"keras {keras.__version__} / tensorflow {tf.__version__}, jit_compile={args.jit_compile}, "
        f"batch {args.batch_size}: first step (with tracing) {first:.1f} s | {sec:.3f} s/step (median of "
        f"{args.steps}: {', '.join(f'{t:.2f}' for t in times)})  {args.batch_size / sec:.1f} examples/s | "
        f"{n_params} trainable params")


if __name__ == "__main__":
  main()
