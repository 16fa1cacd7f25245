"""Generation from a trained workdir: refinement, baseline, exports, compliance, errors; evaluation."""

import json
import shutil

import numpy as np
import pytest

from cvaegan_jax import (checkpoints, evaluate, exports, fit, intensity, models, refine, sampling, specs, spectra,
                         suites, targets, train, train_state)
from tests.train_test import tiny_config

EC8 = "ec8:type=1,ground=B,ag=0.3g"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  from data_prep import build
  data = tmp_path_factory.mktemp("data")
  cfg = tiny_config(data)
  cfg.training.num_steps = 10
  cfg.training.eval_every = cfg.training.figure_every = cfg.training.checkpoint_every = 10
  build.build_from_config(cfg.data)
  wd = tmp_path_factory.mktemp("run")
  train.train_and_evaluate(cfg, str(wd))
  return wd


@pytest.fixture(scope="module")
def gen(workdir):
  return sampling.Generator.from_workdir(str(workdir))


def test_loads_the_ema_weights_of_the_latest_checkpoint(gen, workdir):
  assert gen.step == 10 and gen.periods_s.size == 100 and gen.dt == 0.01 and gen.num_samples == 3000
  cfg = checkpoints.load_config(str(workdir))
  manager = checkpoints.make_manager(str(workdir), keep=1, async_save=False)
  like = train_state.create(train_state.make_static(cfg), {"mean": np.zeros(103), "std": np.ones(103)}, 0)
  state = checkpoints.restore_latest(manager, like)
  np.testing.assert_array_equal(gen.variables["params"]["decoder"]["frames"]["kernel"],
                                state.ema_params["decoder"]["frames"]["kernel"])
  assert not np.array_equal(state.ema_params["decoder"]["frames"]["kernel"],
                            state.gen_params["decoder"]["frames"]["kernel"])  # EMA, not the last weights.


def test_raw_records_units_spectra_baseline_and_seeds(gen):
  a = gen.generate(EC8, num=4, seed=3, refine="none")
  b = gen.generate(EC8, num=4, seed=3, refine="none")
  c = gen.generate(EC8, num=4, seed=4, refine="none")
  assert a.accel_ms2.shape == (4, 3000) and a.accel_ms2.dtype == np.float32
  np.testing.assert_array_equal(a.accel_ms2, b.accel_ms2)
  assert not np.allclose(a.accel_ms2, c.accel_ms2)
  # Spectra and misfits describe the returned records exactly.
  np.testing.assert_allclose(a.psa_ms2, spectra.response_spectrum(a.accel_ms2, 0.01, gen.periods_s), rtol=1e-6)
  target = specs.parse(EC8).at(gen.periods_s)
  np.testing.assert_allclose(a.target_ms2[0], target.sa_ms2, rtol=1e-6)
  np.testing.assert_allclose(a.misfit, a.psa_ms2 / a.target_ms2 - 1, rtol=1e-5, atol=1e-6)
  # Baseline-corrected: final velocity and displacement are zero.
  vel, disp = intensity.velocity_displacement(a.accel_ms2.astype(np.float64), a.dt)
  assert np.all(np.abs(vel[:, -1]) < 1e-4 * np.abs(vel).max(axis=1))
  assert np.all(np.abs(disp[:, -1]) < 1e-4 * np.abs(disp).max(axis=1))


def test_waveform_refinement_matches_the_target(gen):
  raw = gen.generate(EC8, num=6, seed=0, refine="none")
  ref = gen.generate(EC8, num=6, seed=0, refine="waveform", max_waveform_steps=60)
  raw_m, ref_m = np.abs(raw.band_misfit), np.abs(ref.band_misfit)
  # A barely trained model starts far off; the trained quickstart model reaches ~0.2% mean
  # and ~3% max (benchmarks/generate.py).
  assert ref_m.mean() < 0.05 and ref_m.mean() < 0.2 * raw_m.mean()
  assert ref_m.max() < 0.5 * raw_m.max()
  # Refinement keeps the records baseline-corrected.
  vel, disp = intensity.velocity_displacement(ref.accel_ms2.astype(np.float64), ref.dt)
  assert np.all(np.abs(disp[:, -1]) < 1e-4 * np.abs(disp).max(axis=1))


def test_waveform_refinement_converges_on_a_jagged_record_target(gen):
  # Issue 26's stalled case: before the frequency-domain passes and the multi-peak steps
  # the quickstart model's suite stuck at a worst misfit of 18% whatever the step limit; it
  # now reaches 4.8% in 40 steps (SIMQKE seeds reach 5% in tests/refine_test.py). This
  # barely trained model's records start further off.
  s = gen.generate("record:tests/data/knet/usb000syza/CHB0031412312349.NS", num=11, refine="waveform",
                   max_waveform_steps=40)
  m = np.abs(s.band_misfit)
  assert m.max() <= 0.1 and m.mean() <= 0.01
  assert s.summary()["missed_tol"] == int(np.sum(m.max(axis=1) > 0.02))


def test_latent_refinement_lowers_the_misfit(gen):
  raw = gen.generate(EC8, num=4, seed=1, refine="none", baseline=False)
  lat = gen.generate(EC8, num=4, seed=1, refine="latent", max_latent_steps=20, baseline=False)
  assert lat.steps[0] > 0
  log_err = lambda g: np.mean(np.log10(g.psa_ms2 / g.target_ms2) ** 2)
  assert log_err(lat) < log_err(raw)


def test_both_is_the_waveform_matching_of_the_latent_searched_records(gen):
  # One latent a record: with baseline=False the best of several would be ranked without the
  # baseline correction, and so could differ from refine="both"'s choice.
  searched = gen.generate(EC8, num=3, seed=1, refine="latent", baseline=False, candidates=1)
  both = gen.generate(EC8, num=3, seed=1, refine="both", candidates=1)
  assert both.steps[0] == searched.steps[0] > 0
  matched = refine.match(searched.accel_ms2, gen.dt, gen.periods_s, searched.target_ms2, damping=gen.damping)
  expected = intensity.baseline_correct(np.asarray(matched.accel_ms2, np.float64), gen.dt)
  np.testing.assert_allclose(both.accel_ms2, expected, atol=1e-6 * np.abs(expected).max())


def test_latent_search_scores_the_calibrated_record_and_keeps_each_latents_norm(gen):
  import jax.numpy as jnp
  psa = np.broadcast_to(gen.conditions["psa"][4], (3, gen.periods_s.size)).astype(np.float32)
  _, c, scale, z = gen._prior_inputs(psa, 5, None, 1.0)
  gain = gen.calibration()
  x = gen._calibrate(sampling._decode(gen.model, gen.variables, z, c) * scale[:, None])
  own = np.asarray(spectra.response_spectrum(x, gen.dt, gen.periods_s, gen.damping))
  mask = spectra.band_mask(gen.periods_s, (0.05, 4.0))
  args = dict(dt=gen.dt, periods=gen.periods, damping=gen.damping, log10_gain=gain)
  # A target equal to each latent's own calibrated record: nothing to search, z back as it came.
  z_own, steps = refine.latent(gen.model, gen.variables, z, c, scale, np.log10(own), np.ones(own.shape[1]), mask,
                               max_steps=5, tol=1e-3, **args)
  assert steps == 0
  np.testing.assert_array_equal(np.asarray(z_own), np.asarray(z))
  # Another target: the latents move, each keeps its mean square (the prior's shell), and the
  # calibrated records they decode to fit better.
  target = np.log10(own) + np.where(gen.periods_s > 0.3, 0.1, -0.05)
  z_new, steps = refine.latent(gen.model, gen.variables, z, c, scale, target, np.ones(own.shape[1]), mask,
                               max_steps=10, tol=1e-3, **args)
  assert steps == 10 and not np.allclose(np.asarray(z_new), np.asarray(z))
  np.testing.assert_allclose(np.mean(np.asarray(z_new) ** 2, axis=(1, 2)), np.mean(np.asarray(z) ** 2, axis=(1, 2)),
                             rtol=1e-5)
  x_new = gen._calibrate(sampling._decode(gen.model, gen.variables, jnp.asarray(z_new), c) * scale[:, None])
  got = np.log10(np.asarray(spectra.response_spectrum(x_new, gen.dt, gen.periods_s, gen.damping)))
  assert np.mean((got - target) ** 2) < 0.5 * np.mean((np.log10(own) - target) ** 2)


