"""Model shapes, the paper's parameter count, and loss functions with known answers."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvaegan_jax import fit, intensity, losses, models, train_state
from configs import base, paper


def count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def keras_paper_counts():
  """The layer list of ../shared/DESIGN.md counted as Keras counts it (BN: 2C trainable + 2C moving)."""
  conv = lambda k, cin, cout: k * cin * cout + cout
  dense = lambda nin, nout: nin * nout + nout
  c, latent, t = 200, 100, 3000
  enc = conv(10, 1, 64) + conv(10, 64, 128) + conv(10, 128, 256) + 2 * dense(256 + c, latent)
  enc_bn = 2 * (64 + 128 + 256)
  dec = dense(latent + c, 375 * 256) + conv(3, 256, 128) + conv(3, 128, 64) + conv(3, 64, 32) + conv(3, 32, 1)
  dec_bn = 2 * (128 + 64 + 32)
  length = t
  for _ in range(4):
    length = -(-length // 2)  # 'same' padding, stride 2: 3000 -> 1500 -> 750 -> 375 -> 188
  critic = dense(c, t) + conv(5, 2, 32) + conv(5, 32, 64) + conv(5, 64, 128) + conv(5, 128, 256) + dense(length * 256, 1)
  return enc + enc_bn + dec + dec_bn, enc_bn + dec_bn, critic


def test_paper_parameter_count_matches_the_layer_list():
  cfg = paper.get_config()
  static = train_state.make_static(cfg)
  stats = {"mean": np.zeros(200, np.float32), "std": np.ones(200, np.float32)}
  state = train_state.create(static, stats, 0)
  trainable, moving, critic = keras_paper_counts()
  assert count(state.gen_params) == trainable
  assert count(state.gen_batch_stats) == moving
  assert count(state.critic_params) == critic


@pytest.mark.parametrize("kernel", [1, 2, 3, 5, 7])
def test_upsample_conv_equals_repeat_then_convolve(kernel):
  """The polyphase decoder convolution against Keras' form (UpSampling1D(2), then a 'same'
  Conv1D with nn.Conv's own parameters): outputs and gradients equal to float rounding."""
  x = jax.random.normal(jax.random.PRNGKey(1), (2, 11, 5))
  layer = models.UpsampleConv(8, kernel)
  params = layer.init(jax.random.PRNGKey(0), x)["params"]
  reference = lambda p: nn.Conv(8, (kernel,), padding="SAME").apply({"params": p}, jnp.repeat(x, 2, axis=1))
  np.testing.assert_allclose(layer.apply({"params": params}, x), reference(params), atol=2e-6)
  loss = lambda f: lambda p: jnp.sum(jnp.sin(f(p)))
  g_new = jax.grad(loss(lambda p: layer.apply({"params": p}, x)))(params)
  g_ref = jax.grad(loss(reference))(params)
  for name in ("kernel", "bias"):
    np.testing.assert_allclose(g_new[name], g_ref[name], atol=2e-5)


def test_lowpass_upsampling_keeps_the_samples_and_leaves_no_images():
  """``interpolate2``: the even samples are the input's, a slow sine comes out as the same
  sine at twice the rate (to 1e-3 away from the ends), and its image above the input's
  Nyquist frequency, which repeating samples leaves at a quarter of the sine's amplitude, is
  below 1e-3 of it. ``UpsampleConv(upsample="lowpass")`` is that, then nn.Conv."""
  fs, f, n = 12.5, 2.0, 375
  x = np.sin(2 * np.pi * f * np.arange(n) / fs)
  y = np.asarray(models.interpolate2(jnp.asarray(x[None, :, None], jnp.float32)))[0, :, 0]
  np.testing.assert_allclose(y[::2], x, atol=1e-6)
  fine = np.sin(2 * np.pi * f * np.arange(2 * n) / (2 * fs))
  np.testing.assert_allclose(y[40:-40], fine[40:-40], atol=1e-3)
  spectrum = lambda v: np.abs(np.fft.rfft(v * np.hanning(v.size)))
  image = np.argmin(np.abs(np.fft.rfftfreq(2 * n, 1 / (2 * fs)) - (fs - f)))
  assert spectrum(y)[image] < 1e-3 * spectrum(y).max()
  assert spectrum(np.repeat(x, 2))[image] > 0.2 * spectrum(np.repeat(x, 2)).max()
  h = jax.random.normal(jax.random.PRNGKey(1), (2, 11, 5))
  layer = models.UpsampleConv(8, 3, "lowpass")
  params = layer.init(jax.random.PRNGKey(0), h)["params"]
  reference = nn.Conv(8, (3,), padding="SAME").apply({"params": params}, models.interpolate2(h))
  np.testing.assert_allclose(layer.apply({"params": params}, h), reference, atol=2e-6)
  with pytest.raises(ValueError, match="decoder_upsample"):
    models.UpsampleConv(8, 3, "cubic").init(jax.random.PRNGKey(0), h)


