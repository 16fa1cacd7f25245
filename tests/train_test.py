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

from cvaegan_jax import checkpoints, conditioning, input_pipeline, intensity, spectra, train, train_state
from configs import tiny


def tiny_config(data_dir):
  """configs/tiny.py with its data set in ``data_dir``."""
  cfg = tiny.get_config()
  cfg.data.data_dir = str(data_dir)
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
  # The generator's loss, the spectral terms of its prior samples, their timing against the
  # condition and the reconstructions' STFT loss fall (30 steps of the tiny model: by 20%,
  # 26%, 17%, 20% and 14% when written; with the S-onset term since 2026-12-05, the loss by
  # 15% and the criterion term by 6%).
  assert last["generator_loss"] < 0.9 * first["generator_loss"]
  assert last["spectral_prior"] < 0.85 * first["spectral_prior"]
  assert last["criterion_prior"] < 0.97 * first["criterion_prior"]
  assert last["timing_prior"] < 0.9 * first["timing_prior"]
  assert last["stft"] < 0.95 * first["stft"]
  for key in ("steps_per_s", "examples_per_s", "eta_s", "gen_grad_norm", "critic_grad_norm", "gen_param_norm"):
    assert key in rows[-1]
  val = read_metrics(workdir, "validation")
  assert val and 0.0 <= val[-1]["paper_criterion_share"] <= 1.0
  # The validation rows carry the realism of the timing: medians and KS of four measures.
  for name in ("t5", "d5_75", "d5_95", "t_peak"):
    assert val[-1][f"{name}_prior_median"] >= 0.0 and 0.0 <= val[-1][f"{name}_ks"] <= 1.0
  assert 0.0 < val[-1]["t_peak_max_bin_share_prior"] <= 1.0 and 0.0 < val[-1]["t_peak_max_bin_share_real"] <= 1.0
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir() if p.name.isdigit()) == ["10", "20", "30"]
  assert (workdir / "samples/step_0000030.png").stat().st_size > 20_000
  assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert json.loads((workdir / "config.json").read_text())["binding"]["data.num_periods"] == 100


def test_resume_continues_bit_for_bit(trained, data_dir, tmp_path):
  cfg, _, full = trained
  half = tiny_config(data_dir)
  half.training.num_steps = 20
  train.train_and_evaluate(half, str(tmp_path))  # "killed" after step 20 (checkpoint at 20)
  # As if the killed run had logged step 25 before dying: that row is logged again on resume.
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write(json.dumps({"step": 25, "split": "train", "generator_loss": 1.0}) + "\n")
  resumed = train.train_and_evaluate(tiny_config(data_dir), str(tmp_path))
  assert int(resumed.step) == 30
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  steps = [r["step"] for r in read_metrics(tmp_path)]
  assert steps == list(range(5, 31, 5)), steps  # Monotonic: no step twice.


def test_checkpoint_of_another_config_is_refused(trained):
  cfg, workdir, _ = trained
  other = tiny_config(cfg.data.data_dir)
  other.model.latent_dim = 16
  # The message names the field and both values (it once printed two whole model dicts).
  with pytest.raises(checkpoints.ConfigMismatchError, match=r"model\.latent_dim is 8 there, 16 here"):
    train.train_and_evaluate(other, str(workdir))