def _doubled(x):
  return 2.0 * x


def test_latent_search_scores_the_record_after_its_post_step(gen):
  # A target equal to the PSA of twice each decoded record: with post = doubling the search has
  # nothing to do (z back in 0 steps); without it every record is a factor 2 off and moves.
  psa = np.broadcast_to(gen.conditions["psa"][7], (2, gen.periods_s.size)).astype(np.float32)
  _, c, scale, z = gen._prior_inputs(psa, 3, None, 1.0)
  x = sampling._decode(gen.model, gen.variables, z, c) * scale[:, None]
  target = np.log10(np.asarray(spectra.response_spectrum(2.0 * np.asarray(x), gen.dt, gen.periods_s, gen.damping)))
  mask = spectra.band_mask(gen.periods_s, (0.05, 4.0))
  args = dict(dt=gen.dt, periods=gen.periods, damping=gen.damping, max_steps=3, tol=1e-3)
  z_post, steps = refine.latent(gen.model, gen.variables, z, c, scale, target, np.ones(gen.periods_s.size), mask,
                                post=_doubled, **args)
  assert steps == 0
  np.testing.assert_array_equal(np.asarray(z_post), np.asarray(z))
  _, steps = refine.latent(gen.model, gen.variables, z, c, scale, target, np.ones(gen.periods_s.size), mask, **args)
  assert steps == 3


def test_latent_loss_is_the_log_misfit_plus_a_share_of_one_minus_r2():
  rng = np.random.default_rng(0)
  target = np.exp(rng.normal(size=(3, 20))).astype(np.float32)
  got = target * np.exp(0.2 * rng.normal(size=target.shape)).astype(np.float32)
  w = np.where(np.arange(20) < 15, 1.0, 0.1)
  loss = np.asarray(refine._latent_loss(np.log10(got), np.log10(target), w))
  # Reference: the weighted mean of squared log10 ratios, and fit's R^2 of the linear spectra.
  log_mse = np.sum(w * np.log10(got / target) ** 2, axis=1) / w.sum()
  expected = log_mse + refine.LATENT_R2_WEIGHT * (1.0 - np.asarray(fit.spectral_r2(target, got)))
  np.testing.assert_allclose(loss, expected, rtol=1e-4)
  np.testing.assert_allclose(refine._latent_loss(np.log10(target), np.log10(target), w), 0.0, atol=1e-6)


def test_the_latent_search_scores_the_record_sample_returns(gen, monkeypatch):
  # With timing conditions the decoded record goes through the calibration and the timing step;
  # the search's loss sees that record: decoded from the latents it returns and put through
  # its post step, it is what sample() returns (no high-pass, no baseline).
  seen, search = {}, refine.latent

  def spy(*args, **kwargs):
    out = search(*args, **kwargs)
    seen.update(args=args, kwargs=kwargs, z=out[0])
    return out

  monkeypatch.setattr(sampling.refine_lib, "latent", spy)
  psa = gen.conditions["psa"][:3].astype(np.float32)
  g = gen.sample(psa, seed=4, refine="latent", candidates=1, baseline=False, highpass_hz=0.0, max_latent_steps=2)
  post, post_args = seen["kwargs"]["post"], seen["kwargs"]["post_args"]
  assert gen.timing_names and post == gen._timing_step(4.0, sampling.PRE_EVENT_S)
  c, scale = seen["args"][3], seen["args"][4]
  x = gen._calibrate(sampling._decode(gen.model, gen.variables, seen["z"], c)) * scale[:, None]
  scored = np.asarray(post(x, *post_args))
  np.testing.assert_allclose(scored, g.accel_ms2, atol=1e-4 * np.abs(g.accel_ms2).max())


def test_scale_refinement_is_the_least_squares_amplitude_factor(gen):
  raw = gen.generate(EC8, num=4, seed=2, refine="none")
  sc = gen.generate(EC8, num=4, seed=2, refine="scale")
  k = sc.scale_factors
  assert k.shape == (4,) and raw.scale_factors is None
  # Only the amplitude changes, and the spectra stay exact (the oscillators are linear).
  np.testing.assert_allclose(sc.accel_ms2, raw.accel_ms2 * k[:, None], rtol=1e-6)
  np.testing.assert_allclose(sc.psa_ms2, spectra.response_spectrum(sc.accel_ms2, 0.01, gen.periods_s), rtol=1e-5)
  # k solves the weighted least-squares problem (reference: numpy's lstsq on sqrt(w) rows).
  w = np.where(spectra.band_mask(gen.periods_s, sc.band_s), 1.0, refine.OUTSIDE_WEIGHT)
  for i in range(4):
    a = (np.sqrt(w) * raw.psa_ms2[i])[:, None].astype(np.float64)
    ref = np.linalg.lstsq(a, np.sqrt(w) * raw.target_ms2[i], rcond=None)[0][0]
    np.testing.assert_allclose(k[i], ref, rtol=1e-5)
  # A known answer: spectra twice the target come back halved; one row target broadcasts.
  t = np.geomspace(1.0, 3.0, 5)
  np.testing.assert_allclose(refine.least_squares_scale(np.stack([2 * t, 0.25 * t]), t), [0.5, 4.0], rtol=1e-6)
  for bad_psa, bad_t, bad_w, name in ((np.zeros((1, 5)), t, None, "psa_ms2"), (t[None], t[:3], None, "target_ms2"),
                                      (t[None], t, np.zeros(5), "weights"), (t[None], t, -np.ones(5), "weights")):
    with pytest.raises(ValueError, match=name):
      refine.least_squares_scale(bad_psa, bad_t, bad_w)
  # The fit is better than the raw records' in the weighted sense it minimises.
  sse = lambda g: np.sum(w * (g.psa_ms2 - g.target_ms2) ** 2, axis=1)
  assert np.all(sse(sc) <= sse(raw) * (1 + 1e-5))