@pytest.mark.parametrize("n, kernel, stride, c_in", [(3000, 10, 2, 1), (375, 5, 2, 3), (11, 5, 2, 2), (12, 4, 3, 3),
                                                     (7, 1, 2, 3), (12, 3, 1, 3)])
def test_strided_conv_equals_xla_convolution_in_value_and_every_derivative(n, kernel, stride, c_in):
  """strided_conv (XLA's strided convolution; input derivatives of the folded stride-1 form
  above NATIVE_INPUT_GRADIENT_CHANNELS input channels) against lax's 'same' convolution: the
  value, forward and reverse derivatives, and the gradient of a JVP in the weights (the
  gradient penalty's reverse-over-forward), to float rounding."""
  kx, kw, kv, kt = jax.random.split(jax.random.PRNGKey(0), 4)
  x = jax.random.normal(kx, (2, n, c_in))
  w = jax.random.normal(kw, (kernel, c_in, 4))
  reference = lambda x, w: jax.lax.conv_general_dilated(x, w, (stride,), "SAME", dimension_numbers=("NWC", "WIO", "NWC"))
  ours = lambda x, w: models.strided_conv(x, w, stride)
  assert ours(x, w).shape == (2, -(-n // stride), 4)
  np.testing.assert_allclose(ours(x, w), reference(x, w), atol=1e-4)
  v = (jax.random.normal(kv, x.shape), jax.random.normal(kt, w.shape))
  np.testing.assert_allclose(jax.jvp(ours, (x, w), v)[1], jax.jvp(reference, (x, w), v)[1], atol=1e-4)
  grads = lambda f: jax.grad(lambda x, w: jnp.sum(jnp.sin(f(x, w))), argnums=(0, 1))(x, w)
  for a, b in zip(grads(ours), grads(reference)):
    np.testing.assert_allclose(a, b, atol=1e-4)
  jvp_in_w = lambda f: jax.grad(lambda w: jnp.sum(jnp.tanh(jax.jvp(lambda x: f(x, w), (x,), (v[0],))[1])))(w)
  np.testing.assert_allclose(jvp_in_w(ours), jvp_in_w(reference), atol=1e-3)


def test_decoder_convolutions_keep_nn_conv_names_and_initial_values():
  """Checkpoints written before the polyphase and folded forms and WideDense restore: Conv_0..Conv_3
  with Keras' shapes and Dense_0 in the decoder, Conv_0..Conv_2 in the encoder, and the initial
  kernels are the ones nn.Conv draws at those names."""
  cfg = paper.get_config()
  static = train_state.make_static(cfg)
  state = train_state.create(static, {"mean": np.zeros(200), "std": np.ones(200)}, 0)
  dec = state.gen_params["decoder"]
  shapes = {name: dec[name]["kernel"].shape for name in dec if name.startswith("Conv_")}
  assert shapes == {"Conv_0": (3, 256, 128), "Conv_1": (3, 128, 64), "Conv_2": (3, 64, 32), "Conv_3": (3, 32, 1)}
  assert dec["Dense_0"]["kernel"].shape == (300, 96000)  # models.WideDense, under nn.Dense's name.
  enc = state.gen_params["encoder"]
  assert {name: enc[name]["kernel"].shape for name in enc if name.startswith("Conv_")} == {
      "Conv_0": (10, 1, 64), "Conv_1": (10, 64, 128), "Conv_2": (10, 128, 256)}
  x = jnp.ones((1, 4, 256))
  key = jax.random.PRNGKey(3)
  assert np.array_equal(models.UpsampleConv(128, 3).init(key, x)["params"]["kernel"],
                        nn.Conv(128, (3,)).init(key, x)["params"]["kernel"])
  assert np.array_equal(models.StridedConv(64, 10, 2).init(key, x)["params"]["kernel"],
                        nn.Conv(64, (10,), strides=(2,)).init(key, x)["params"]["kernel"])


def test_wide_dense_equals_nn_dense_in_parameters_value_and_derivatives():
  """WideDense (the paper decoder's first layer) against nn.Dense: the same parameter names and
  initial values, the same output, forward derivative and gradients, to float rounding."""
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 7))
  key = jax.random.PRNGKey(3)
  ours, reference = models.WideDense(11), nn.Dense(11)
  params = ours.init(key, x)["params"]
  reference_params = reference.init(key, x)["params"]
  assert jax.tree.map(np.shape, params) == jax.tree.map(np.shape, reference_params)
  assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(reference_params)))
  params = {"kernel": params["kernel"], "bias": jax.random.normal(jax.random.PRNGKey(1), (11,))}
  apply = lambda module: lambda p, x: module.apply({"params": p}, x)
  np.testing.assert_allclose(apply(ours)(params, x), apply(reference)(params, x), atol=1e-6)
  tangents = (jax.tree.map(jnp.ones_like, params), jnp.ones_like(x))
  np.testing.assert_allclose(jax.jvp(apply(ours), (params, x), tangents)[1],
                             jax.jvp(apply(reference), (params, x), tangents)[1], atol=1e-5)
  grads = lambda f: jax.grad(lambda p, x: jnp.sum(jnp.sin(f(p, x))), argnums=(0, 1))(params, x)
  for a, b in zip(jax.tree.leaves(grads(apply(ours))), jax.tree.leaves(grads(apply(reference)))):
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_shapes_through_the_models():
  cfg = base.get_config()
  cfg.model.encoder_features = (8, 8, 8)
  cfg.model.decoder_base_features = 8
  cfg.model.decoder_features = (8, 8, 8)
  cfg.model.critic_features = (4, 4, 4, 4)
  static = train_state.make_static(cfg)
  state = train_state.create(static, {"mean": np.zeros(103), "std": np.ones(103)}, 0)  # 100 periods, 3 timings.
  x = jnp.ones((3, 3000, 1))
  c = jnp.ones((3, 103))
  v = {"params": state.gen_params, "batch_stats": state.gen_batch_stats}
  x_rec, mean, logvar = static.model.apply(v, x, c, jnp.zeros((3, 375, 8)), train=False)
  assert x_rec.shape == (3, 3000, 1) and mean.shape == logvar.shape == (3, 375, 8)  # 8 latents per frame.
  scores, feats = static.critic.apply({"params": state.critic_params}, x, c)
  assert scores.shape == (3, 188 + 94 + 47) and len(feats) == 12  # A score per position of 3 scales.
  paper_cfg = paper.get_config()
  paper_static = train_state.make_static(paper_cfg)
  paper_state = train_state.create(paper_static, {"mean": np.zeros(200), "std": np.ones(200)}, 0)
  c200 = jnp.ones((3, 200))
  assert paper_static.critic.apply({"params": paper_state.critic_params}, x, c200).shape == (3,)
  _, mean, _ = paper_static.model.apply({"params": paper_state.gen_params, "batch_stats": paper_state.gen_batch_stats},
                                        x, c200, jnp.zeros((3, 100)), train=False)
  assert mean.shape == (3, 100)
  with pytest.raises(ValueError, match="divisible by 2\\*\\*3"):
    cfg.data.num_samples = 3001
    train_state.make_static(cfg)
  cfg.data.num_samples = 3000
  for steps in (-5, 0):  # -5 once exited 0 having done nothing.
    cfg.training.num_steps = steps
    with pytest.raises(ValueError, match=f"training.num_steps={steps}"):
      train_state.make_static(cfg)


