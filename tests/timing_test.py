"""The timing design's pieces against known answers: phase-blind STFT and envelope losses,
the multi-scale critic's shapes, timing conditions through normalisation, scenario durations."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from cvaegan_jax import conditioning, intensity, losses, models, refine, scenarios


def _burst(rng, n=3000, dt=0.01, t0=8.0, width=3.0):
  """White noise under a Gaussian envelope centred at t0 s: ``[1, n, 1]`` float32."""
  t = dt * np.arange(n)
  env = np.exp(-0.5 * ((t - t0) / width) ** 2)
  return jnp.asarray((env * rng.standard_normal(n))[None, :, None], jnp.float32)


def test_stft_loss_ignores_a_small_shift_that_the_mse_punishes():
  rng = np.random.default_rng(0)
  x = _burst(rng)
  shifted = jnp.roll(x, 3, axis=1)  # 30 ms: inside every STFT window, only phases change.
  other = _burst(rng)  # The same envelope, independent noise.
  late = _burst(rng, t0=20.0)  # The same kind of burst 12 s later.
  # The MSE sees the shifted copy as it sees independent noise (white noise: twice the power).
  mse_shift, mse_other = float(losses.reconstruction(x, shifted)), float(losses.reconstruction(x, other))
  assert mse_shift == pytest.approx(mse_other, rel=0.2)
  assert mse_shift > 1.5 * float(jnp.mean(x**2))
  # The STFT loss: the shifted copy is near (a fifth of the independent noise's), the late burst far.
  assert float(losses.stft_loss(x, x)) == pytest.approx(0.0, abs=1e-6)
  assert float(losses.stft_loss(x, shifted)) < 0.2 * float(losses.stft_loss(x, other))
  assert float(losses.stft_loss(x, late)) > 5 * float(losses.stft_loss(x, other))


def test_stft_magnitude_of_a_sine_peaks_at_its_frequency():
  dt, f = 0.01, 12.5  # 12.5 Hz = bin 8 of a 64-sample window at 100 Hz.
  x = jnp.sin(2 * jnp.pi * f * dt * jnp.arange(3000))[None, :, None]
  mag = losses.stft_magnitude(x, 64, 16)
  assert mag.shape == (1, 1 + (3000 - 64) // 16, 33)
  assert np.all(np.argmax(np.asarray(mag[0]), axis=-1) == 8)
  # Hann window: the peak bin holds sum(w) / 2 = 64 / 4 = 16.
  np.testing.assert_allclose(np.asarray(mag[0, :, 8]), 16.0, rtol=1e-3)


def test_envelope_loss_tells_a_burst_from_stationary_noise_of_equal_power():
  rng = np.random.default_rng(1)
  burst = _burst(rng, width=1.5)
  noise = jnp.asarray(rng.standard_normal((1, 3000, 1)), jnp.float32)
  noise = noise * jnp.sqrt(jnp.mean(burst**2) / jnp.mean(noise**2))  # Equal power.
  rephased = _burst(rng, width=1.5)
  assert float(losses.envelope_loss(burst, noise)) > 1.0  # ln units: quiet stretches are orders lower.
  assert float(losses.envelope_loss(burst, rephased)) < 0.25
  # Known answer: a constant-amplitude sine against twice itself differs by ln 2 everywhere.
  s = jnp.sin(0.3 * jnp.arange(3000.0))[None, :, None]
  assert float(losses.envelope_loss(s, 2 * s)) == pytest.approx(np.log(2.0), rel=1e-3)


def test_timing_misfit_is_zero_for_the_records_own_timing_and_grows_with_the_error():
  rng = np.random.default_rng(2)
  x = _burst(rng)
  names = ("t5", "d5_75", "d5_95")
  accel = np.asarray(x[..., 0], np.float64)
  own = conditioning.timing(accel, 0.01, names)
  np.testing.assert_allclose(own[0, 0], intensity.t5(accel, 0.01)[0], rtol=1e-5)
  assert float(losses.timing_misfit(x, jnp.asarray(own), names, 0.01)) < 1e-3
  doubled = own * np.array([1.0, 2.0, 2.0], np.float32)
  want = (2 * (np.log(2 * own[0, 1:] + 1) - np.log(own[0, 1:] + 1)) ** 2).sum() / 6  # Two of three terms.
  got = float(losses.timing_misfit(x, jnp.asarray(doubled), names, 0.01))
  assert got == pytest.approx(want / 2 * 2, rel=0.1)


def test_lsgan_terms_known_values():
  assert float(losses.critic_lsgan(jnp.ones(4), jnp.zeros(4))) == 0.0
  assert float(losses.critic_lsgan(jnp.zeros(4), jnp.ones(4))) == 2.0
  assert float(losses.generator_lsgan(jnp.full((2, 3), 0.5))) == 0.25
  f = [jnp.ones((2, 5, 3)), jnp.zeros((2, 4, 2))]
  assert float(losses.feature_matching(f, [jnp.zeros((2, 5, 3)), jnp.ones((2, 4, 2))])) == 1.0


def test_multiscale_critic_shapes():
  critic = models.MultiScaleCritic(features=(4, 8, 8, 16), kernel=5, stride=2, scales=(1, 2, 4))
  x, c = jnp.zeros((3, 3000, 1)), jnp.zeros((3, 7))
  params = critic.init(jax.random.PRNGKey(0), x, c)
  scores, feats = critic.apply(params, x, c)
  # Each scale: T / s samples, then 4 stride-2 SAME convolutions: ceil(T / s / 16) positions.
  assert scores.shape == (3, 188 + 94 + 47)
  assert len(feats) == 3 * 4
  assert [f.shape[-1] for f in feats[:4]] == [4, 8, 8, 16]
  assert feats[4].shape == (3, 750, 4)  # Scale 2: 1500 samples, first stride-2 layer.


def _model_config(**kw):
  cfg = ml_collections.ConfigDict(dict(timing_conditions=("t5", "d5_75", "d5_95"),
      latent_dim=4, encoder_features=(4, 4, 8), encoder_kernel=10, encoder_stride=2, decoder_base_features=8,
      decoder_features=(8, 4, 4), decoder_kernel=3, critic_features=(4, 4), critic_kernel=5, critic_stride=2,
      decoder_output="linear", decoder_zero_mean=True, decoder_peak_normalize=False, decoder_film=True,
      time_latent=True, critic="multiscale", critic_scales=(1, 2)))
  cfg.update(kw)
  return cfg


def test_time_latent_has_a_time_axis_and_moves_the_record_locally():
  cfg = _model_config()
  gen, _ = models.build(cfg, 3000, 0.01)
  assert models.latent_shape(cfg, 3000) == (375, 4)
  x, c = jnp.zeros((2, 3000, 1)), jnp.zeros((2, 8))
  variables = gen.init(jax.random.PRNGKey(0), x, c, jnp.zeros((2, 375, 4)), train=False)
  mean, logvar = gen.apply(variables, x, c, method=models.CVAEGAN.encode)
  assert mean.shape == logvar.shape == (2, 375, 4)
  z = jax.random.normal(jax.random.PRNGKey(1), (1, 375, 4))
  out = gen.apply(variables, z, c[:1], method=models.CVAEGAN.generate)
  z2 = z.at[:, 300:].set(0.0)  # Change the latent of the last 75 frames (the last 6 s) only.
  out2 = gen.apply(variables, z2, c[:1], method=models.CVAEGAN.generate)
  # The dilated context reaches 40 frames (3.2 s) back. The mean removal and the division by the
  # RMS act on the whole record: before sample 2000 the new record is a * old + b, exactly.
  old, new = np.asarray(out[0, :, 0], np.float64), np.asarray(out2[0, :, 0], np.float64)
  design = np.stack([old[:2000], np.ones(2000)], axis=-1)
  coef = np.linalg.lstsq(design, new[:2000], rcond=None)[0]
  assert np.abs(design @ coef - new[:2000]).max() < 1e-4 * np.abs(new).max()
  assert np.abs(coef[0] * old[2400:] + coef[1] - new[2400:]).max() > 0.1 * np.abs(new).max()
  with pytest.raises(ValueError, match="encoder"):
    models.build(_model_config(encoder_features=(4, 4)), 3000, 0.01)
  with pytest.raises(ValueError, match="model.critic"):
    models.build(_model_config(critic="patch"), 3000, 0.01)
  with pytest.raises(ValueError, match="Husid template"):
    models.build(_model_config(timing_conditions=("d5_95",)), 3000, 0.01)


def test_husid_template_passes_through_the_asked_times():
  frame_s, frames = 0.08, 375  # 30 s.
  tpl = np.asarray(models.husid_template(jnp.asarray([[4.0, 6.0, 14.0]]), frames, frame_s))[0]
  t = frame_s * (np.arange(frames) + 0.5)
  h = tpl[:, 0]
  # Frame centres straddle the knots: read between them, the curve is off by a frame's slope.
  np.testing.assert_allclose(np.interp([4.0, 10.0, 18.0], t, h), [0.05, 0.75, 0.95], atol=3e-3)
  assert np.all(np.diff(h) >= 0) and h[0] > 0 and h[-1] < 1
  # Log energy density times the window: 0.70 of the energy in 6 s of 30 s -> ln(0.7 * 30 / 6).
  np.testing.assert_allclose(tpl[np.searchsorted(t, 7.0), 1], np.log(0.7 * 30 / 6), rtol=1e-5)
  np.testing.assert_allclose(tpl[0, 1], np.log(0.05 * 30 / 4), rtol=1e-5)


def test_timing_conditions_round_trip_through_normalisation():
  rng = np.random.default_rng(3)
  psa = np.exp(rng.normal(0.0, 1.0, (50, 6))).astype(np.float32)
  timing = np.stack([rng.uniform(0, 15, 50), rng.uniform(1, 10, 50), rng.uniform(5, 40, 50)], -1).astype(np.float32)
  stats = conditioning.condition_stats(psa, timing)
  assert stats["mean"].shape == (9,)
  c = conditioning.condition(psa, "log_standardized", stats, timing_s=timing)
  assert c.shape == (50, 9)
  np.testing.assert_allclose(c[:, :6].mean(0), 0.0, atol=1e-4)  # Spectra: standardised by their own statistics.
  back = np.exp(c[:, 6:]) - conditioning.TIMING_OFFSET_S  # Timing: ln(t + 1 s), what the decoder reads back.
  np.testing.assert_allclose(back, timing, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(c[:, :6], conditioning.condition(psa, "log_standardized",
                                                              {k: v[:6] for k, v in stats.items()}), rtol=1e-6)
  with pytest.raises(ValueError, match="6 periods and 0 timing measures"):
    conditioning.condition(psa, "log_standardized", stats)
  with pytest.raises(ValueError, match="unknown measure 'd5_90'"):
    conditioning.check_timing_names(("t5", "d5_90"))


def test_scenario_durations_follow_afshari_stewart_2016():
  # AS16, strike slip, Vs30 620 m/s, M5.6 at 94 km: median D5-95 = 17.7 s (see simulator_check_test).
  d = scenarios.durations(5.6, 94.0, 620.0, "SS", num=4000, seed=0)
  assert d["median"]["d5_95"] == pytest.approx(17.7, abs=0.05)
  assert d["median"]["d5_75"] < d["median"]["d5_95"]
  ln75, ln95 = np.log(d["d5_75"]), np.log(d["d5_95"])
  assert np.median(ln95) == pytest.approx(np.log(17.7), abs=0.03)
  assert np.std(ln95) == pytest.approx(d["sigma"]["d5_95"], rel=0.05)
  assert np.corrcoef(ln75, ln95)[0, 1] == pytest.approx(scenarios.RHO_D575_D595, abs=0.03)
  assert np.all(d["d5_75"] < d["d5_95"])
  with pytest.raises(ValueError, match="distance_km"):
    scenarios.durations(6.0, -5.0)
  with pytest.raises(ValueError, match="mechanism"):
    scenarios.durations(6.0, 50.0, mechanism="thrust")


def test_config_checks_name_the_field():
  from configs import base
  from cvaegan_jax import train_state
  for field, value, message in (("gan_loss", "hinge", "training.gan_loss"),
                                ("feature_matching_weight", 2.0, "feature_matching_weight")):
    cfg = base.get_config()
    cfg.model.critic = "paper" if field == "feature_matching_weight" else cfg.model.critic
    cfg.training[field] = value
    with pytest.raises(ValueError, match=message):
      train_state.make_static(cfg)
  cfg = base.get_config()
  cfg.model.timing_conditions = ("t5", "d5_90")
  with pytest.raises(ValueError, match="d5_90"):
    train_state.make_static(cfg)


def test_highpass_removes_drift_and_keeps_shaking():
  from cvaegan_jax import sampling
  t = 0.01 * np.arange(3000)
  shake = np.sin(2 * np.pi * 2.0 * t)  # 2 Hz: far above the 0.1 Hz corner.
  drift = 0.5 * np.sin(2 * np.pi * 0.01 * t)  # 0.01 Hz: a decade below it.
  out = sampling.highpass((shake + drift)[None], 0.01, 0.1)[0]
  mid = slice(1000, 2000)  # Away from the tapers' transients: the 0.5 drift is down to < 0.015.
  np.testing.assert_allclose(out[mid], shake[mid], atol=0.015)
  np.testing.assert_array_equal(sampling.highpass(shake[None], 0.01, 0.0)[0], shake)


def _piecewise_energy_record(rng, knots_s, n=3000, dt=0.01):
  """White noise whose energy in each stretch between ``knots_s`` (0, t5, t75, t95, end) is
  exactly 5%, 70%, 20%, 5% of the total: ``[n]`` float64."""
  x = rng.standard_normal(n)
  seg = np.searchsorted(np.asarray(knots_s[1:4]) / dt, np.arange(n), side="right")
  for k, share in enumerate(np.diff(models.HUSID_KNOTS)):
    m = seg == k
    x[m] *= np.sqrt(share / np.sum(x[m] ** 2))
  return x


def test_timing_gain_brings_stationary_noise_to_the_asked_husid_times():
  rng = np.random.default_rng(0)
  dt = 0.01
  x = rng.standard_normal((4, 3000))
  asked = np.array([[2.0, 5.0, 10.0], [8.0, 3.0, 6.0], [1.0, 15.0, 25.0], [10.0, 6.0, 12.0]])
  y, gain = refine.timing(x, dt, asked)
  np.testing.assert_allclose(intensity.t5(y, dt), asked[:, 0], atol=0.05)
  np.testing.assert_allclose(intensity.d5_75(y, dt), asked[:, 1], rtol=0.02)
  np.testing.assert_allclose(intensity.d5_95(y, dt), asked[:, 2], rtol=0.02)
  # The energy is kept; the gain is the ratio, and smooth: over one sample its log changes by
  # at most 2 ln(4) / 100 per pass (a 1 s moving average).
  np.testing.assert_allclose((y * y).sum(-1), (x * x).sum(-1), rtol=1e-5)
  np.testing.assert_allclose(y, x * gain)
  log_gain = np.log(gain / gain.mean(-1, keepdims=True))
  assert np.abs(np.diff(log_gain, axis=-1)).max() < 6 * 2 * np.log(4.0) / 100
  with pytest.raises(ValueError, match="timing_s"):
    refine.timing(x, dt, asked[:, :2])
  with pytest.raises(ValueError, match="energy"):
    refine.timing(np.zeros((1, 3000)), dt, asked[:1])
  with pytest.raises(ValueError, match="max_gain"):
    refine.timing(x, dt, asked, max_gain=1.0)


def test_timing_gain_leaves_a_record_that_has_its_timing():
  # Energy shares exactly 5/70/20/5% between the asked times: the Husid curve already passes
  # the knots, every pass's step is zero, the gain is 1.
  rng = np.random.default_rng(1)
  knots = (0.0, 4.0, 10.0, 18.0, 30.0)
  x = _piecewise_energy_record(rng, knots)[None]
  y, gain = refine.timing(x, 0.01, [[4.0, 6.0, 14.0]])
  np.testing.assert_allclose(gain, 1.0, atol=1e-4)
  np.testing.assert_allclose(intensity.d5_95(y, 0.01), [14.0], atol=0.011)


def test_timing_gain_keeps_the_pre_event_second_quiet():
  # The data's windows open 1 s before the P pick, on noise (10^-2.4 of the shaking): with
  # pre_event_s the first 0.9 s are held at PRE_EVENT_LEVEL, and the asked timing still holds.
  rng = np.random.default_rng(2)
  x = rng.standard_normal((3, 3000))
  asked = np.array([[3.0, 6.0, 12.0], [9.0, 4.0, 10.0], [1.5, 10.0, 20.0]])
  y, _ = refine.timing(x, 0.01, asked, pre_event_s=1.0)
  rms = lambda a: np.sqrt(np.mean(a * a, axis=-1))
  ratio = rms(y[:, :90]) / rms(y[:, 150:])
  assert np.all(ratio < 2 * refine.PRE_EVENT_LEVEL) and np.all(ratio > 0.1 * refine.PRE_EVENT_LEVEL)
  np.testing.assert_allclose(intensity.t5(y, 0.01), asked[:, 0], atol=0.05)
  np.testing.assert_allclose(intensity.d5_95(y, 0.01), asked[:, 2], rtol=0.02)
  with pytest.raises(ValueError, match="pre_event_s"):
    refine.timing(x, 0.01, asked, pre_event_s=-1.0)