def test_temperature_scales_the_latent(gen):
  import jax
  default = gen.generate(EC8, num=3, seed=5, refine="none", candidates=1)
  one = gen.generate(EC8, num=3, seed=5, refine="none", temperature=1.0, candidates=1)
  np.testing.assert_array_equal(default.accel_ms2, one.accel_ms2)
  # By hand: decode 0.5 z with the same z, bring to m/s^2, calibrate, high-pass, baseline-correct.
  half = gen.generate(EC8, num=3, seed=5, refine="none", temperature=0.5, timing_gain=1.0,
                      candidates=1)  # Decoder only.
  c, scale = gen.condition(half.target_ms2, half.timing_s)
  z = 0.5 * jax.random.normal(jax.random.PRNGKey(5), (3,) + models.latent_shape(gen.config.model, gen.num_samples))
  decoded = np.asarray(sampling._decode(gen.model, gen.variables, z, c)) * scale[:, None]
  x = sampling.highpass(np.asarray(gen._calibrate(decoded), np.float64), gen.dt, 0.1)
  np.testing.assert_allclose(half.accel_ms2, intensity.baseline_correct(x, gen.dt), rtol=1e-4,
                             atol=1e-5 * np.abs(x).max())
  assert half.temperature == 0.5 and half.summary()["temperature"] == 0.5
  # Temperature 0: the prior's mean, the same record for every seed and row (under the same timing).
  timing = {"t5": 3.0, "d5_75": 5.0, "d5_95": 12.0}
  zero = [gen.generate(EC8, num=2, seed=s, refine="none", temperature=0.0, timing=timing).accel_ms2 for s in (0, 1)]
  np.testing.assert_array_equal(zero[0][0], zero[0][1])
  np.testing.assert_array_equal(zero[0], zero[1])
  for bad in (-0.1, float("nan")):
    with pytest.raises(ValueError, match="temperature"):
      gen.generate(EC8, num=2, refine="none", temperature=bad)


def test_candidate_misfit_known_answers():
  target = np.array([[1.0, 2.0, 4.0, 8.0]])
  w = np.array([1.0, 1.0, 1.0, 0.0])
  assert sampling.candidate_misfit(target, target, w)[0] == 0.0
  np.testing.assert_allclose(sampling.candidate_misfit(target * 10 ** 0.1, target, w), [0.1])
  # Only weighted periods count: off by 10x at the last (weight 0), exact elsewhere.
  assert sampling.candidate_misfit(target * np.array([1, 1, 1, 10.0]), target, w)[0] == 0.0
  # Weighted RMS: log10 errors (0.3, 0, 0) with weights (1, 1, 1) give sqrt(0.09 / 3).
  np.testing.assert_allclose(sampling.candidate_misfit(target * np.array([10 ** 0.3, 1, 1, 1]), target, w),
                             [np.sqrt(0.09 / 3)])


def test_candidates_keep_the_best_fitting_of_several_latents(gen):
  import jax
  kw = dict(seed=5, refine="none", timing_gain=1.0)  # Decoder, calibration, high-pass, baseline.
  one = gen.generate(EC8, num=4, candidates=1, **kw)
  np.testing.assert_array_equal(one.accel_ms2, gen.sample(one.target_ms2, timing_s=one.timing_s, **kw).accel_ms2)
  best = gen.generate(EC8, num=4, candidates=3, **kw)
  assert best.candidates == 3 and best.summary()["candidates"] == 3
  assert gen.generate(EC8, num=4, **kw).candidates == sampling.CANDIDATES  # generate's default.
  # By hand: latents PRNGKey(5) and fold_in(PRNGKey(5), j), each decoded record scored on its
  # spectrum over the band (weight 1) and outside it (OUTSIDE_WEIGHT); the best one is kept.
  c, scale = gen.condition(one.target_ms2, one.timing_s)
  shape = (4,) + models.latent_shape(gen.config.model, gen.num_samples)
  key = jax.random.PRNGKey(5)
  zs = [jax.random.normal(key, shape)] + [jax.random.normal(jax.random.fold_in(key, j), shape) for j in (1, 2)]
  records = []
  for z in zs:
    decoded = np.asarray(sampling._decode(gen.model, gen.variables, z, c)) * scale[:, None]
    x = sampling.highpass(np.asarray(gen._calibrate(decoded), np.float64), gen.dt, 0.1)
    records.append(intensity.baseline_correct(x, gen.dt))
  records = np.stack(records)  # [3, 4, T]
  np.testing.assert_allclose(records[0], one.accel_ms2, rtol=1e-4, atol=1e-5 * np.abs(records[0]).max())
  weights = np.where(spectra.band_mask(gen.periods_s, (0.05, 4.0)), 1.0, refine.OUTSIDE_WEIGHT)
  err = np.stack([sampling.candidate_misfit(spectra.response_spectrum(r.astype(np.float32), gen.dt, gen.periods_s),
                                            one.target_ms2, weights) for r in records])
  pick = err.argmin(axis=0)
  np.testing.assert_allclose(best.accel_ms2, records[pick, np.arange(4)], rtol=1e-4,
                             atol=1e-5 * np.abs(records).max())
  assert np.all(sampling.candidate_misfit(best.psa_ms2, best.target_ms2, weights) <= err[0] + 1e-6)
  assert len(set(pick.tolist())) > 1 or pick[0] != 0  # Selection happened (fixed seed).
  # The same asked timing for every candidate; refinement starts from the kept record.
  refined = gen.generate(EC8, num=4, seed=5, candidates=3, timing_gain=1.0)
  assert refined.candidates == 3 and refined.summary()["max_abs_misfit"] < 0.1
  for bad in (0, 1.5, "two", True):
    with pytest.raises(ValueError, match="candidates"):
      gen.generate(EC8, num=2, refine="none", candidates=bad)


def test_timing_gain_takes_the_asked_timing_and_keeps_the_decoders_spectrum(gen, monkeypatch):
  # Other training records' timing, so that the gain has work to do.
  psa = gen.conditions["psa"][:40:4]
  asked = gen.conditions["timing"][:40:4][::-1].copy()
  kw = dict(seed=3, refine="none", highpass_hz=0.0, baseline=False, timing_s=asked)
  decoder = gen.sample(psa, timing_gain=1.0, **kw)
  band = spectra.band_mask(gen.periods_s, (0.05, 4.0))

  def change(g):  # |log10 PSA / the decoder's PSA| over the band, [N, P_band].
    return np.abs(np.log10(g.psa_ms2 / decoder.psa_ms2))[:, band]

  def timing_error(g):  # |t5 - asked| (s) and |ln D5-95 / asked|, [N, 2].
    got = np.stack([intensity.t5(g.accel_ms2, gen.dt), np.log(intensity.d5_95(g.accel_ms2, gen.dt))], 1)
    order = [gen.timing_names.index(name) for name in refine.TIMING_ORDER]
    return np.abs(got - np.stack([asked[:, order[0]], np.log(asked[:, order[2]])], 1))

  shaped = gen.sample(psa, timing_gain=4.0, **kw)
  # The asked timing is taken (the decoder alone misses it by seconds here).
  assert np.all(timing_error(shaped) < [0.25, 0.05]) and np.all(timing_error(decoder)[:, 0] > 1.0)
  # The gain alone (no passes back to the decoder's spectrum) changes the spectrum more.
  monkeypatch.setattr(sampling, "TIMING_ROUNDS", 1)
  monkeypatch.setattr(sampling, "TIMING_SPECTRUM_PASSES", 0)
  gain_only = gen.sample(psa, timing_gain=4.0, **kw)
  kept, moved = change(shaped), change(gain_only)
  assert np.median(kept) < 0.6 * np.median(moved) and np.percentile(kept, 90) < 0.6 * np.percentile(moved, 90)