def _setup(cfg, num_devices):
  from data_prep import build
  static = train_state.make_static(cfg)
  source = build.build_from_config(cfg.data).as_data_source()["train"]
  stats = train.read_condition_stats(source, names=tuple(cfg.model.timing_conditions), dt=static.dt)
  mesh = train.make_mesh(num_devices)
  sharded = NamedSharding(mesh, P("data"))
  transform = lambda b: conditioning.features(b, cfg.model, stats, static.dt)
  loader = input_pipeline.BatchLoader(source, cfg.training.batch_size, 0, transform, sharding=sharded)
  state = jax.device_put(train_state.create(static, stats, 0), NamedSharding(mesh, P()))
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
  # Gradient norms sum ~1e5 squared terms in another order on four devices: within 1%
  # (gen_grad_norm at step 1 differed by 0.5%, while every loss and the next step agreed).
  # Update norms too: Adam turns the rounding-level gradients of the biases before
  # BatchNorm (below) into +-lr steps (gen_update_norm at step 2 differed by 0.4% with
  # jax 0.10.2, every loss agreeing). The losses of steps 0 and 1 agree to 1e-5; by step 2
  # those +-lr steps have spread to the kernels of tiny gradients (hundreds of entries a
  # layer differing by ~lr), and the worst loss, the KL term, differed by 9.5e-4 with the
  # strided convolutions' weight gradient in the folded form, 3.1e-3 in XLA's strided form.
  rtol = lambda i, k: 1e-2 if k.endswith(("grad_norm", "update_norm")) else 1e-4 if i < 2 else 5e-3
  off = [(i, k, float(m1[k]), float(m4[k])) for i, (m1, m4) in enumerate(zip(h1, h4)) for k in m1
         if not np.allclose(m4[k], m1[k], rtol=rtol(i, k), atol=1e-5)]
  assert not off, off
  # Parameters are compared through what they compute: a convolution bias right before
  # BatchNorm has a zero gradient up to rounding, which Adam turns into +-lr steps.
  static, mesh, loader, _ = _setup(cfg, 1)
  batch = jax.device_get(loader.batch(5))
  outs = [train.eval_step(jax.device_get(s), batch, static) for s in (s1, s4)]
  for k in outs[0]:
    # Three Adam steps amplify float-rounding noise in those biases to ~1e-3 relative; the
    # timing statistics are sample times (s), so that noise may move one by a sample.
    # A correlation near 0 (two samples of one target) carries that noise as an absolute
    # error: 1e-4 on 0.002 is 4%.
    atol = static.dt * 1.01 if k.split("_")[0] in ("t5", "d5", "t") else 1e-3 if k == "sample_corr" else 1e-5
    np.testing.assert_allclose(outs[1][k], outs[0][k], rtol=5e-3, atol=atol, err_msg=k)


# Every generator loss weight at 0: a test that trains one term alone updates with this first.
_ONLY = dict(rec_weight=0.0, kl_weight=0.0, adv_weight=0.0, spec_weight=0.0, criterion_weight=0.0,
             decorrelation_weight=0.0, stft_weight=0.0, envelope_weight=0.0, timing_weight=0.0,
             feature_matching_weight=0.0, onset_weight=0.0)


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


def _term_alone_halves(data_dir, weight: str, terms: tuple[str, ...], steps: int = 25):
  """Trains the tiny config on ``training.<weight>`` alone (1.0) for ``steps`` steps on one
  batch and checks that each metric of ``terms`` falls below half its first value; the config."""
  cfg = tiny_config(data_dir)
  cfg.training.update(_ONLY, **{weight: 1.0})
  history = _train_on_one_batch(cfg, steps)
  for term in terms:
    assert history[-1][term] < 0.5 * history[0][term], [float(m[term]) for m in history]
  return cfg


def test_timing_term_moves_generated_records_to_their_timing_conditions(data_dir):
  # Trained on training.timing_weight alone, the t5, D5-75 and D5-95 of reconstructions and
  # prior samples approach those in their conditions (the records' own).
  cfg = _term_alone_halves(data_dir, "timing_weight", ("timing_prior", "timing_rec"))
  cfg.model.timing_conditions = ()
  with pytest.raises(ValueError, match="timing_weight"):
    train_state.make_static(cfg)


def test_onset_term_moves_generated_s_onsets_to_the_records_jumps(data_dir):
  # Trained on training.onset_weight alone, the S-onset jumps of reconstructions and prior
  # samples approach their records' (losses.onset_misfit falls).
  _term_alone_halves(data_dir, "onset_weight", ("onset_prior", "onset_rec"))


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
    train_state.make_static(cfg)


def test_amplitude_augmentation_is_the_batch_of_the_scaled_records(data_dir):
  # train.scale_amplitudes(features(records), k) must equal features(k * records) with the
  # scaled records' spectra computed afresh: the oscillators are linear.
  from data_prep import build
  cfg = tiny_config(data_dir)
  static, _, _, state = _setup(cfg, 1)
  stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
  source = build.build_from_config(cfg.data).as_data_source()["train"]
  accel = np.stack([np.asarray(source[i]["waveform"], np.float32) for i in range(4)])
  psa = lambda a: np.asarray(spectra.response_spectrum(a, static.dt, static.periods, cfg.data.damping))
  k = np.array([0.2, 0.7, 1.0, 4.0], np.float32)
  want = conditioning.features({"waveform": k[:, None] * accel, "spectrum": psa(k[:, None] * accel)}, cfg.model, stats,
                                static.dt)
  got = train.scale_amplitudes(conditioning.features({"waveform": accel, "spectrum": psa(accel)}, cfg.model, stats,
                                                     static.dt),
                               jnp.asarray(k), static, state)
  for name in ("x", "c", "log_psa", "scale", "psa", "timing"):
    np.testing.assert_allclose(np.asarray(got[name]), want[name], rtol=2e-4, atol=2e-4, err_msg=name)


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
    train_state.make_static(cfg)