def test_decoder_zero_mean_removes_only_the_offset():
  kw = dict(base_length=10, base_features=8, features=(8, 4), output="linear")
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  variables = models.Decoder(**kw).init(jax.random.PRNGKey(0), z, c, train=False)
  params, stats = variables["params"], variables["batch_stats"]
  v = dict(params=params, batch_stats=stats)
  plain = np.asarray(models.Decoder(**kw).apply(v, z, c, train=False))
  centred = np.asarray(models.Decoder(**kw, zero_mean=True).apply(v, z, c, train=False))
  assert np.max(np.abs(plain.mean(axis=1))) > 1e-3  # The plain decoder has an offset to remove.
  np.testing.assert_allclose(centred.mean(axis=1), 0.0, atol=1e-6)
  np.testing.assert_allclose(centred, plain - plain.mean(axis=1, keepdims=True), rtol=1e-6, atol=1e-7)


def test_decoder_peak_normalize_sets_each_peak_to_one():
  kw = dict(base_length=10, base_features=8, features=(8, 4), output="linear", zero_mean=True)
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  variables = models.Decoder(**kw).init(jax.random.PRNGKey(0), z, c, train=False)
  params, stats = variables["params"], variables["batch_stats"]
  v = dict(params=params, batch_stats=stats)
  plain = np.asarray(models.Decoder(**kw).apply(v, z, c, train=False))
  unit = np.asarray(models.Decoder(**kw, peak_normalize=True).apply(v, z, c, train=False))
  np.testing.assert_allclose(np.abs(unit).max(axis=1), 1.0, rtol=1e-5)  # PGA = the target's PSA(0.01 s).
  np.testing.assert_allclose(unit * np.abs(plain).max(axis=1, keepdims=True), plain, rtol=1e-5, atol=1e-7)