def test_calibration_removes_the_decoders_median_spectral_bias(gen):
  gain = gen.calibration()
  assert gain.shape == gen.periods_s.shape and np.all(gain[gen.periods_s < 2 * gen.dt] == 0)
  assert gen.calibration() is gain  # Estimated once per generator.
  # The training records' spectra and timing, other latents than the calibration's.
  psa, timing = gen.conditions["psa"], gen.conditions["timing"]
  kw = dict(seed=11, refine="none", highpass_hz=0.0, baseline=False, timing_gain=1.0, timing_s=timing)
  band = spectra.band_mask(gen.periods_s, (0.05, 4.0))
  bias = {c: np.median(np.log10(gen.sample(psa, calibrate=c, **kw).psa_ms2 / psa), axis=0)[band] for c in (False, True)}
  # The 10-step model runs up to 0.7 (log10) off at some periods; calibrated, within 0.1.
  before, after = np.abs(bias[False]), np.abs(bias[True])
  assert after.max() < 0.25 * before.max() and after.mean() < 0.3 * before.mean() and after.max() < 0.15


def test_timing_conditions_are_drawn_from_similar_spectra_asked_and_reported(gen):
  from cvaegan_jax import conditioning, input_pipeline
  # The table training wrote holds every training record's spectrum and measured timing.
  train_src = input_pipeline.open_dataset(gen.config.data)["train"]
  rows = [train_src[i] for i in range(len(train_src))]
  np.testing.assert_allclose(gen.conditions["psa"], np.stack([r["spectrum"] for r in rows]), rtol=1e-6)
  np.testing.assert_allclose(gen.conditions["timing"],
                             conditioning.timing(np.stack([r["waveform"] for r in rows]), gen.dt, gen.timing_names),
                             rtol=1e-5)
  # A target equal to a training spectrum draws that record's timing when one neighbour is asked.
  np.testing.assert_array_equal(gen.draw_timing(gen.conditions["psa"][[3, 5]], neighbours=1),
                                gen.conditions["timing"][[3, 5]])
  # A partial request: D5-95 given, D5-75 scaled by the same ratio, t5 drawn.
  psa = np.repeat(gen.conditions["psa"][:1], 4, axis=0)
  drawn = gen.draw_timing(psa, seed=2)
  asked = gen.complete_timing(psa, {"d5_95": 12.0}, seed=2)
  np.testing.assert_allclose(asked[:, 2], 12.0)
  np.testing.assert_allclose(asked[:, 1], drawn[:, 1] * 12.0 / drawn[:, 2], rtol=1e-5)
  np.testing.assert_array_equal(asked[:, 0], np.minimum(drawn[:, 0], 29.0 - 12.0))
  g = gen.generate(EC8, num=3, seed=1, refine="none", timing={"d5_95": 12.0, "t5": 4.0})
  np.testing.assert_allclose(g.timing_s[:, [0, 2]], [[4.0, 12.0]] * 3)
  summary = g.summary()["timing"]
  assert summary["asked"]["d5_95"] == [12.0] * 3 and summary["asked"]["t5"] == [4.0] * 3
  np.testing.assert_allclose(summary["got"]["d5_95"], intensity.d5_95(g.accel_ms2, g.dt), atol=0.006)
  # The strong phase ends 1 s before the 30 s window: a long asked D5-95 moves the drawn onset
  # earlier, an asked late onset shrinks the drawn durations, both asked and too long is refused.
  long = gen.complete_timing(psa, {"d5_95": 25.0}, seed=2)
  np.testing.assert_allclose(long[:, 0], np.minimum(drawn[:, 0], 4.0), rtol=1e-6)
  late = gen.complete_timing(psa, {"t5": 20.0}, seed=2)
  np.testing.assert_allclose(late[:, 2], np.minimum(drawn[:, 2], 9.0), rtol=1e-6)
  np.testing.assert_allclose(late[:, 1] / late[:, 2], drawn[:, 1] / drawn[:, 2], rtol=1e-5)
  with pytest.raises(ValueError, match="ends after the model's window"):
    gen.complete_timing(psa, {"t5": 10.0, "d5_95": 25.0})
  with pytest.raises(ValueError, match="does not fit"):
    gen.complete_timing(psa, {"d5_95": 29.5})
  with pytest.raises(ValueError, match="'d5_90' is not a condition"):
    gen.generate(EC8, num=2, timing={"d5_90": 5.0})
  with pytest.raises(ValueError, match="d5_95"):
    gen.generate(EC8, num=2, timing={"d5_95": -1.0})


def test_a_suite_draws_each_record_a_different_training_timing(gen):
  # 11 records of one target: 11 different rows among the 11 nearest training spectra (with
  # replacement among 10, about 4 of 11 would repeat); the nearest by hand.
  table = np.log10(gen.conditions["psa"])
  target = np.broadcast_to(gen.conditions["psa"][7], (11, table.shape[1]))
  rows = gen._neighbour(target, seed=4)
  nearest = np.argsort(((table - table[7]) ** 2).sum(-1))[:11]
  assert sorted(rows.tolist()) == sorted(nearest.tolist())
  np.testing.assert_array_equal(gen.draw_timing(target, seed=4), gen.conditions["timing"][rows])
  # Distinct targets each draw among their own 10 nearest; two targets asked twice each draw
  # two different rows apiece.
  mixed = gen.conditions["psa"][[2, 9, 2, 9]]
  rows = gen._neighbour(mixed, seed=0)
  for i, j in ((0, 2), (1, 3)):
    near = np.argsort(((table - np.log10(mixed[i])) ** 2).sum(-1))[:10]
    assert rows[i] != rows[j] and {rows[i], rows[j]} <= set(near.tolist())
  assert gen._neighbour(mixed, seed=0).tolist() == rows.tolist()  # Same seed, same draw.


def test_records_that_miss_tol_are_counted(gen, workdir, tmp_path, capsys):
  # One waveform step cannot bring any record within 0.01%: every record is reported.
  g = gen.generate(EC8, num=3, seed=2, max_waveform_steps=1, tol=1e-4)
  s = g.summary()
  assert s["tol"] == 1e-4 and s["missed_tol"] == 3 and min(s["record_max_abs_misfit"]) > 1e-4
  # Each record's Fourier texture, as intensity measures it.
  np.testing.assert_allclose(s["fourier_roughness"],
                             intensity.fourier_roughness(np.asarray(g.accel_ms2, np.float64), g.dt), atol=1e-4)
  assert gen.generate(EC8, num=2, refine="none").summary()["missed_tol"] is None
  suites.generate_suite(str(workdir), EC8, num=3, seed=2, tol=1e-4, out_dir=str(tmp_path / "s"), formats=(),
                        waveform_steps=1)
  saved = json.loads((tmp_path / "s" / "suite.json").read_text())
  assert saved["missed_tol"] >= 1
  assert f"{saved['missed_tol']} of 3 above tol 0.01%" in capsys.readouterr().out


def test_target_must_cover_the_model_periods(gen, tmp_path):
  path = tmp_path / "sa.csv"
  p = np.geomspace(0.1, 2.0, 12)
  path.write_text("period_s,sa_g\n" + "".join(f"{t},{0.05 / t}\n" for t in p))
  with pytest.raises(ValueError, match="extrapolate"):
    gen.generate(f"file:{path},unit=g", num=2, refine="none")
  out = gen.generate(f"file:{path},unit=g", num=2, refine="none", extrapolate=True)
  # Log-log extrapolation of a power law is exact.
  np.testing.assert_allclose(out.target_ms2[0], 0.05 * targets.G / gen.periods_s, rtol=1e-5)


