"""The Keras peer of the training benchmark is the paper's model: the same parameter count as
ours, and with our weights the same critic scores and decoder output (an independent
implementation of the layer list, TensorFlow's convolutions against XLA's)."""

import jax
import numpy as np
import pytest

from cvaegan_jax import models, train_state
from configs import paper
from tests.conftest import load_benchmark

pytest.importorskip("tensorflow")


def _copy(keras_layers, flax_params):
  """Our Dense/Conv kernels and biases into Keras layers of the same layout, in order."""
  for layer, p in zip(keras_layers, flax_params):
    layer.set_weights([np.asarray(p["kernel"]), np.asarray(p["bias"])])


def test_keras_peer_counts_our_parameters_and_computes_our_critic_and_decoder():
  import keras
  peer = load_benchmark("keras_peer")
  encoder, decoder, critic = peer._models(3000, 200, 100)
  static = train_state.make_static(paper.get_config())
  state = train_state.create(static, {"mean": np.zeros(200), "std": np.ones(200)}, 0)
  ours = sum(x.size for x in jax.tree.leaves((state.gen_params, state.critic_params)))
  theirs = sum(int(np.prod(v.shape)) for m in (encoder, decoder, critic) for v in m.trainable_variables)
  assert theirs == ours == 30_395_746

  rng = np.random.default_rng(0)
  x = rng.standard_normal((3, 3000, 1)).astype(np.float32) * 0.3
  c = rng.standard_normal((3, 200)).astype(np.float32)
  cp = state.critic_params
  weighted = lambda m: [layer for layer in m.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D))]
  _copy(weighted(critic), [cp["Dense_0"]] + [cp[f"Conv_{i}"] for i in range(4)] + [cp["Dense_1"]])
  np.testing.assert_allclose(critic([x, c]).numpy()[:, 0], static.critic.apply({"params": cp}, x, c),
                             rtol=1e-4, atol=1e-5)

  dp = state.gen_params["decoder"]
  _copy(weighted(decoder), [dp["Dense_0"]] + [dp[f"Conv_{i}"] for i in range(4)])
  z = rng.standard_normal((3, 100)).astype(np.float32)
  v = {"params": state.gen_params, "batch_stats": state.gen_batch_stats}
  ours_x = static.model.apply(v, z, c, train=False, method=models.CVAEGAN.generate)
  np.testing.assert_allclose(decoder([z, c], training=False).numpy(), ours_x, atol=1e-5)