def test_decoder_film_starts_as_the_plain_decoder_and_scales_blocks_by_the_condition():
  """FiLM (``model.decoder_film``): zero-initialised, then each block's channels times 1 + gamma(c).

  With the convolutions' zero initial biases and BatchNorm in inference mode at its initial
  statistics (a positive scale), ReLU blocks are positively homogeneous, so a condition-made
  scale a_k in block k scales the output by prod a_k.
  """
  kw = dict(base_length=10, base_features=8, features=(8, 4), output="linear")
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  film = models.Decoder(**kw, film=True)
  variables = film.init(jax.random.PRNGKey(0), z, c, train=False)
  params, stats = variables["params"], variables["batch_stats"]
  v = dict(params=params, batch_stats=stats)
  film_layers = {"Dense_1": 8, "Dense_2": 4}  # One per block: 2 x channels outputs (gamma, beta).
  assert {k: params[k]["kernel"].shape for k in film_layers} == {k: (4, 2 * f) for k, f in film_layers.items()}
  plain_params = {k: p for k, p in params.items() if k not in film_layers}
  pv = dict(params=plain_params, batch_stats=stats)
  plain = np.asarray(models.Decoder(**kw).apply(pv, z, c, train=False))
  np.testing.assert_array_equal(np.asarray(film.apply(v, z, c, train=False)), plain)
  assert not any(np.any(np.asarray(params["Conv_%d" % i]["bias"])) for i in range(3))  # Bias-free at init.
  # gamma_k = (a_k - 1) * c[:, 0], beta = 0: record i's output is plain * prod_k (1 + (a_k - 1) c_i0).
  scales = {"Dense_1": 1.5, "Dense_2": 0.4}
  scaled = dict(params)
  for k, a in scales.items():
    f = film_layers[k]
    kernel = np.zeros((4, 2 * f), np.float32)
    kernel[0, :f] = a - 1.0
    scaled[k] = {"kernel": jnp.asarray(kernel), "bias": jnp.zeros(2 * f)}
  c_pos = c.at[:, 0].set(jnp.asarray([1.0, 0.5, 0.0]))  # 1 + (a - 1) c > 0 for these.
  plain_pos = np.asarray(models.Decoder(**kw).apply(pv, z, c_pos, train=False))
  factor = np.prod([1.0 + (a - 1.0) * np.asarray(c_pos[:, 0]) for a in scales.values()], axis=0)
  np.testing.assert_allclose(np.asarray(film.apply(dict(params=scaled, batch_stats=stats), z, c_pos, train=False)),
                             plain_pos * factor[:, None, None], rtol=1e-5, atol=1e-7)
  # A shift beta moves the block's channels: the output changes with the condition.
  shifted = dict(params, Dense_2={"kernel": params["Dense_2"]["kernel"], "bias": jnp.full((8,), 0.3)})
  shifted_out = np.asarray(film.apply(dict(params=shifted, batch_stats=stats), z, c, train=False))
  assert np.max(np.abs(shifted_out - plain)) > 1e-3