def test_bad_requests_are_clear_errors(gen, tmp_path, workdir):
  with pytest.raises(ValueError, match="refine"):
    gen.generate(EC8, num=2, refine="magic")
  with pytest.raises(ValueError, match="num"):
    gen.generate(EC8, num=0)
  with pytest.raises(ValueError, match="ground"):
    gen.generate("ec8:type=1,ground=Z,ag=0.3g")
  with pytest.raises(ValueError, match="psa_ms2"):
    gen.sample(np.full((2, 100), np.nan))
  with pytest.raises(FileNotFoundError, match="not a cvaegan-jax training workdir"):
    sampling.Generator.from_workdir(str(tmp_path))
  # A workdir with its config but no checkpoint.
  empty = tmp_path / "empty"
  empty.mkdir()
  shutil.copy(workdir / "config.json", empty / "config.json")
  with pytest.raises(FileNotFoundError, match="checkpoint"):
    sampling.Generator.from_workdir(str(empty))
  # A caller's config that describes another model.
  other = tiny_config(tmp_path)
  other.model.latent_dim = 16
  with pytest.raises(checkpoints.ConfigMismatchError, match="model"):
    sampling.Generator.from_workdir(str(workdir), config=other)
  # Checkpoints written by another config than the workdir's config.json.
  moved = tmp_path / "moved"
  shutil.copytree(workdir / "checkpoints", moved / "checkpoints")
  saved = json.loads((workdir / "config.json").read_text())
  saved["config"]["model"]["latent_dim"] = 16
  (moved / "config.json").write_text(json.dumps(saved))
  with pytest.raises(checkpoints.ConfigMismatchError, match="does not fit"):
    sampling.Generator.from_workdir(str(moved))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num=0), "num"), (dict(formats=("at2", "xyz")), "xyz"), (dict(rule="ec9"), "ec9"),
    (dict(refine="magic"), "refine"), (dict(target="ec8:type=1,ground=Z,ag=0.3g"), "ground"),
    (dict(out_dir="FILE"), "is a file"), (dict(t1_s=-1.0), "t1_s"), (dict(timing={"d5_95": 0.0}), "d5_95"),
    (dict(scenario={"magnitude": 7.0}), "distance_km"), (dict(scenario={"magnitude": 7.0, "distance_km": -3}),
                                                         "distance_km"),
    # An asked t5 is checked too (a valid one once raised a TypeError here), then the workdir.
    (dict(timing={"t5": -1.0}), "t5 must be a finite number >= 0 of seconds"), (dict(smoothing=-0.1), "smoothing"),
])
def test_generate_suite_checks_its_request_before_loading_or_writing(tmp_path, kwargs, message):
  # The workdir does not exist: a request that reached the model would fail there instead, after
  # minutes, or (--format=at2,xyz) after writing the AT2 files.
  a_file = tmp_path / "a_file"
  a_file.write_text("")
  kwargs = {k: (str(a_file) if v == "FILE" else v) for k, v in kwargs.items()}
  args = dict(target=EC8, out_dir=str(tmp_path / "out")) | kwargs
  with pytest.raises(ValueError, match=message):
    suites.generate_suite(str(tmp_path / "no_workdir"), **args)


def test_generate_suite_takes_an_asked_t5_to_the_model(tmp_path):
  # The request passes its checks and fails only where the model is loaded.
  with pytest.raises(FileNotFoundError, match="no_workdir"):
    suites.generate_suite(str(tmp_path / "no_workdir"), EC8, timing={"t5": 6.0}, out_dir=str(tmp_path / "out"))
  assert not (tmp_path / "out").exists()


def test_scenario_suite_asks_afshari_stewart_durations(workdir, tmp_path):
  from cvaegan_jax import scenarios
  out = suites.generate_suite(str(workdir), EC8, num=11, seed=3, refine="none", out_dir=str(tmp_path / "s"),
                              formats=(), scenario={"magnitude": 7.0, "distance_km": 50.0})
  want = scenarios.durations(7.0, 50.0, num=11, seed=3)
  # Draws past the 30 s window less 2 s are capped there, D5-75 alike.
  factor = np.minimum(1.0, 28.0 / want["d5_95"])
  assert np.any(factor < 1) and np.any(factor == 1)
  np.testing.assert_allclose(out["generation"].timing_s[:, 1], want["d5_75"] * factor, rtol=1e-5)
  np.testing.assert_allclose(out["generation"].timing_s[:, 2], want["d5_95"] * factor, rtol=1e-5)
  saved = json.loads((tmp_path / "s" / "suite.json").read_text())
  np.testing.assert_allclose(saved["timing"]["asked"]["d5_95"], want["d5_95"] * factor, atol=0.006)
  assert len(saved["timing"]["got"]["t5"]) == 11
  # The records take them (the envelope gain; an untrained model): within 20% for most.
  got, asked = np.array(saved["timing"]["got"]["d5_95"]), np.array(saved["timing"]["asked"]["d5_95"])
  assert np.mean(np.abs(np.log(got / asked)) < 0.2) >= 0.8


def test_generate_suite_exports_checks_and_plots(workdir, tmp_path):
  out = suites.generate_suite(str(workdir), EC8, num=11, seed=0, out_dir=str(tmp_path / "suite"),
                                formats=("at2", "csv", "npz", "mseed"), rule="auto", t1_s=1.0)
  g = out["generation"]
  at2 = sorted((tmp_path / "suite").glob("*.AT2"))
  assert len(at2) == 11
  accel, dt, _ = exports.read_at2(at2[3])
  np.testing.assert_array_equal(accel.astype(np.float32), g.accel_ms2[3])
  assert dt == pytest.approx(0.01)
  back, _, _ = exports.read_csv(next((tmp_path / "suite").glob("*.csv")))
  np.testing.assert_array_equal(back, g.accel_ms2)
  # "auto" checks the EC8 rule (EN 1998-1 3.2.3.1.2) of the target's own code, and the verdict is
  # the suite's: its mean spectrum, recomputed here at every period of the check's table, over
  # the interpolated target. Refinement matches the model's 100 periods (within 3% here); between
  # them a 10-step model's records can dip, which the dense check sees (the recalibrated
  # simulator's tiny model: 0.889 at 1.19 s), so the verdict is compared, not assumed.
  check = out["check"]
  assert check.rule == "ec8"
  periods = np.array([r["period_s"] for r in check.table])
  mean = np.asarray(spectra.response_spectrum(g.accel_ms2, g.dt, periods)).mean(axis=0)
  np.testing.assert_allclose([r["mean_ms2"] for r in check.table], mean, rtol=1e-4)
  ratio = mean / np.array([r["target_ms2"] for r in check.table])
  spectrum_ok = bool(np.all(ratio >= 0.9 - 1e-6))
  assert dict((name, ok) for name, ok, _ in check.checks)["mean spectrum >= 0.9 target"] == spectrum_ok
  assert check.passed == all(ok for _, ok, _ in check.checks)
  # On the model's periods refinement brings the records close (mean under 1%); its 20 steps do
  # not always reach the 2% tolerance at every period on random-phase records (issue 26).
  assert np.abs(g.band_misfit).mean() < 0.01 and np.abs(g.band_misfit).max() < 0.1
  summary = json.loads((tmp_path / "suite/suite.json").read_text())
  assert summary["check"]["passed"] == check.passed and summary["num"] == 11
  # Each record's worst band misfit, and how many the refinement left above its tol.
  np.testing.assert_allclose(summary["record_max_abs_misfit"], np.abs(g.band_misfit).max(axis=-1), rtol=1e-6)
  assert summary["tol"] == 0.02
  assert summary["missed_tol"] == int(np.sum(np.array(summary["record_max_abs_misfit"]) > 0.02))
  corr = np.corrcoef(g.accel_ms2.astype(np.float64))
  assert summary["max_pair_correlation"] == pytest.approx(np.max(corr - 2 * np.eye(11)))
  assert (tmp_path / "suite/suite.png").stat().st_size > 20_000