def test_validation_on_four_devices_matches_one_device_and_the_criterion(data_dir):
  from data_prep import build
  cfg = tiny_config(data_dir)
  val = build.build_from_config(cfg.data).as_data_source()["test"]  # 11 records: 8 + 3 padded to 8.
  assert len(val) % 8, "the split must not fill whole batches: the last one is padded"
  results = []
  for n in (1, 4):
    static, mesh, _, state = _setup(cfg, n)
    stats = {"mean": np.asarray(state.cond_mean), "std": np.asarray(state.cond_std)}
    transform = lambda b: conditioning.features(b, cfg.model, stats, static.dt)
    _, p_eval = train.compile_steps(static, mesh)
    results.append(train.evaluate_split(p_eval, state, val, 8, 16, transform, NamedSharding(mesh, P("data"))))
  one, four = results
  assert one["num_examples"] == four["num_examples"] == len(val)  # Padding rows dropped.
  for k in one:
    np.testing.assert_allclose(four[k], one[k], rtol=1e-4, atol=1e-6, err_msg=k)
  # The share is the paper's criterion applied to eval_step's per-example R^2 and RMSE.
  static, _, _, state = _setup(cfg, 1)
  batches = list(train._eval_batches(val, 8, 16, transform))
  assert [n for _, n in batches] == [8, len(val) - 8]
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
  # Timing: the real records' D5-95 and peak time as intensity measures them (within two
  # samples), and the KS statistic of the prior samples' against them.
  x_real = np.concatenate([np.asarray(b["x"])[:n, :, 0] for b, n in batches])
  d595 = np.concatenate([np.asarray(p["d5_95_real"])[:n] for p, n in per])
  np.testing.assert_allclose(d595, intensity.d5_95(x_real, static.dt), atol=0.02)
  np.testing.assert_allclose(np.concatenate([np.asarray(p["t_peak_real"])[:n] for p, n in per]),
                             intensity.pga_time(x_real, static.dt), atol=1e-5)
  assert one["d5_95_real_median"] == pytest.approx(np.median(d595), rel=1e-5)
  d595_prior = np.concatenate([np.asarray(p["d5_95_prior"])[:n] for p, n in per])
  assert one["d5_95_ks"] == pytest.approx(scipy.stats.ks_2samp(d595_prior, d595).statistic)
  # t5 and D5-75 the same way: the step counts whole samples on a float32 Husid curve, intensity
  # interpolates a float64 one (a flat curve near a level moves its crossing), so each crossing
  # agrees within three samples and D5-75, a difference of two, within five; and the peak
  # times' largest 0.1 s bin.
  values = {k: np.concatenate([np.asarray(p[k])[:n] for p, n in per])
            for k in ("t5_real", "t5_prior", "d5_75_real", "d5_75_prior", "t_peak_prior", "t_peak_real")}
  np.testing.assert_allclose(values["t5_real"], intensity.t5(x_real, static.dt), atol=0.03)
  np.testing.assert_allclose(values["d5_75_real"], intensity.d5_75(x_real, static.dt), atol=0.05)
  for name in ("t5", "d5_75"):
    assert one[f"{name}_real_median"] == pytest.approx(np.median(values[f"{name}_real"]), rel=1e-5)
    assert one[f"{name}_ks"] == pytest.approx(
        scipy.stats.ks_2samp(values[f"{name}_prior"], values[f"{name}_real"]).statistic)
  for who in ("prior", "real"):
    bins = np.floor(values[f"t_peak_{who}"] / 0.1 + 1e-4).astype(int)
    assert one[f"t_peak_max_bin_share_{who}"] == pytest.approx(np.bincount(bins).max() / len(val))


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
  static = train_state.make_static(cfg)
  like = train_state.create(static, {"mean": np.zeros(103, np.float32), "std": np.ones(103, np.float32)}, 0)
  like = jax.device_put(like, NamedSharding(train.make_mesh(), P()))
  restored = checkpoints.restore_latest(manager, like)
  assert int(restored.step) == 8
  assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(restored.gen_params))
