"""Pair models (`data.pairs`): two-channel examples, the pieces that make a pair of components,
and a tiny pair model through training, evaluation and generation."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvaegan_jax import checkpoints, conditioning, fit, intensity, losses, models, refine, sampling, spectra, suites
from cvaegan_jax import train
from tests.train_test import tiny_config

DT = 0.01
PERIODS = spectra.log_periods(0.01, 10.0, 100)


def _pair(seed=0, n=3000):
  """A burst of noise on two components with different envelopes, [2, n] m/s^2."""
  rng = np.random.default_rng(seed)
  t = DT * np.arange(n)
  env = np.stack([np.exp(-((t - 8.0) / 3.0) ** 2), 0.6 * np.exp(-((t - 10.0) / 4.0) ** 2)])
  return (env * rng.standard_normal((2, n))).astype(np.float32)


def test_pair_energy_and_components_of_a_pair():
  x = np.stack([_pair(0), _pair(1)])  # [2, 2, T]
  model_units = jnp.asarray(np.swapaxes(x, 1, 2))  # [B, T, 2]
  energy = np.asarray(losses.pair_energy(model_units))[..., 0]
  np.testing.assert_allclose(energy, conditioning.pair_energy(x), rtol=1e-6)
  # The pair's Husid curve is that of the summed squares, whatever the orientation.
  theta = 0.7
  rot = np.stack([np.cos(theta) * x[:, 0] + np.sin(theta) * x[:, 1], -np.sin(theta) * x[:, 0] + np.cos(theta) * x[:, 1]],
                 axis=1)
  np.testing.assert_allclose(intensity.d5_95(conditioning.pair_energy(rot), DT),
                             intensity.d5_95(conditioning.pair_energy(x), DT), atol=DT)
  each = np.asarray(losses.per_component(model_units))
  assert each.shape == (4, 3000, 1)
  np.testing.assert_array_equal(each[1, :, 0], x[0, 1])  # Row b * 2 + k: component k of record b.
  np.testing.assert_array_equal(each[2, :, 0], x[1, 0])
  single = model_units[..., :1]
  assert losses.per_component(single) is single and losses.pair_energy(single) is single


def test_pair_spectra_of_the_losses_and_the_metrics():
  x = np.stack([_pair(2), _pair(3)])
  mu = jnp.asarray(np.swapaxes(x, 1, 2))
  own = np.asarray(spectra.response_spectrum(x, DT, PERIODS))  # [B, 2, P]
  # The loss's pair spectrum: the geometric mean of the components' PSA.
  np.testing.assert_allclose(10 ** np.asarray(losses.log_spectrum(mu, DT, PERIODS)), np.sqrt(own[:, 0] * own[:, 1]),
                             rtol=2e-5)
  np.testing.assert_allclose(losses.condition_spectrum(mu, DT, PERIODS),
                             np.asarray(spectra.rotd_spectrum(x, DT, PERIODS, percentiles=(50.0,)))[:, 0], rtol=1e-6)
  np.testing.assert_allclose(losses.condition_spectrum(mu, DT, PERIODS, pair_spectrum="rotd100"),
                             spectra.max_direction_spectrum(x, DT, PERIODS), rtol=1e-6)
  np.testing.assert_allclose(losses.condition_spectrum(mu[..., :1], DT, PERIODS), own[:, 0], rtol=1e-6)
  with pytest.raises(ValueError, match="rotd50"):
    losses.condition_spectrum(mu, DT, PERIODS, pair_spectrum="rotd70")


def test_pair_features_round_trip_to_model_units():
  x = np.stack([_pair(4), 3.0 * _pair(5)])
  own = np.asarray(spectra.response_spectrum(x, DT, PERIODS))
  rotd50 = np.asarray(spectra.rotd_spectrum(x, DT, PERIODS, percentiles=(50.0,)))[:, 0]
  cfg = tiny_config("unused").model
  stats = conditioning.condition_stats(rotd50, np.ones((2, 3)))
  f = conditioning.features({"waveform": x, "spectrum": rotd50, "component_spectra": own}, cfg, stats, DT)
  assert f["x"].shape == (2, 3000, 2)
  np.testing.assert_allclose(f["scale"], rotd50[:, 0])
  np.testing.assert_allclose(np.swapaxes(f["x"], 1, 2) * f["scale"][:, None, None], x, rtol=1e-6)
  np.testing.assert_allclose(10 ** f["log_psa"] * f["scale"][:, None], np.sqrt(own[:, 0] * own[:, 1]), rtol=1e-4)
  np.testing.assert_allclose(f["psa"], rotd50)
  want = conditioning.timing(conditioning.pair_energy(x), DT, cfg.timing_conditions)
  np.testing.assert_allclose(f["timing"], want)


def test_two_channel_models_make_and_take_pairs():
  cfg = tiny_config("unused")
  one, critic1 = models.build(cfg.model, 3000, DT)
  two, critic2 = models.build(cfg.model, 3000, DT, channels=2)
  c = jnp.zeros((2, 103))
  eps = jnp.zeros((2,) + models.latent_shape(cfg.model, 3000))
  v1 = one.init(jax.random.PRNGKey(0), jnp.zeros((2, 3000, 1)), c, eps, train=False)
  v2 = two.init(jax.random.PRNGKey(0), jnp.zeros((2, 3000, 2)), c, eps, train=False)
  x = two.apply(v2, jax.random.normal(jax.random.PRNGKey(1), eps.shape), c, method=models.CVAEGAN.generate)
  assert x.shape == (2, 3000, 2)
  n = lambda v: sum(a.size for a in jax.tree.leaves(v["params"]))
  # Only the encoder's first kernel and the decoder's last convolution grow with the channels.
  k_enc = cfg.model.encoder_kernel * cfg.model.encoder_features[0]
  k_dec = cfg.model.decoder_kernel * cfg.model.decoder_features[-1] + 1
  assert n(v2) - n(v1) == k_enc + k_dec
  # The pair's level is the condition's: the RMS over both components, not each one's.
  level = np.exp(np.asarray(v2["params"]["decoder"]["level"]["bias"]))[0]
  np.testing.assert_allclose(np.sqrt(np.mean(np.asarray(x) ** 2, axis=(1, 2))), level, rtol=1e-4)
  s = critic2.init(jax.random.PRNGKey(2), jnp.zeros((2, 3000, 2)), c)
  assert critic2.apply(s, x, c)[0].shape[0] == 2


@pytest.fixture(scope="module")
def pair_workdir(tmp_path_factory):
  from data_prep import build
  cfg = tiny_config(tmp_path_factory.mktemp("data"))
  cfg.data.pairs = True
  cfg.training.num_steps = 10
  cfg.training.eval_every = cfg.training.figure_every = cfg.training.checkpoint_every = 10
  build.build_from_config(cfg.data)
  wd = tmp_path_factory.mktemp("run")
  state = train.train_and_evaluate(cfg, str(wd))
  return cfg, wd, state


def test_a_pair_model_trains_and_reports_its_components(pair_workdir):
  from cvaegan_jax import input_pipeline, train_state
  cfg, wd, state = pair_workdir
  lines = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
  assert lines[-1]["step"] == 10 and lines[-1]["component_decorrelation"] >= 0
  assert np.isfinite(lines[-1]["generator_loss"])
  # Validation metrics of real pairs: their components' correlation, and the fit on RotD50.
  src = input_pipeline.open_dataset(cfg.data)["test"]
  raw = [src[i] for i in range(4)]
  batch = {k: np.stack([r[k] for r in raw]) for k in ("waveform", "spectrum", "component_spectra")}
  stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
  feats = conditioning.features(batch, cfg.model, stats, DT)
  out = train.eval_step(state, feats, train_state.make_static(cfg))
  np.testing.assert_allclose(out["component_corr_real"], fit.component_correlation(batch["waveform"]), atol=1e-5)
  assert np.all(np.abs(out["component_corr_real"]) < 0.3)  # Real pairs: nearly uncorrelated.
  assert out["r2_prior"].shape == (4,) and out["sample_corr"].shape == (4,)
  with np.load(wd / checkpoints.CONDITIONS_FILE) as f:
    ratio = f["rotd100_over_rotd50"]
  assert ratio.shape == (100,) and np.all((ratio >= 1.0) & (ratio < 1.5))  # Boore 2010: about 1.1-1.3.
  # The workdir is a pair model's: a single-component config is refused.
  single = tiny_config(cfg.data.data_dir)
  with pytest.raises(checkpoints.ConfigMismatchError, match="data.pairs"):
    checkpoints.check_config(str(wd), single)


def test_a_pair_model_generates_pairs_with_one_timing(pair_workdir):
  _, wd, _ = pair_workdir
  gen = sampling.Generator.from_workdir(str(wd))
  assert gen.channels == 2 and gen.model_percentile == 50.0
  target = "asce7:sds=1.0,sd1=0.6,tl=8"
  g = gen.generate_pairs(target, num=3, seed=1, refine="none", percentile=50.0, timing={"d5_95": 12.0, "t5": 6.0})
  assert g.accel_ms2.shape == (3, 2, 3000)
  np.testing.assert_allclose(g.psa_ms2, refine.pair_spectrum(g.accel_ms2, DT, gen.periods_s, gen.damping, 50.0),
                             rtol=1e-5)
  # One timing gain for both components: the pair's combined energy takes the asked timing.
  energy = conditioning.pair_energy(g.accel_ms2)
  np.testing.assert_allclose(intensity.d5_95(energy, DT), 12.0, rtol=0.1)
  np.testing.assert_allclose(intensity.t5(energy, DT), 6.0, atol=0.5)
  assert g.timing_s.shape == (6, 3)
  # The best of 4 latents a pair, scored on the components' geometric-mean PSA against the
  # RotD50 target: never worse than the first latent alone, and under the same timing.
  kw = dict(num=3, seed=1, refine="none", percentile=50.0, timing={"d5_95": 12.0, "t5": 6.0})
  first, best = gen.generate_pairs(target, candidates=1, **kw), gen.generate_pairs(target, candidates=4, **kw)
  weights = np.where(spectra.band_mask(gen.periods_s, (0.05, 4.0)), 1.0, refine.OUTSIDE_WEIGHT)

  def score(x):
    return sampling.candidate_misfit(spectra.geometric_mean_spectrum(x, DT, gen.periods_s), first.target_ms2, weights)

  assert best.candidates == 4 and np.all(score(best.accel_ms2) <= score(first.accel_ms2) + 1e-6)
  np.testing.assert_allclose(intensity.d5_95(conditioning.pair_energy(best.accel_ms2), DT), 12.0, rtol=0.1)
  # A RotD100 target is taken through the training pairs' RotD100 / RotD50.
  np.testing.assert_allclose(gen.rotd_factor(100.0) * np.asarray(gen.conditions["rotd100_over_rotd50"]), 1.0, rtol=1e-6)
  with pytest.raises(ValueError, match="sample_pairs"):
    gen.generate(target, num=1)
  out = suites.generate_suite(str(wd), target, num=3, seed=0, out_dir=str(wd / "gen"), formats=("csv",),
                              rule="auto")
  assert out["generation"].accel_ms2.shape == (3, 2, 3000)
  assert out["summary"]["missed_tol"] == 0 and out["check"].components == 2  # Matched to 110% of the RotD100.


def test_a_pair_model_is_evaluated_against_real_pairs(pair_workdir):
  from cvaegan_jax import evaluate
  cfg, wd, _ = pair_workdir
  cfg.evaluate.splits = ("test",)
  cfg.evaluate.max_examples = 3
  cfg.evaluate.samples_per_target = 2
  report = evaluate.evaluate_model(cfg, str(wd))
  entry = report["splits"]["test"]
  assert entry["pair_spectrum"] == "RotD50" and entry["refine_waveform"]["paper_criterion_share"] == 1.0
  assert entry["refine_best"]["num"] == entry["refine_none"]["num"] == 6 and report["candidates"] == 8
  assert entry["realism"]["refine_none"]["d5_95_s"]["median_real"] > 0
  assert entry["pairs"]["num_real"] == 3 and "abs_component_correlation" in entry["pairs"]
  assert (wd / "evaluation" / "pairs.png").exists()