def test_fit_metrics_on_constructed_spectra():
  p = spectra.DEFAULT_PERIODS
  target = np.tile(np.where(p < 0.5, 5.0, 2.5 / p), (3, 1))
  gen = target.copy()
  gen[1] += 0.05  # RMSE 0.05 m/s^2; R^2 = 1 - P c^2 / SS_tot.
  gen[2] *= 1.5
  m = fit.fit_metrics(target, gen, p, (0.05, 4.0))
  ss_tot = np.sum((target[1] - target[1].mean()) ** 2)
  np.testing.assert_allclose(m["_r2"][:2], [1.0, 1.0 - p.size * 0.05**2 / ss_tot], rtol=1e-6)
  assert m["paper_criterion_share"] == pytest.approx(2 / 3)
  band = (p >= 0.05) & (p <= 4.0)
  # Medians over records of the largest band misfit: 0, 0.05 / min target, 0.5.
  assert m["band_max_abs_misfit_median"] == pytest.approx(np.max(0.05 / target[1, band]), rel=1e-5)
  # By strength (PSA(0.01 s) classes). All three records have 5 m/s^2: the strongest class,
  # where the 1.5x record fails both tests (R^2 = 1 - 0.25 sum t^2 / SS_tot < 0, RMSE 2 m/s^2).
  r2_scaled = 1.0 - 0.25 * np.sum(target[2] ** 2) / np.sum((target[2] - target[2].mean()) ** 2)
  assert r2_scaled < 0.8
  assert m["by_level"] == [{"psa0_ms2": [0.5, float("inf")], "num": 3, "paper_criterion_share": pytest.approx(2 / 3),
                            "r2_fail_share": pytest.approx(1 / 3), "rmse_fail_share": pytest.approx(1 / 3)}]
  # The same records 200x weaker: R^2 is scale-free, the RMSE (0.01 m/s^2) now passes; and a
  # record 0.12 m/s^2 too strong at every period fails on RMSE only.
  weak = fit.fit_metrics(np.concatenate([target / 200, target[:1]]),
                               np.concatenate([gen / 200, target[:1] + 0.12]), p, (0.05, 4.0))
  assert [(r["psa0_ms2"], r["num"]) for r in weak["by_level"]] == [([0.0, 0.05], 3), ([0.5, float("inf")], 1)]
  assert weak["by_level"][0]["r2_fail_share"] == pytest.approx(1 / 3)
  assert weak["by_level"][0]["rmse_fail_share"] == 0.0
  # Read on peak-normalised spectra, 0.12 m/s^2 is 2.4% of that record's 5 m/s^2 peak: it passes,
  # the 1.5x record still fails on R^2 (the same in both readings).
  assert weak["paper_criterion_share"] == pytest.approx(2 / 4)
  assert weak["criterion_share_peak_norm"] == pytest.approx(3 / 4)
  assert m["criterion_share_peak_norm"] == pytest.approx(2 / 3)
  assert weak["by_level"][1]["rmse_fail_share"] == 1.0 and weak["by_level"][1]["r2_fail_share"] == 0.0


def test_sample_correlation_pairs_samples_of_one_target():
  rng = np.random.default_rng(0)
  t = np.arange(2000) * 0.01
  base = np.sin(2 * np.pi * t)  # Whole cycles: orthogonal to the cosine.
  # Target 0: three copies (+ offsets and gains) of one record -> every pair correlates 1.
  # Target 1: sin, cos, -sin -> pairs 0, -1, 0.
  gen = np.stack([base, 2 * base + 1, 0.5 * base, base, np.cos(2 * np.pi * t), -base])
  c = fit.sample_correlation(gen, 3, rng.standard_normal((50, 2000)))
  assert c["generated"] == pytest.approx((3 * 1.0 + 0.0 - 1.0 + 0.0) / 6, abs=1e-9)
  assert abs(c["real"]) < 0.01  # Independent noise records.
  assert fit.sample_correlation(gen, 3, gen[:3])["real"] == pytest.approx(1.0)
  assert fit.sample_correlation(gen, 1, gen)["generated"] is None


def test_component_pairs_pair_components_of_one_station_and_event():
  ev = ["A", "A", "A", "B", "B", "B", "A"]
  st = ["S1", "S1", "S2", "S1", "S1", "S1", "S1"]
  comp = ["EW", "NS", "EW", "EW", "NS", "UD", "EW"]
  # A/S1 has EW twice (records 0 and 6: same component, not a pair), A/S2 one record,
  # B/S1 three components (6 ordered pairs).
  expected = {(0, 1), (1, 0), (1, 6), (6, 1), (3, 4), (4, 3), (3, 5), (5, 3), (4, 5), (5, 4)}
  pairs = fit.component_pairs(ev, st, comp)
  assert pairs.shape == (10, 2) and set(map(tuple, pairs.tolist())) == expected
  assert fit.component_pairs(["A", "B"], ["S", "S"], ["EW", "NS"]).shape == (0, 2)


def test_component_pair_reference_scores_each_component_against_the_other():
  p = spectra.DEFAULT_PERIODS
  shape = np.where(p < 0.5, 2.5, 1.25 / p)
  # Station 1 (peak 0.425 m/s^2): NS = EW + 0.05 m/s^2 everywhere; RMSE 0.05 both ways and
  # R^2 = 1 - P 0.05^2 / SS_tot(target) (the offset leaves SS_tot alone). Station 2 (strong):
  # NS = 1.5 EW, which fails both ways. A lone record (station 3) is in no pair.
  ew1 = 0.17 * shape
  ew2 = 2.0 * shape
  psa = np.stack([ew1, ew1 + 0.05, ew2, 1.5 * ew2, shape])
  ref = fit.component_pair_reference(psa, ["E"] * 5, ["S1", "S1", "S2", "S2", "S3"],
                                          ["EW", "NS", "EW", "NS", "EW"], p, (0.05, 4.0))
  assert ref["num_pairs"] == 4 and ref["num_stations"] == 2
  ss = lambda t: np.sum((t - t.mean()) ** 2)
  r2_1 = 1 - p.size * 0.05**2 / ss(ew1)
  r2_2 = [1 - np.sum((0.5 * ew2) ** 2) / ss(ew2), 1 - np.sum((0.5 * ew2) ** 2) / ss(1.5 * ew2)]
  assert r2_1 > 0.8 and max(r2_2) < 0.8  # Both directions of station 1 pass; station 2 fails both.
  assert ref["paper_criterion_share"] == pytest.approx(0.5)
  assert ref["r2_median"] == pytest.approx(np.median([r2_1, r2_1] + r2_2), rel=1e-5)
  assert ref["rmse_median_ms2"] == pytest.approx(np.median([0.05, 0.05, 0.5 * np.sqrt(np.mean(ew2**2)),
                                                            np.sqrt(np.mean((0.5 * ew2) ** 2))]), rel=1e-5)
  assert [r["num"] for r in ref["by_level"]] == [2, 2]
  assert fit.component_pair_reference(psa[:1], ["E"], ["S1"], ["EW"], p, (0.05, 4.0)) is None