def test_kl_divergence_known_values():
  assert float(losses.kl_divergence(jnp.zeros((2, 4)), jnp.zeros((2, 4)))) == 0.0
  # KL(N(m, s^2) || N(0, 1)) = 0.5 (s^2 + m^2 - 1 - log s^2) per dimension.
  m, s2 = 0.7, 2.0
  got = float(losses.kl_divergence(jnp.full((1, 3), m), jnp.full((1, 3), np.log(s2))))
  assert got == pytest.approx(0.5 * (s2 + m * m - 1 - np.log(s2)), rel=1e-6)


def test_gradient_penalty_of_a_linear_critic():
  # D(x) = <w, x>: the gradient is w everywhere, so the penalty is (|w| - 1)^2.
  w = jnp.linspace(-1, 1, 50).reshape(1, 50, 1)
  critic = lambda x: jnp.sum(x * w, axis=(1, 2))
  x1, x2 = jnp.ones((4, 50, 1)), jnp.zeros((4, 50, 1))
  gp = losses.gradient_penalty(critic, x1, x2, jnp.full((4, 1, 1), 0.3))
  assert float(gp) == pytest.approx((float(jnp.linalg.norm(w)) - 1) ** 2, rel=1e-5)


def test_gradient_penalty_gradient_equals_double_backprop():
  # The penalty's parameter gradient is computed reverse-over-forward; it must equal the
  # textbook reverse-over-reverse gradient (differentiating through jax.grad).
  critic = models.Critic((4, 8), kernel=5, stride=2)
  rng = np.random.default_rng(0)
  x_real = jnp.asarray(rng.standard_normal((6, 64, 1)), jnp.float32)
  x_fake = jnp.asarray(rng.standard_normal((6, 64, 1)) * 0.5, jnp.float32)
  c = jnp.asarray(rng.standard_normal((6, 10)), jnp.float32)
  mix = jnp.asarray(rng.uniform(size=(6, 1, 1)), jnp.float32)
  params = critic.init(jax.random.PRNGKey(0), x_real, c)["params"]

  def textbook(p):
    f = lambda x: critic.apply({"params": p}, x, c)
    g = jax.grad(lambda x: jnp.sum(f(x)))(mix * x_real + (1 - mix) * x_fake)
    return jnp.mean((jnp.sqrt(jnp.sum(g**2, axis=(1, 2)) + 1e-12) - 1.0) ** 2)

  ours = lambda p: losses.gradient_penalty(lambda x: critic.apply({"params": p}, x, c), x_real, x_fake, mix)
  v_ref, g_ref = jax.value_and_grad(textbook)(params)
  v, g = jax.value_and_grad(ours)(params)
  assert float(v) == pytest.approx(float(v_ref), rel=1e-6)
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(jnp.max(jnp.abs(b))))


def test_wasserstein_and_adversarial_terms():
  assert float(losses.critic_wasserstein(jnp.array([1.0, 3.0]), jnp.array([0.0, -2.0]))) == -3.0
  assert float(losses.generator_adversarial(jnp.array([1.0, 3.0]))) == -2.0
  assert float(losses.reconstruction(jnp.ones((2, 4, 1)), jnp.zeros((2, 4, 1)))) == 1.0


def test_spectral_misfit_gradient_is_finite_and_lowers_the_misfit():
  rng = np.random.default_rng(0)
  t = np.arange(1000) * 0.01
  x = jnp.asarray((rng.standard_normal((4, 1000)) * np.exp(-((t - 4) / 2) ** 2))[..., None], jnp.float32)
  periods = tuple(np.geomspace(0.05, 2.0, 12))
  target = losses.log_spectrum(x, 0.01, periods) + 0.3  # twice as strong at every period
  f = lambda y: losses.spectral_misfit(losses.log_spectrum(y, 0.01, periods), target)
  m0, g = jax.value_and_grad(f)(x)
  assert np.all(np.isfinite(np.asarray(g)))
  m1 = f(x - 0.5 * m0 / jnp.sum(g * g) * g)
  assert float(m1) < 0.7 * float(m0)


