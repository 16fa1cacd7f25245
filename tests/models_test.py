"""Model shapes, the paper's parameter count, and loss functions with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvaegan_jax import losses, train
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
  static = train.make_static(cfg)
  stats = {"mean": np.zeros(200, np.float32), "std": np.ones(200, np.float32)}
  state = train.init_state(static, stats, 0)
  trainable, moving, critic = keras_paper_counts()
  assert count(state.gen_params) == trainable
  assert count(state.gen_batch_stats) == moving
  assert count(state.critic_params) == critic


def test_shapes_through_the_models():
  cfg = base.get_config()
  cfg.model.encoder_features = (8, 8, 8)
  cfg.model.decoder_base_features = 8
  cfg.model.decoder_features = (8, 8, 8)
  cfg.model.critic_features = (4, 4, 4, 4)
  static = train.make_static(cfg)
  state = train.init_state(static, {"mean": np.zeros(100), "std": np.ones(100)}, 0)
  x = jnp.ones((3, 3000, 1))
  c = jnp.ones((3, 100))
  v = {"params": state.gen_params, "batch_stats": state.gen_batch_stats}
  x_rec, mean, logvar = static.model.apply(v, x, c, jnp.zeros((3, 100)), train=False)
  assert x_rec.shape == (3, 3000, 1) and mean.shape == logvar.shape == (3, 100)
  assert static.critic.apply({"params": state.critic_params}, x, c).shape == (3,)
  with pytest.raises(ValueError, match="divisible by 2\\*\\*3"):
    cfg.data.num_samples = 3001
    train.make_static(cfg)


def test_decoder_envelope_gates_the_carrier():
  from cvaegan_jax import models
  kw = dict(base_length=10, base_features=8, features=(8, 4), norm="none", output="linear")
  plain, gated = models.Decoder(**kw), models.Decoder(**kw, envelope=True)
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  params = gated.init(jax.random.PRNGKey(0), z, c, train=False)["params"]
  carrier = plain.apply({"params": {k: v for k, v in params.items() if k != "envelope"}}, z, c, train=False)
  # A constant envelope softplus(b) scales the carrier by exactly that.
  b = 0.7
  const = dict(params, envelope={"kernel": jnp.zeros_like(params["envelope"]["kernel"]),
                                 "bias": jnp.full_like(params["envelope"]["bias"], b)})
  out = gated.apply({"params": const}, z, c, train=False)
  assert out.shape == (3, 40, 1)
  np.testing.assert_allclose(out, carrier * np.log1p(np.exp(b)), rtol=1e-6, atol=1e-7)
  # Any learned envelope is positive: the output keeps the carrier's sign wherever it is not ~0.
  out = gated.apply({"params": params}, z, c, train=False)
  big = np.abs(np.asarray(carrier)) > 1e-4
  assert np.all(np.sign(np.asarray(out))[big] == np.sign(np.asarray(carrier))[big])


def test_decoder_zero_mean_removes_only_the_offset():
  from cvaegan_jax import models
  kw = dict(base_length=10, base_features=8, features=(8, 4), norm="none", output="linear")
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  params = models.Decoder(**kw).init(jax.random.PRNGKey(0), z, c, train=False)["params"]
  plain = np.asarray(models.Decoder(**kw).apply({"params": params}, z, c, train=False))
  centred = np.asarray(models.Decoder(**kw, zero_mean=True).apply({"params": params}, z, c, train=False))
  assert np.max(np.abs(plain.mean(axis=1))) > 1e-3  # The plain decoder has an offset to remove.
  np.testing.assert_allclose(centred.mean(axis=1), 0.0, atol=1e-6)
  np.testing.assert_allclose(centred, plain - plain.mean(axis=1, keepdims=True), rtol=1e-6, atol=1e-7)



def test_decoder_peak_normalize_sets_each_peak_to_one():
  from cvaegan_jax import models
  kw = dict(base_length=10, base_features=8, features=(8, 4), norm="none", output="linear", zero_mean=True)
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  params = models.Decoder(**kw).init(jax.random.PRNGKey(0), z, c, train=False)["params"]
  plain = np.asarray(models.Decoder(**kw).apply({"params": params}, z, c, train=False))
  unit = np.asarray(models.Decoder(**kw, peak_normalize=True).apply({"params": params}, z, c, train=False))
  np.testing.assert_allclose(np.abs(unit).max(axis=1), 1.0, rtol=1e-5)  # PGA = the target's PSA(0.01 s).
  np.testing.assert_allclose(unit * np.abs(plain).max(axis=1, keepdims=True), plain, rtol=1e-5, atol=1e-7)


def test_decoder_film_starts_as_the_plain_decoder_and_scales_blocks_by_the_condition():
  """FiLM (``model.decoder_film``): zero-initialised, then each block's channels times 1 + gamma(c).

  With no normalisation and the convolutions' zero initial biases, ReLU blocks are positively
  homogeneous, so a condition-made scale a_k in block k scales the output by prod a_k.
  """
  from cvaegan_jax import models
  kw = dict(base_length=10, base_features=8, features=(8, 4), norm="none", output="linear")
  rng = np.random.default_rng(0)
  z, c = jnp.asarray(rng.standard_normal((3, 5)), jnp.float32), jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)
  film = models.Decoder(**kw, film=True)
  params = film.init(jax.random.PRNGKey(0), z, c, train=False)["params"]
  film_layers = {"Dense_1": 8, "Dense_2": 4}  # One per block: 2 x channels outputs (gamma, beta).
  assert {k: params[k]["kernel"].shape for k in film_layers} == {k: (4, 2 * f) for k, f in film_layers.items()}
  plain_params = {k: v for k, v in params.items() if k not in film_layers}
  plain = np.asarray(models.Decoder(**kw).apply({"params": plain_params}, z, c, train=False))
  np.testing.assert_array_equal(np.asarray(film.apply({"params": params}, z, c, train=False)), plain)
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
  plain_pos = np.asarray(models.Decoder(**kw).apply({"params": plain_params}, z, c_pos, train=False))
  factor = np.prod([1.0 + (a - 1.0) * np.asarray(c_pos[:, 0]) for a in scales.values()], axis=0)
  np.testing.assert_allclose(np.asarray(film.apply({"params": scaled}, z, c_pos, train=False)),
                             plain_pos * factor[:, None, None], rtol=1e-5, atol=1e-7)
  # A shift beta moves the block's channels: the output changes with the condition.
  shifted = dict(params, Dense_2={"kernel": params["Dense_2"]["kernel"], "bias": jnp.full((8,), 0.3)})
  assert np.max(np.abs(np.asarray(film.apply({"params": shifted}, z, c, train=False)) - plain)) > 1e-3


def test_segment_means_known_answer():
  from cvaegan_jax import models
  x = jnp.arange(2 * 10 * 3, dtype=jnp.float32).reshape(2, 10, 3)
  got = np.asarray(models.segment_means(x, 3))  # Segments of 3, 4 and 3 samples.
  want = np.stack([np.stack([s.mean(axis=0) for s in np.split(np.asarray(xb), [3, 7])]) for xb in x])
  np.testing.assert_allclose(got, want, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(models.segment_means(x, 1))[:, 0], np.asarray(x).mean(axis=1), rtol=1e-6)
  with pytest.raises(ValueError, match="time_bins must be in \\[1, 10\\]"):
    models.segment_means(x, 11)


def test_encoder_time_bins_see_when_the_energy_arrives():
  """The same burst early or late: the global pool (paper) gives one latent, time bins two."""
  from cvaegan_jax import models
  t = np.arange(400)
  burst = np.sin(2 * np.pi * t / 16) * np.exp(-0.5 * ((t - 100) / 15.0) ** 2)
  x = jnp.asarray(np.stack([burst, np.roll(burst, 200)])[..., None], jnp.float32)
  c = jnp.zeros((2, 3), jnp.float32)
  for bins, same in ((0, True), (5, False)):
    enc = models.Encoder(features=(8, 8), kernel=5, stride=2, latent_dim=4, norm="none", time_bins=bins)
    params = enc.init(jax.random.PRNGKey(0), x, c, train=False)
    mean, _ = enc.apply(params, x, c, train=False)
    gap = float(jnp.max(jnp.abs(mean[0] - mean[1])))
    assert (gap < 1e-5) if same else (gap > 1e-3), (bins, gap)
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


def test_only_a_critic_with_a_hidden_head_tells_one_burst_from_two_or_none():
  # Set A: a burst early or a burst late. Set B: both bursts or none. At every time the two
  # sets' windows are alike (a burst half of the time), so the paper's readout (a sum over
  # positions of window features; the bursts are farther apart than the receptive field)
  # scores them alike for any parameters: D(both) + D(none) = D(early) + D(late). A hidden
  # layer can learn the difference.
  import optax
  from cvaegan_jax import models
  rng = np.random.default_rng(0)
  t = 256
  early, late = np.zeros((t, 1), np.float32), np.zeros((t, 1), np.float32)
  early[32:64, 0], late[176:208, 0] = rng.standard_normal(32), rng.standard_normal(32)
  set_a, set_b = jnp.stack([early, late]), jnp.stack([early + late, 0 * early])
  c = jnp.zeros((2, 5))

  def gap_after_training(hidden):
    critic = models.Critic((4, 8, 8, 8), kernel=5, stride=2, hidden=hidden)
    params = critic.init(jax.random.PRNGKey(1), set_a, c)["params"]
    gap = lambda p: jnp.mean(critic.apply({"params": p}, set_a, c)) - jnp.mean(critic.apply({"params": p}, set_b, c))
    tx = optax.adam(1e-2)

    @jax.jit
    def step(params, opt):
      updates, opt = tx.update(jax.grad(lambda p: -gap(p))(params), opt, params)
      return optax.apply_updates(params, updates), opt

    opt = tx.init(params)
    for _ in range(100):
      params, opt = step(params, opt)
    scale = float(jnp.max(jnp.abs(critic.apply({"params": params}, jnp.concatenate([set_a, set_b]), jnp.zeros((4, 5))))))
    return float(gap(params)), scale

  gap, scale = gap_after_training(0)
  assert abs(gap) < 1e-5 * max(scale, 1.0), (gap, scale)
  gap, scale = gap_after_training(16)
  assert gap > 1.0, gap


def test_gradient_penalty_gradient_equals_double_backprop():
  # The penalty's parameter gradient is computed reverse-over-forward; it must equal the
  # textbook reverse-over-reverse gradient (differentiating through jax.grad).
  from cvaegan_jax import models
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


def test_husid_misfit_known_values():
  t = 100
  early = jnp.zeros((1, t, 1)).at[0, 0, 0].set(2.0)  # All energy at the first sample: H = 1.
  late = jnp.zeros((1, t, 1)).at[0, -1, 0].set(0.5)  # All at the last: H = 0 until the end.
  assert float(losses.husid_misfit(early, late)) == pytest.approx((t - 1) / t, rel=1e-6)
  # Scale-free: a record and 3x itself arrive at the same times.
  x = jnp.asarray(np.random.default_rng(0).standard_normal((3, t, 1)), jnp.float32)
  assert float(losses.husid_misfit(x, 3.0 * x)) == pytest.approx(0.0, abs=1e-12)
  # Uniform energy vs all in the first half: H = s/T vs min(2s/T, 1); mean squared gap.
  uniform = jnp.ones((1, t, 1))
  half = jnp.concatenate([jnp.ones((1, t // 2, 1)), jnp.zeros((1, t // 2, 1))], axis=1)
  s = np.arange(1, t + 1)
  expected = np.mean((s / t - np.minimum(2 * s / t, 1.0)) ** 2)
  assert float(losses.husid_misfit(uniform, half)) == pytest.approx(expected, rel=1e-5)
  # Agrees with ground_motion.husid (trapezoid rule) away from the first samples.
  from cvaegan_jax import ground_motion
  long = jnp.asarray(np.random.default_rng(1).standard_normal((3, 3000, 1)), jnp.float32)
  h_ref = ground_motion.husid(np.asarray(long[..., 0], np.float64), 0.01)
  np.testing.assert_allclose(losses.husid(long), h_ref, atol=5e-3)
  g = jax.grad(lambda y: losses.husid_misfit(y, x))(jnp.zeros_like(x))
  assert bool(jnp.all(jnp.isfinite(g)))


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
  from cvaegan_jax import ground_motion
  rng = np.random.default_rng(0)
  periods = np.geomspace(0.01, 10.0, 50)
  shape = np.exp(-np.log(periods / 0.2) ** 2)
  level = 10.0 ** rng.uniform(-2.0, 1.0, (400, 1))  # PSA peaks from 0.01 to 10 m/s^2.
  target = jnp.asarray(level * (0.2 + shape), jnp.float32)
  generated = target * jnp.asarray(np.exp(rng.normal(0.0, rng.uniform(0.0, 0.4, (400, 1)), (400, 50))), jnp.float32)
  r2 = ground_motion.spectral_r2(target, generated)
  rmse = ground_motion.spectral_rmse(target, generated)
  score = losses.criterion_score(generated, target)
  np.testing.assert_allclose(score, (1.0 - r2) / 0.2 + (rmse / 0.1) ** 2, rtol=1e-4, atol=1e-6)  # 1 - R^2 in float32.
  passed = np.asarray(ground_motion.paper_criterion(r2, rmse))
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


def test_criterion_transforms_known_answers_and_weighting_of_strong_records():
  periods = np.geomspace(0.01, 10.0, 50)
  shape = jnp.asarray(0.2 + np.exp(-np.log(periods / 0.2) ** 2), jnp.float32)
  # The same 5% relative error on a strong (peak 6 m/s^2) and a weak (0.06 m/s^2) record.
  target = jnp.stack([5.0 * shape, 0.05 * shape])
  generated = target * jnp.asarray(1.0 + 0.05 * np.sin(np.arange(50)), jnp.float32)
  score = np.asarray(losses.criterion_score(generated, target), np.float64)
  want = {"log1p": np.log1p(score), "sqrt": np.sqrt(1.0 + score) - 1.0, "linear": score}
  for name in losses.CRITERION_TRANSFORMS:
    got = float(losses.criterion_misfit(generated, target, transform=name))
    assert got == pytest.approx(want[name].mean(), rel=1e-5), name
    assert float(losses.criterion_misfit(target, target, transform=name)) == 0.0, name
  # How hard the strong record pulls against the weak one, in relative terms (the gradient
  # with respect to a common relative change of each record's spectrum): more from log1p to
  # sqrt to linear, where it is the ratio of the scores' own derivatives.
  def pull(name):
    f = lambda u: losses.criterion_misfit(generated * (1.0 + u[:, None]), target, transform=name)
    g = np.asarray(jax.grad(f)(jnp.zeros(2)))
    return g[0] / g[1]
  ratios = [pull(name) for name in losses.CRITERION_TRANSFORMS]
  assert 1.0 < ratios[0] < ratios[1] < ratios[2]
  with pytest.raises(ValueError, match="criterion transform"):
    losses.criterion_misfit(generated, target, transform="square")


def test_envelope_misfit_known_answers():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((8, 1000, 1)), jnp.float32)
  np.testing.assert_allclose(losses.batch_envelope(x, 10), np.mean(np.asarray(x)[..., 0].reshape(8, 100, 10) ** 2, axis=(0, 2)),
                             rtol=1e-5)
  assert losses.batch_envelope(x[:, :995], 10).shape == (99,)  # The partial frame is dropped.
  assert float(losses.envelope_misfit(x, x)) == 0.0
  # Twice the amplitude: four times the power in every frame -> (ln 4)^2 without a floor.
  assert float(losses.envelope_misfit(2 * x, x, floor=0.0)) == pytest.approx(np.log(4.0) ** 2, rel=1e-5)
  # Real windows are quiet before the P onset: a generated batch that is not pays, frame by
  # frame, the squared log-ratio of its power to the floor.
  quiet = np.asarray(x).copy()
  quiet[:, :100] = 0.0
  e = np.mean(np.asarray(x)[:, :100, 0].reshape(8, 10, 10) ** 2, axis=(0, 2))
  want = np.sum((np.log(e + 1e-4) - np.log(1e-4)) ** 2) / 100
  assert float(losses.envelope_misfit(x, jnp.asarray(quiet))) == pytest.approx(want, rel=1e-4)
  # A spike at one instant in every record raises its frame, and the gradient acts on it.
  fixed = np.asarray(x).copy()
  fixed[:, 505, 0] = 10.0
  m_fixed, g = jax.value_and_grad(lambda v: losses.envelope_misfit(v, x))(jnp.asarray(fixed))
  assert float(m_fixed) == pytest.approx(np.log((10 * np.mean(np.asarray(x)[:, 500:510] ** 2) - np.mean(np.asarray(x)[:, 505] ** 2)
                                                 + 100 + 1e-3) / (10 * np.mean(np.asarray(x)[:, 500:510] ** 2) + 1e-3)) ** 2 / 100,
                                         rel=1e-3)
  assert np.all(np.isfinite(np.asarray(g))) and float(jnp.abs(g[:, 505]).min()) > 0


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


def test_duration_stats_match_ground_motion_and_the_soft_values_approach_them():
  from cvaegan_jax import ground_motion
  x = _bursts(6, np.linspace(1.0, 20.0, 6), 6.0)
  hard = np.asarray(losses.duration_stats(jnp.asarray(x[..., None], jnp.float32), 0.01))
  assert hard.shape == (6, len(losses.DURATION_STATS))
  # The reference implementation (trapezoid rule, interpolated crossings): within two samples.
  h = ground_motion.husid(x, 0.01)
  ref_t = {q: np.array([ground_motion._crossing_time(hi, q, 0.01) for hi in h]) for q in (0.05, 0.75, 0.95)}
  want = np.stack([ref_t[0.05], ref_t[0.75], ref_t[0.95], ground_motion.d5_75(x, 0.01), ground_motion.d5_95(x, 0.01),
                   ground_motion.pga_time(x, 0.01)], axis=-1)
  np.testing.assert_allclose(hard, want, atol=0.02)
  # Constant-power bursts of 6 s: D5-95 is 0.9 of it, starting 5% into the burst.
  np.testing.assert_allclose(hard[:, 4], 5.4, atol=0.5)
  np.testing.assert_allclose(hard[:, 0], np.linspace(1.0, 20.0, 6) + 0.3, atol=0.5)
  # Smooth values (the loss's): close to the hard ones.
  soft = np.asarray(losses.duration_stats(jnp.asarray(x[..., None], jnp.float32), 0.01, temperature=0.005, sharpness=200.0))
  np.testing.assert_allclose(soft[:, :5], hard[:, :5], atol=0.1)
  np.testing.assert_allclose(soft[:, 5], hard[:, 5], atol=0.2)


def test_duration_misfit_is_a_distance_between_the_batches_and_its_gradient_shortens_records():
  short = jnp.asarray(_bursts(8, np.linspace(2.0, 20.0, 8), 5.0, seed=1)[..., None], jnp.float32)
  # The same records in another order: the same distribution, misfit 0.
  assert float(losses.duration_misfit(short[::-1], short, 0.01)) == pytest.approx(0.0, abs=1e-9)
  # Known answer: every record shifted by 3 s moves t5, t75, t95 and the peak time by 3 s
  # (4 of 6 statistics) and leaves the durations alone: (3 / 30)^2 * 4 / 6.
  shifted = jnp.roll(short, 300, axis=1)
  assert float(losses.duration_misfit(shifted, short, 0.01)) == pytest.approx(0.01 * 4 / 6, rel=0.02)
  # Stationary noise over the whole window (the generator's failure) is far from bursts; a
  # gradient step on the records' log amplitude envelope lowers the misfit and their D5-95.
  rng = np.random.default_rng(2)
  noise = jnp.asarray(rng.standard_normal((8, 3000, 1)), jnp.float32)
  frames = jnp.zeros((8, 30, 1))  # Log amplitude per 1 s frame.
  records = lambda f: noise * jnp.exp(jnp.repeat(f, 100, axis=1))
  f = lambda fr: losses.duration_misfit(records(fr), short, 0.01)
  m0, g = jax.value_and_grad(f)(frames)
  assert np.all(np.isfinite(np.asarray(g))) and float(m0) > 0.05
  stepped = frames - 0.5 * m0 / jnp.sum(g * g) * g
  assert float(f(stepped)) < 0.8 * float(m0)
  d595 = lambda fr: np.median(np.asarray(losses.duration_stats(records(fr), 0.01))[:, 4])
  assert d595(stepped) < d595(frames)