def test_evaluate_refuses_a_bad_latent_step_count(workdir):
  from configs import base
  for bad in (-1, -20):  # (The config itself refuses a float or a string here.)
    cfg = base.get_config()
    cfg.evaluate.latent_steps = bad
    with pytest.raises(ValueError, match="evaluate.latent_steps"):
      evaluate.evaluate_model(cfg, str(workdir))


def test_evaluate_model_writes_report_and_figures(workdir):
  from configs import base
  cfg = base.get_config()
  cfg.evaluate.max_examples = 4
  cfg.evaluate.samples_per_target = 2
  report = evaluate.evaluate_model(cfg, str(workdir))
  from data_prep import build
  sources = build.build_from_config(checkpoints.load_config(str(workdir)).data).as_data_source()
  out = workdir / "evaluation"
  assert json.loads((out / "report.json").read_text())["checkpoint_step"] == 10 and report["candidates"] == 8
  assert report["latent_steps"] == sampling.LATENT_STEPS == 20
  done = {k: v for k, v in report["splits"].items() if "skipped" not in v}
  assert done, report
  for split, entry in done.items():
    raw, best, ref = entry["refine_none"], entry["refine_best"], entry["refine_waveform"]
    searched = entry["refine_latent"]
    assert entry["num_records"] <= 4 and raw["num"] == best["num"] == searched["num"] == 2 * entry["num_records"]
    assert ref["band_mean_abs_misfit"] < raw["band_mean_abs_misfit"]
    # The best of 8 latents (the first of them the raw record) fits better than the raw record,
    # and its latent searched (20 steps) better still.
    assert searched["log_spectral_rmse_mean"] < best["log_spectral_rmse_mean"] < raw["log_spectral_rmse_mean"]
    assert set(entry["time_frequency"]) >= {"arias_ms", "d5_95_s", "pga_ms2"}
    assert -1.0 <= entry["sample_correlation"]["generated"] <= 1.0
    # Realism of the raw and the refined records against the split's real ones.
    assert set(entry["realism"]) == {"refine_none", "refine_best", "refine_latent", "refine_waveform"}
    real_m = entry["realism"]["refine_none"]
    for name in ("d5_75_s", "d5_95_s", "t5_s", "t_pga_s"):
      assert 0.0 <= real_m[name]["ks"] <= 1.0 and real_m[name]["median_real"] >= 0.0
    assert set(real_m["ratio_of_medians"]) == {"arias_ms", "pgv_ms", "pgd_m"}
    assert 0.0 < real_m["pga_time_max_bin_share"]["generated"] <= 1.0 and real_m["log_envelope_distance"] >= 0.0
    assert real_m["sample_correlation"] == entry["sample_correlation"]
    assert set(real_m["passes"]) == {"ks_d5_75", "ks_d5_95", "ks_t5", "ks_t_pga", "pga_time_bin_share",
                                     "arias_ratio", "pgd_ratio", "sample_correlation", "all"}
    assert "_values" not in real_m
    # The yardstick: every real record of the whole split against its other component,
    # recomputed here from the shards.
    src = sources[split]
    recs = [src[i] for i in range(len(src))]
    txt = lambda v: v.decode() if isinstance(v, bytes) else str(v)
    by_station = {}
    for e in recs:
      key = (txt(e["event_id"]), txt(e["station"]), bool(e["borehole"]))
      by_station.setdefault(key, {})[txt(e["component"])] = np.asarray(e["spectrum"], np.float64)
    both = [d for d in by_station.values() if len(d) == 2]
    pair = entry["real_component_pairs"]
    if not both:
      assert pair is None
      continue
    t = np.stack([d[c] for d in both for c in ("EW", "NS")])
    o = np.stack([d[c] for d in both for c in ("NS", "EW")])
    ok = fit.paper_criterion(fit.spectral_r2(t, o), fit.spectral_rmse(t, o))
    assert pair["num_pairs"] == 2 * len(both) and pair["num_stations"] == len(both)
    assert pair["paper_criterion_share"] == pytest.approx(float(np.mean(ok)))
    # Generated pairs against up to max_examples of those real pairs (one each, from its RotD50).
    made = entry["pairs"]
    assert made["num_real"] == made["num_generated"] == min(4, len(both))
    for key in ("abs_component_correlation", "d5_95_log_ratio", "t5_difference_s", "rotd100_over_rotd50"):
      assert 0.0 <= made[key]["ks"] <= 1.0
    assert 1.0 <= made["rotd100_over_rotd50"]["median_real"] <= np.sqrt(2) + 1e-6
    assert 0.0 <= made["rotd50_fit"]["paper_criterion_share"] <= 1.0
    assert (out / f"examples_{split}.png").exists()
  assert (out / "r2_hist.png").exists() and (out / "husid.png").exists()
  assert (out / "realism.png").stat().st_size > 20_000
  assert (out / "pairs.png").stat().st_size > 20_000
  assert report["realism_bars"]["ks_max"] == 0.15


def test_auto_rule_follows_the_target_code():
  assert suites.rule_for_target(EC8) == "ec8"
  assert suites.rule_for_target("asce7:sds=1.0,sd1=0.6,tl=8") == "asce7-16"
  assert suites.rule_for_target("ASCE7: sds=1.0, sd1=0.6, tl=8, edition=7-22") == "asce7-22"
  assert suites.rule_for_target("gb50011:amax=0.16,tg=0.45") == ""
  assert suites.rule_for_target("file:uhs.csv,unit=g") == ""
  with pytest.raises(ValueError, match="edition"):
    suites.rule_for_target("asce7:sds=1.0,sd1=0.6,tl=8,edition=10")


ASCE = "asce7:sds=1.0,sd1=0.6,tl=8"


