"""Training end to end on a tiny config: learning, checkpoints, resume, devices, NaN guard."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from cvaegan_jax import checkpoints, conditioning, input_pipeline, train
from configs import base


def tiny_config(data_dir):
  cfg = base.get_config()
  cfg.data.data_dir = str(data_dir)
  cfg.data.num_events = 8
  cfg.model.latent_dim = 8
  cfg.model.encoder_features = (4, 8, 8)
  cfg.model.decoder_base_features = 8
  cfg.model.decoder_features = (8, 8, 4)
  cfg.model.critic_features = (4, 4, 8, 8)
  cfg.training.batch_size = 8
  cfg.training.num_steps = 30
  cfg.training.log_every = 5
  cfg.training.eval_every = 30
  cfg.training.eval_examples = 16
  cfg.training.figure_every = 30
  cfg.training.checkpoint_every = 10
  cfg.training.ema_decay = 0.9
  cfg.optimizer.gen_lr = 1e-3
  cfg.optimizer.critic_lr = 1e-3
  cfg.optimizer.b1 = 0.5
  return cfg


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  from data_prep import build
  d = tmp_path_factory.mktemp("data")
  build.build_from_config(tiny_config(d).data)
  return d


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("run")
  cfg = tiny_config(data_dir)
  state = train.train_and_evaluate(cfg, str(workdir))
  return cfg, workdir, state


def read_metrics(workdir, split="train"):
  lines = (pathlib.Path(workdir) / "metrics.jsonl").read_text().splitlines()
  return [r for r in map(json.loads, lines) if r["split"] == split]


def test_end_to_end_learns_and_writes_outputs(trained):
  cfg, workdir, state = trained
  assert int(state.step) == cfg.training.num_steps
  rows = read_metrics(workdir)
  assert [r["step"] for r in rows] == list(range(5, 31, 5))
  first, last = rows[0], rows[-1]
  # The generator's loss and the spectral terms of its prior samples fall. (Not the pointwise
  # MSE: a peak-normalised output starts at the records' own power, and random-phase records
  # leave a small latent nothing of their phases to reconstruct.)
  assert last["generator_loss"] < 0.8 * first["generator_loss"]
  assert last["criterion_prior"] < 0.8 * first["criterion_prior"]
  assert last["spectral_prior"] < first["spectral_prior"]
  for key in ("steps_per_s", "examples_per_s", "eta_s", "gen_grad_norm", "critic_grad_norm", "gen_param_norm"):
    assert key in rows[-1]
  val = read_metrics(workdir, "validation")
  assert val and 0.0 <= val[-1]["paper_criterion_share"] <= 1.0
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir() if p.name.isdigit()) == ["10", "20", "30"]
  assert (workdir / "samples/step_0000030.png").stat().st_size > 20_000
  assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert json.loads((workdir / "config.json").read_text())["binding"]["data.num_periods"] == 100


def test_resume_continues_bit_for_bit(trained, data_dir, tmp_path):
  cfg, _, full = trained
  half = tiny_config(data_dir)
  half.training.num_steps = 20
  train.train_and_evaluate(half, str(tmp_path))  # "killed" after step 20 (checkpoint at 20)
  resumed = train.train_and_evaluate(tiny_config(data_dir), str(tmp_path))
  assert int(resumed.step) == 30
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_of_another_config_is_refused(trained):
  cfg, workdir, _ = trained
  other = tiny_config(cfg.data.data_dir)
  other.model.latent_dim = 16
  with pytest.raises(checkpoints.ConfigMismatchError, match="model"):
    train.train_and_evaluate(other, str(workdir))


def test_workdir_without_later_model_fields_resumes_with_them_off(tmp_path):
  # A workdir written before the later model fields (checkpoints.ADDED_MODEL_FIELDS) existed.
  cfg = tiny_config(tmp_path / "data")
  old = tiny_config(tmp_path / "data")
  for k in checkpoints.ADDED_MODEL_FIELDS:
    del old.model[k]
  checkpoints.check_config(str(tmp_path / "run"), old)
  cfg.model.update(checkpoints.ADDED_MODEL_FIELDS)
  checkpoints.check_config(str(tmp_path / "run"), cfg)  # Accepted: the options were off.
  cfg.model.decoder_zero_mean = True
  with pytest.raises(checkpoints.ConfigMismatchError, match="model"):
    checkpoints.check_config(str(tmp_path / "run"), cfg)
  # And such a workdir's config builds the same decoder as the options off.
  generator = train.build_models(checkpoints.load_config(str(tmp_path / "run")).model, 3000)[0]
  assert generator.decoder.envelope is False and generator.decoder.zero_mean is False
  assert generator.decoder.peak_normalize is False and generator.decoder.film is False
  assert generator.encoder.time_bins == 0
  # Generation builds its steps from the saved config, which may lack later training and
  # optimizer fields too.
  del old.training.decorrelation_weight, old.optimizer.schedule
  checkpoints.check_config(str(tmp_path / "older"), old)
  static = train.make_static(checkpoints.load_config(str(tmp_path / "older")))
  assert static.lr_scale is None


def _setup(cfg, num_devices):
  from data_prep import build
  static = train.make_static(cfg)
  source = build.build_from_config(cfg.data).as_data_source()["train"]
  stats = train.read_condition_stats(source)
  mesh = train.make_mesh(num_devices)
  sharded = NamedSharding(mesh, P("data"))
  transform = lambda b: conditioning.features(b, cfg.model, stats)
  loader = input_pipeline.BatchLoader(source, cfg.training.batch_size, 0, transform, sharding=sharded)
  state = jax.device_put(train.init_state(static, stats, 0), NamedSharding(mesh, P()))
  return static, mesh, loader, state


def test_four_devices_match_one_device(data_dir):
  assert jax.device_count() == 4, "tests/conftest.py forces 4 CPU devices"
  cfg = tiny_config(data_dir)
  runs = []
  for n in (1, 4):
    static, mesh, loader, state = _setup(cfg, n)
    p_train, _ = train.compile_steps(static, mesh)
    history = []
    for step in range(3):
      state, m = p_train(state, loader.batch(step))
      history.append(jax.device_get(m))
    runs.append((history, jax.device_get(state)))
    assert p_train._cache_size() == 1  # one compile for every step of a shape
  (h1, s1), (h4, s4) = runs
  for m1, m4 in zip(h1, h4):
    for k in m1:
      np.testing.assert_allclose(m4[k], m1[k], rtol=2e-3, atol=1e-5, err_msg=k)
  # Parameters are compared through what they compute: a convolution bias right before
  # BatchNorm has a zero gradient up to rounding, which Adam turns into +-lr steps.
  static, mesh, loader, _ = _setup(cfg, 1)
  batch = jax.device_get(loader.batch(5))
  outs = [train.eval_step(jax.device_get(s), batch, static) for s in (s1, s4)]
  for k in outs[0]:
    # Three Adam steps amplify float-rounding noise in those biases to ~1e-3 relative.
    np.testing.assert_allclose(outs[1][k], outs[0][k], rtol=5e-3, atol=1e-5, err_msg=k)


def test_cosine_schedule_follows_its_formula_and_refuses_bad_settings():
  opt = base.get_config().optimizer
  assert train.learning_rate_scale(opt, 1000) is None  # "constant": Adam as configured.
  opt.update(schedule="cosine", warmup_steps=100, final_lr_fraction=0.2)
  f = train.learning_rate_scale(opt, 1000)
  for step in (0, 50, 100, 400, 1000, 1500):
    t = min(max(step - 100, 0) / 900, 1.0)
    want = step / 100 if step < 100 else 0.2 + 0.8 * 0.5 * (1 + np.cos(np.pi * t))
    assert float(f(jnp.int32(step))) == pytest.approx(want, abs=1e-6), step
  for field, value, match in (("schedule", "linear", "schedule"), ("final_lr_fraction", 1.5, "final_lr_fraction"),
                              ("warmup_steps", 1000, "warmup_steps")):
    bad = base.get_config().optimizer
    bad.update({"schedule": "cosine", field: value})
    with pytest.raises(ValueError, match=match):
      train.learning_rate_scale(bad, 1000)


def test_schedule_scales_the_updates_and_keeps_the_state_resumable(data_dir):
  cfg = tiny_config(data_dir)
  cfg.training.n_critic = 1
  static, mesh, loader, state0 = _setup(cfg, 1)
  cfg.optimizer.update(schedule="cosine", warmup_steps=10, final_lr_fraction=0.1)
  cos_static, _, _, cos_state = _setup(cfg, 1)
  # Same state layout: a constant-rate workdir resumes with a schedule and back.
  assert jax.tree.structure(cos_state) == jax.tree.structure(state0)
  batch = loader.batch(0)
  run = lambda st, s, step: train.compile_steps(st, mesh)[0](jax.tree.map(jnp.copy, s.replace(step=jnp.int32(step))), batch)[0]
  # Warm-up starts at a zero rate: the first step moves neither network.
  first = run(cos_static, state0, 0)
  for a, b in zip(jax.tree.leaves((state0.gen_params, state0.critic_params)),
                  jax.tree.leaves((first.gen_params, first.critic_params))):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # Mid-decay the critic's (first) Adam update is the constant one times the multiplier.
  f = float(cos_static.lr_scale(jnp.int32(400)))
  const, cos = run(static, state0, 400), run(cos_static, state0, 400)
  for p0, pc, ps in zip(*(jax.tree.leaves(s.critic_params) for s in (state0, const, cos))):
    np.testing.assert_allclose(np.asarray(ps - p0), f * np.asarray(pc - p0), rtol=1e-4, atol=5e-8)  # float32 p - p0


# Every generator loss weight at 0: a test that trains one term alone updates with this first.
_ONLY = dict(rec_weight=0.0, kl_weight=0.0, adv_weight=0.0, spec_weight=0.0, criterion_weight=0.0,
             decorrelation_weight=0.0, husid_weight=0.0, envelope_weight=0.0, duration_weight=0.0)


def _train_on_one_batch(cfg, steps: int) -> list[dict]:
  """Train ``cfg`` for ``steps`` steps on its first batch (lr 3e-3); the metrics of each step."""
  cfg.optimizer.gen_lr = 3e-3
  static, mesh, loader, state = _setup(cfg, 1)
  p_train, _ = train.compile_steps(static, mesh)
  batch = loader.batch(0)
  history = []
  for _ in range(steps):
    state, m = p_train(state, batch)
    history.append(jax.device_get(m))
  return history


def test_husid_term_and_envelope_decoder_learn_when_the_energy_arrives(data_dir):
  # The optional Husid loss (training.husid_weight) with the envelope decoder
  # (model.decoder_envelope): trained on that term alone, both reconstructions and prior
  # samples move their energy to where the real records have it.
  cfg = tiny_config(data_dir)
  cfg.model.decoder_envelope = True
  cfg.training.update(_ONLY, husid_weight=1.0, husid_on_prior=True)
  history = _train_on_one_batch(cfg, 25)
  for term in ("husid_rec", "husid_prior"):
    assert history[-1][term] < 0.5 * history[0][term], (term, history[0][term], history[-1][term])


@pytest.mark.parametrize("term, steps", [("envelope", 20), ("duration", 25)])
def test_batch_timing_terms_move_the_generated_batch_to_the_real_one(data_dir, term, steps):
  # Trained on one population term alone, the generated batch approaches the real batch:
  # training.envelope_weight its power over time (quiet before the P onset),
  # training.duration_weight the distributions of its Husid times, durations and peak times.
  cfg = tiny_config(data_dir)
  cfg.training.update(_ONLY, **{f"{term}_weight": 1.0})
  history = [float(m[term]) for m in _train_on_one_batch(cfg, steps)]
  assert history[-1] < 0.5 * history[0], history


def test_decorrelation_term_makes_prior_samples_of_one_condition_differ(data_dir):
  # Trained on that term alone, two prior samples of each condition decorrelate; the term
  # compares two distinct draws from the start (not one sample with itself).
  cfg = tiny_config(data_dir)
  cfg.training.update(_ONLY, decorrelation_weight=1.0)
  cfg.training.ema_decay = 0.0  # Validation sees the trained weights.
  static, mesh, loader, state = _setup(cfg, 1)
  p_train, p_eval = train.compile_steps(static, mesh)
  batch = loader.batch(0)
  sample_corr2 = lambda: float(np.mean(np.asarray(p_eval(state, batch)["sample_corr"]) ** 2))
  before = sample_corr2()
  history = []
  for _ in range(15):
    state, m = p_train(state, batch)
    history.append(float(m["decorrelation"]))
  assert history[0] < 0.99 and history[-1] < 0.5 * history[0], history
  assert sample_corr2() < 0.7 * before, (before, sample_corr2())  # In inference mode too.
  cfg.training.update(adv_on_prior=False, spec_on_prior=False)
  with pytest.raises(ValueError, match="decorrelation_weight"):
    train.make_static(cfg)


def test_amplitude_augmentation_is_the_batch_of_the_scaled_records(data_dir):
  # train.scale_amplitudes(features(records), k) must equal features(k * records) with the
  # scaled records' spectra computed afresh: the oscillators are linear.
  from cvaegan_jax import spectra
  from data_prep import build
  cfg = tiny_config(data_dir)
  static, _, _, state = _setup(cfg, 1)
  stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
  source = build.build_from_config(cfg.data).as_data_source()["train"]
  accel = np.stack([np.asarray(source[i]["waveform"], np.float32) for i in range(4)])
  psa = lambda a: np.asarray(spectra.response_spectrum(a, static.dt, static.periods, cfg.data.damping))
  k = np.array([0.2, 0.7, 1.0, 4.0], np.float32)
  want = conditioning.features({"waveform": k[:, None] * accel, "spectrum": psa(k[:, None] * accel)}, cfg.model, stats)
  got = train.scale_amplitudes(conditioning.features({"waveform": accel, "spectrum": psa(accel)}, cfg.model, stats),
                               jnp.asarray(k), static, state)
  for name in ("x", "c", "log_psa", "scale", "psa"):
    np.testing.assert_allclose(np.asarray(got[name]), want[name], rtol=2e-4, atol=2e-4, err_msg=name)


def test_criterion_transform_in_the_train_step(data_dir):
  # The default is log1p, which a saved config without the field also gets; "linear" gives
  # the batch mean of the scores themselves, whose log1p bounds log1p's batch mean:
  # mean(log1p(s)) <= log1p(mean(s)) (Jensen). An unknown name is refused before compiling.
  cfg = tiny_config(data_dir)
  cfg.training.n_critic = 1
  metrics = {}
  for transform in ("log1p", "linear", None):
    if transform is None:
      del cfg.training["criterion_transform"]
    else:
      cfg.training.criterion_transform = transform
    static, mesh, loader, state = _setup(cfg, 1)
    metrics[transform] = jax.device_get(train.compile_steps(static, mesh)[0](state, loader.batch(0))[1])
  for name in metrics["log1p"]:
    np.testing.assert_array_equal(metrics[None][name], metrics["log1p"][name], err_msg=name)
  for name in ("criterion_rec", "criterion_prior"):
    assert metrics["log1p"][name] <= np.log1p(metrics["linear"][name]) + 1e-6
    assert metrics["linear"][name] > metrics["log1p"][name]
  cfg.training.criterion_transform = "square"
  with pytest.raises(ValueError, match="criterion_transform"):
    train.make_static(cfg)


def test_amplitude_augmentation_in_the_train_step(data_dir):
  # Factor range 1 is no augmentation (bit for bit); a wider one changes the absolute-level
  # terms (criterion) of the same batch; a range below 1 is refused.
  cfg = tiny_config(data_dir)
  cfg.training.n_critic = 1
  metrics = {}
  for augment in (0.0, 1.0, 4.0):
    cfg.training.amplitude_augment = augment
    static, mesh, loader, state = _setup(cfg, 1)
    metrics[augment] = jax.device_get(train.compile_steps(static, mesh)[0](state, loader.batch(0))[1])
  for name in metrics[0.0]:
    np.testing.assert_array_equal(metrics[1.0][name], metrics[0.0][name], err_msg=name)
  assert metrics[4.0]["criterion_prior"] != metrics[0.0]["criterion_prior"]
  cfg.training.amplitude_augment = 0.5
  with pytest.raises(ValueError, match="amplitude_augment"):
    train.make_static(cfg)


def test_validation_on_four_devices_matches_one_device_and_the_criterion(data_dir):
  from data_prep import build
  cfg = tiny_config(data_dir)
  val = build.build_from_config(cfg.data).as_data_source()["test"]  # 10 records: 8 + 2 padded to 8.
  results = []
  for n in (1, 4):
    static, mesh, _, state = _setup(cfg, n)
    stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
    transform = lambda b: conditioning.features(b, cfg.model, stats)
    _, p_eval = train.compile_steps(static, mesh)
    results.append(train.evaluate_split(p_eval, state, val, 8, 16, transform, NamedSharding(mesh, P("data"))))
  one, four = results
  assert one["num_examples"] == four["num_examples"] == len(val) == 10  # Padding rows dropped.
  for k in one:
    np.testing.assert_allclose(four[k], one[k], rtol=1e-4, atol=1e-6, err_msg=k)
  # The share is the paper's criterion applied to eval_step's per-example R^2 and RMSE.
  static, _, _, state = _setup(cfg, 1)
  batches = list(train._eval_batches(val, 8, 16, transform))
  assert [n for _, n in batches] == [8, 2]
  per = [(train.eval_step(jax.device_get(state), b, static), n) for b, n in batches]
  r2 = np.concatenate([np.asarray(p["r2_prior"])[:n] for p, n in per])
  rmse = np.concatenate([np.asarray(p["rmse_prior"])[:n] for p, n in per])
  assert one["paper_criterion_share"] == pytest.approx(np.mean((r2 > 0.8) & (rmse < 0.1)))
  # The peak-normalised reading: the same RMSE over each target's largest ordinate.
  peak = np.concatenate([np.asarray(b["psa"])[:n].max(axis=1) for b, n in batches])
  rmse_norm = np.concatenate([np.asarray(p["rmse_norm_prior"])[:n] for p, n in per])
  np.testing.assert_allclose(rmse_norm, rmse / peak, rtol=1e-5)
  assert one["criterion_share_peak_norm"] == pytest.approx(np.mean((r2 > 0.8) & (rmse / peak < 0.1)))
  assert one["r2_prior_median"] == pytest.approx(np.median(r2), rel=1e-5)
  corr = np.concatenate([np.asarray(p["sample_corr"])[:n] for p, n in per])
  assert np.all(np.abs(corr) <= 1.0 + 1e-6) and one["sample_corr"] == pytest.approx(np.mean(corr), rel=1e-5)
  # Timing: the real records' D5-95 and peak time as ground_motion measures them (within two
  # samples), and the KS statistic of the prior samples' against them.
  from cvaegan_jax import ground_motion
  x_real = np.concatenate([np.asarray(b["x"])[:n, :, 0] for b, n in batches])
  d595 = np.concatenate([np.asarray(p["d5_95_real"])[:n] for p, n in per])
  np.testing.assert_allclose(d595, ground_motion.d5_95(x_real, static.dt), atol=0.02)
  np.testing.assert_allclose(np.concatenate([np.asarray(p["t_peak_real"])[:n] for p, n in per]),
                             ground_motion.pga_time(x_real, static.dt), atol=1e-5)
  assert one["d5_95_real_median"] == pytest.approx(np.median(d595), rel=1e-5)
  d595_prior = np.concatenate([np.asarray(p["d5_95_prior"])[:n] for p, n in per])
  assert one["d5_95_ks"] == pytest.approx(scipy.stats.ks_2samp(d595_prior, d595).statistic)


def test_nan_guard_names_step_and_term(data_dir):
  cfg = tiny_config(data_dir)
  static, mesh, loader, state = _setup(cfg, 4)
  p_train, _ = train.compile_steps(static, mesh)
  batch = loader.batch(0)
  poisoned = dict(batch, x=batch["x"].at[0, 5, 0].set(jnp.nan))
  _, m = p_train(state, poisoned)
  with pytest.raises(train.NonFiniteError, match=r"step 7 in .*reconstruction"):
    train.check_finite(jax.device_get(m), 7)


def test_nan_in_the_loop_keeps_the_last_good_checkpoint(data_dir, tmp_path, monkeypatch):
  cfg = tiny_config(data_dir)
  cfg.training.num_steps = 12
  cfg.training.checkpoint_every = 4
  real_batch = input_pipeline.BatchLoader.batch

  def poisoned(self, step):
    b = real_batch(self, step)
    return dict(b, x=b["x"] * jnp.nan) if step == 8 else b

  monkeypatch.setattr(input_pipeline.BatchLoader, "batch", poisoned)
  # The step right after a checkpoint fails while that checkpoint's asynchronous save may
  # still be in flight; the error must not abandon it (a CI run lost step 8 this way).
  managers = []
  real_make_manager = checkpoints.make_manager

  def recording_manager(*args, **kwargs):
    managers.append(real_make_manager(*args, **kwargs))
    return managers[-1]

  monkeypatch.setattr(checkpoints, "make_manager", recording_manager)
  with pytest.raises(train.NonFiniteError, match="step 8"):
    train.train_and_evaluate(cfg, str(tmp_path))
  assert not managers[0].is_saving_in_progress()
  manager = real_make_manager(str(tmp_path), 3, async_save=False)
  assert manager.latest_step() == 8
  static = train.make_static(cfg)
  like = train.init_state(static, {"mean": np.zeros(100, np.float32), "std": np.ones(100, np.float32)}, 0)
  like = jax.device_put(like, NamedSharding(train.make_mesh(), P()))
  restored = checkpoints.restore_latest(manager, like)
  assert int(restored.step) == 8
  assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(restored.gen_params))