def test_criterion_score_bounds_the_papers_test():
  rng = np.random.default_rng(0)
  periods = np.geomspace(0.01, 10.0, 50)
  shape = np.exp(-np.log(periods / 0.2) ** 2)
  level = 10.0 ** rng.uniform(-2.0, 1.0, (400, 1))  # PSA peaks from 0.01 to 10 m/s^2.
  target = jnp.asarray(level * (0.2 + shape), jnp.float32)
  generated = target * jnp.asarray(np.exp(rng.normal(0.0, rng.uniform(0.0, 0.4, (400, 1)), (400, 50))), jnp.float32)
  r2 = fit.spectral_r2(target, generated)
  rmse = fit.spectral_rmse(target, generated)
  score = losses.criterion_score(generated, target)
  np.testing.assert_allclose(score, (1.0 - r2) / 0.2 + (rmse / 0.1) ** 2, rtol=1e-4, atol=1e-6)  # 1 - R^2 in float32.
  passed = np.asarray(fit.paper_criterion(r2, rmse))
  assert 0.1 < passed.mean() < 0.9  # Both outcomes occur.
  assert np.all(passed[np.asarray(score) < 1.0])  # Score below 1: passes.
  assert np.all(np.asarray(score)[~passed] >= 1.0)  # Fails: score at least 1.
  assert float(losses.criterion_misfit(target, target)) == 0.0
  assert float(losses.criterion_misfit(generated, target)) == pytest.approx(float(jnp.mean(jnp.log1p(score))), rel=1e-6)


def test_criterion_misfit_gradient_lowers_it_for_strong_and_weak_records():
  rng = np.random.default_rng(1)
  t = np.arange(1000) * 0.01
  x = jnp.asarray((rng.standard_normal((2, 1000)) * np.exp(-((t - 4) / 2) ** 2))[..., None], jnp.float32)
  periods = tuple(np.geomspace(0.05, 2.0, 12))
  scale = jnp.asarray([[5.0], [0.01]])  # m/s^2 per model unit: a strong and a weak record.
  target = 10.0 ** (losses.log_spectrum(x, 0.01, periods) + 0.1) * scale  # 26% stronger.
  per_record = lambda y: jnp.log1p(losses.criterion_score(10.0 ** losses.log_spectrum(y, 0.01, periods) * scale, target))
  f = lambda y: jnp.mean(per_record(y))
  m0, g = jax.value_and_grad(f)(x)
  assert np.all(np.isfinite(np.asarray(g)))
  step = 0.2 * m0 / jnp.sum(g * g) * g
  assert np.all(np.asarray(per_record(x - step)) < np.asarray(per_record(x)))


def test_waveform_correlation_known_answers_and_decorrelation_gradient():
  t = np.arange(1000) * 0.01
  sin, cos = np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)  # 10 whole cycles: orthogonal.
  x = jnp.asarray(np.stack([sin, sin, sin, sin])[..., None], jnp.float32)
  y = jnp.asarray(np.stack([3 * sin + 2, -sin, cos, 0 * t])[..., None], jnp.float32)
  np.testing.assert_allclose(losses.waveform_correlation(x, y), [1.0, -1.0, 0.0, 0.0], atol=1e-5)
  assert float(losses.decorrelation(x, y)) == pytest.approx(0.5, abs=1e-5)
  # A gradient step on one record lowers its squared correlation with the other.
  rng = np.random.default_rng(0)
  a = jnp.asarray(rng.standard_normal((3, 500, 1)), jnp.float32)
  b = a + 0.5 * jnp.asarray(rng.standard_normal((3, 500, 1)), jnp.float32)
  f = lambda v: losses.decorrelation(v, b)
  m0, g = jax.value_and_grad(f)(a)
  assert float(m0) > 0.7 and np.all(np.isfinite(np.asarray(g)))
  assert float(f(a - 0.5 * m0 / jnp.sum(g * g) * g)) < 0.7 * float(m0)


def _bursts(num, starts_s, length_s, dt=0.01, n=3000, seed=0):
  """``num`` records of white noise that is nonzero only in ``[start, start + length)`` s."""
  rng = np.random.default_rng(seed)
  t = np.arange(n) * dt
  x = rng.standard_normal((num, n))
  x *= (t >= np.asarray(starts_s)[:, None]) & (t < np.asarray(starts_s)[:, None] + length_s)
  return x