def test_pairs_share_their_timing_match_their_rotd_and_stay_apart(gen):
  # Each pair: two decodings of independent latents under one condition and one timing.
  g = gen.generate_pairs(ASCE, num=4, seed=3, refine="none", timing={"d5_95": 12.0})
  assert g.accel_ms2.shape == (4, 2, gen.num_samples) and g.percentile == 100.0
  single = gen.sample(np.repeat(g.target_ms2, 2, axis=0), seed=3, timing_s=g.timing_s, candidates=g.candidates)
  assert g.candidates == sampling.CANDIDATES  # Each component the best of that many.
  np.testing.assert_array_equal(g.accel_ms2.reshape((8, -1)), single.accel_ms2)
  np.testing.assert_allclose(g.psa_ms2, spectra.max_direction_spectrum(g.accel_ms2, g.dt, g.periods_s), rtol=1e-6)
  # H1 takes the asked timing; H2 differs from it as the two components of the training
  # recording drawn for it differ (the same draw as draw_timing's).
  rows = gen._neighbour(g.target_ms2, 3)
  partner = gen.conditions["partner"][rows]
  assert np.all(partner >= 0)  # Every simulated record has its other component.
  own, other = gen.conditions["timing"][rows], gen.conditions["timing"][partner]
  i95 = gen.timing_names.index("d5_95")
  np.testing.assert_allclose(g.timing_s[0::2, i95], 12.0)
  np.testing.assert_allclose(g.timing_s[1::2, i95], 12.0 * other[:, i95] / own[:, i95], rtol=1e-5)
  s = g.summary()
  assert s["timing"]["asked"]["d5_95"][0::2] == [12.0] * 4 and len(s["timing"]["got"]["d5_95"]) == 8
  np.testing.assert_allclose(s["component_correlation"], [np.corrcoef(p)[0, 1] for p in g.accel_ms2.astype(float)])
  # Matched: every pair's RotD100 within tol of the target; the components still distinct records.
  m = gen.generate_pairs(ASCE, num=3, seed=3, refine="waveform", max_waveform_steps=40)
  rot = np.asarray(spectra.max_direction_spectrum(m.accel_ms2, m.dt, m.periods_s))
  np.testing.assert_allclose(m.band_misfit, (rot / m.target_ms2 - 1)[:, spectra.band_mask(m.periods_s, m.band_s)],
                             atol=1e-5)
  assert m.summary()["missed_tol"] == int(np.sum(np.abs(m.band_misfit).max(axis=1) > 0.02))
  assert np.abs(m.band_misfit).mean() < 0.01
  assert np.all(np.abs(m.summary()["component_correlation"]) < 0.3)
  # RotD50 targets and the one-factor scaling: RotDnn(k a) = k RotDnn(a).
  sc = gen.generate_pairs(ASCE, num=2, seed=3, refine="scale", percentile=50.0)
  rot50 = np.asarray(spectra.rotd_spectrum(sc.accel_ms2, sc.dt, sc.periods_s, percentiles=(50.0,)))[:, 0]
  np.testing.assert_allclose(sc.psa_ms2, rot50, rtol=1e-4)
  with pytest.raises(ValueError, match="refine for pairs"):
    gen.generate_pairs(ASCE, num=2, refine="latent")
  with pytest.raises(ValueError, match="percentile"):
    gen.generate_pairs(ASCE, num=2, percentile=120.0)


def test_pair_suite_is_matched_to_110_percent_checked_on_rotd100_and_exported(workdir, tmp_path):
  out = suites.generate_suite(str(workdir), ASCE, num=11, seed=0, out_dir=str(tmp_path / "pairs"), components=2,
                              formats=("at2", "csv"), rule="auto", t1_s=1.0, waveform_steps=40)
  g, check, summary = out["generation"], out["check"], out["summary"]
  # ASCE 7 §16.2.3.3: matched records' mean RotD100 at least 110% of the target; the suite is
  # matched to 110% x (1 + tol), so records within tol pass, and scaled as a whole (at most 5%)
  # where its mean dips below that between the model's periods.
  scale = summary["suite_scale"]
  assert 1.0 <= scale <= 1.05 * (1 + 1e-4)
  assert summary["matched_to"] == pytest.approx(1.1 * 1.02 * scale, rel=1e-3)
  target = specs.parse(ASCE, periods_s=g.periods_s).at(g.periods_s).sa_ms2
  np.testing.assert_allclose(g.target_ms2[0], 1.1 * 1.02 * scale * target, rtol=1e-5)
  if scale > 1:
    assert min(r["ratio"] for r in check.table) >= 1.1
  assert check.components == 2 and check.spectrum == "RotD100" and check.matched
  assert all(r["required_ratio"] == pytest.approx(1.1) for r in check.table)
  periods = np.array([r["period_s"] for r in check.table])
  mean = np.asarray(spectra.max_direction_spectrum(g.accel_ms2, g.dt, periods)).mean(axis=0)
  np.testing.assert_allclose([r["mean_ms2"] for r in check.table], mean, rtol=1e-4)
  if summary["missed_tol"] == 0:
    assert check.passed
  assert len(sorted((tmp_path / "pairs").glob("*_H1.AT2"))) == 11 and len(list((tmp_path / "pairs").glob("*_H2.AT2"))) == 11
  back, _, names = exports.read_csv(tmp_path / "pairs" / "records.csv")
  np.testing.assert_array_equal(back, g.accel_ms2)
  with pytest.raises(ValueError, match="components must be 1"):
    suites.generate_suite(str(workdir), ASCE, components=3)


def test_pair_measures_known_answers():
  dt = 0.01
  t = np.arange(2000) * dt
  rng = np.random.default_rng(0)
  x = rng.standard_normal(2000) * np.exp(-0.5 * ((t - 8.0) / 2.0) ** 2)
  periods = spectra.log_periods(0.1, 2.0, 10)
  # Along one line: RotD50 is cos(45 deg) of RotD100, the ratio sqrt(2); the components are
  # one record (correlation 1, same durations and t5).
  line = np.stack([x, x])[None]
  m = fit.pair_measures(line, dt, periods, (0.1, 2.0))
  assert m["rotd100_over_rotd50"][0] == pytest.approx(np.sqrt(2), rel=1e-3)
  assert m["component_correlation"][0] == pytest.approx(1.0)
  assert m["d5_95_log_ratio"][0] == pytest.approx(0.0) and m["t5_difference_s"][0] == pytest.approx(0.0)
  # The second component a copy 1.5 s later: t5 differs by 1.5 s, D5-95 not at all.
  shifted = np.stack([x, np.roll(x, 150)])[None]
  m = fit.pair_measures(shifted, dt, periods, (0.1, 2.0))
  assert m["t5_difference_s"][0] == pytest.approx(1.5, abs=0.011)
  assert m["d5_95_log_ratio"][0] == pytest.approx(0.0, abs=0.01)
  # A circularly polarised harmonic: the same peak in every direction, ratio 1.
  w = 2 * np.pi / 0.5
  circle = np.stack([np.cos(w * t), np.sin(w * t)])[None] * np.minimum(t / 2.0, 1.0)
  assert fit.pair_measures(circle, dt, [0.5], (0.4, 0.6))["rotd100_over_rotd50"][0] == pytest.approx(1.0, abs=0.02)
  with pytest.raises(ValueError, match=r"\[K, 2, T\]"):
    fit.pair_measures(np.zeros((2, 3, 100)), dt, periods, (0.1, 2.0))
  # pair_realism: a set against itself has KS 0 and equal medians.
  both = np.concatenate([line, shifted])
  r = fit.pair_realism(both, both, dt, periods, (0.1, 2.0))
  assert r["t5_difference_s"]["ks"] == 0.0 and r["num_real"] == 2


def test_training_conditions_name_each_records_other_component(gen, workdir):
  from cvaegan_jax import input_pipeline
  src = input_pipeline.open_dataset(gen.config.data)["train"]
  partner = gen.conditions["partner"]
  txt = input_pipeline.text
  for i, j in enumerate(partner):
    if j < 0:
      continue
    a, b = src[i], src[int(j)]
    assert txt(a["event_id"]) == txt(b["event_id"]) and txt(a["station"]) == txt(b["station"])
    assert txt(a["component"]) != txt(b["component"]) and partner[j] == i
  assert np.mean(partner >= 0) > 0.9  # The simulator writes both components of every station.