def test_duration_stats_match_intensity_and_the_soft_values_approach_them():
  x = _bursts(6, np.linspace(1.0, 20.0, 6), 6.0)
  hard = np.asarray(losses.duration_stats(jnp.asarray(x[..., None], jnp.float32), 0.01))
  assert hard.shape == (6, len(losses.DURATION_STATS))
  # The reference implementation (trapezoid rule, interpolated crossings): within two samples.
  h = intensity.husid(x, 0.01)
  ref_t = {q: np.array([intensity._crossing_time(hi, q, 0.01) for hi in h]) for q in (0.05, 0.75, 0.95)}
  want = np.stack([ref_t[0.05], ref_t[0.75], ref_t[0.95], intensity.d5_75(x, 0.01), intensity.d5_95(x, 0.01),
                   intensity.pga_time(x, 0.01)], axis=-1)
  np.testing.assert_allclose(hard, want, atol=0.02)
  # Constant-power bursts of 6 s: D5-95 is 0.9 of it, starting 5% into the burst.
  np.testing.assert_allclose(hard[:, 4], 5.4, atol=0.5)
  np.testing.assert_allclose(hard[:, 0], np.linspace(1.0, 20.0, 6) + 0.3, atol=0.5)
  # Smooth values (the loss's): close to the hard ones.
  soft = np.asarray(losses.duration_stats(jnp.asarray(x[..., None], jnp.float32), 0.01, temperature=0.005, sharpness=200.0))
  np.testing.assert_allclose(soft[:, :5], hard[:, :5], atol=0.1)
  np.testing.assert_allclose(soft[:, 5], hard[:, 5], atol=0.2)


def _sine_with_envelope(level_log10, dt=0.01):
  """A 10 Hz sine (one period per 0.1 s bin, so each bin's RMS is exact) of amplitude
  ``10**level_log10 [T]`` -> ``[1, T, 1]``."""
  t = np.arange(level_log10.size) * dt
  return jnp.asarray(np.sqrt(2) * 10.0**level_log10 * np.sin(2 * np.pi * 10 * t))[None, :, None]


def test_onset_jump_known_answers_and_its_gradient_sharpens_a_ramp():
  """A tenfold step jumps 1 (log10) at its instant, a log-linear ramp of 3 s over the same rise
  jumps 1/3; the soft maximum lies within temperature * ln(boundaries) above the hard one of
  the evaluation's measure (intensity.envelope_jump); gradient steps on onset_misfit move the
  ramp's jump towards the step's."""
  n, dt = 3000, 0.01
  t = np.arange(n) * dt
  step = np.where(t >= 8.0, 0.0, -1.0)
  ramp = np.clip((t - 6.5) / 3.0, 0.0, 1.0) - 1.0
  for level, want in ((step, 1.0), (ramp, 1.0 / 3.0)):
    x = _sine_with_envelope(level)
    _, hard = intensity.envelope_jump(np.asarray(x[0, :, 0]), dt)
    assert hard == pytest.approx(want, abs=1e-3)
    soft = float(losses.onset_jump(x, dt)[0])
    boundaries = 300 - 10 - 20 + 1  # Bins 20 (2 s) to 290 (one window before the end).
    assert hard - 1e-5 <= soft <= hard + 0.05 * np.log(boundaries)
  x_step, x_ramp = _sine_with_envelope(step), _sine_with_envelope(ramp)
  before = float(losses.onset_misfit(x_ramp, x_step, dt))
  assert abs(before - 2.0 / 3.0) <= 0.05 * np.log(boundaries)  # Each soft jump within its bound.
  grad = jax.jit(jax.grad(lambda x: losses.onset_misfit(x, x_step, dt)))
  x, best = x_ramp, before
  for _ in range(20):  # Fixed steps on an L1 misfit overshoot and come back: keep the best.
    x = x - 0.2 * grad(x)
    best = min(best, float(losses.onset_misfit(x, x_step, dt)))
  assert best < 0.25 * before
  with pytest.raises(ValueError, match="too short"):
    losses.onset_jump(jnp.ones((1, 250, 1)), dt)
