"""Metrics and figures.

Response spectra of real records (mode "spectra"), figures of training samples and
generated suites, and the evaluation of a trained model in the paper's terms (mode
"evaluate": :func:`evaluate_model`).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence

import numpy as np

from cvaegan_jax import ground_motion, spectra

__all__ = ["find_record_files", "record_spectra_report", "plot_record_spectra", "plot_training_samples",
           "plot_suite", "sample_correlation", "component_pairs", "component_pair_reference", "evaluate_model"]

_KNET_SUFFIXES = (".EW", ".NS", ".UD", ".EW1", ".NS1", ".UD1", ".EW2", ".NS2", ".UD2")


def _pyplot():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def find_record_files(root: str) -> list[str]:
  """All K-NET/KiK-net component files below ``root``, sorted.

  Raises:
    FileNotFoundError: ``root`` is not a directory.
    ValueError: no K-NET/KiK-net file below it.
  """
  if not os.path.isdir(root):
    raise FileNotFoundError(f"records_dir {root!r} is not a directory")
  found = []
  for dirpath, _, names in os.walk(root):
    found += [os.path.join(dirpath, n) for n in names if n.upper().endswith(_KNET_SUFFIXES)]
  if not found:
    raise ValueError(f"records_dir {root!r} holds no K-NET/KiK-net files ({', '.join(_KNET_SUFFIXES)})")
  return sorted(found)


def record_spectra_report(config, workdir: str) -> dict:
  """Response spectra of the real records in ``config.data.records_dir``.

  Reads every file, keeps the configured components and sensors, removes each
  record's mean, computes PSA (m/s^2) at the ``config.data`` periods and damping, and writes
  ``spectra.csv`` (one row per record) and ``spectra.png`` into ``workdir``.
  Unreadable files are skipped, counted and logged.

  Returns:
    dict with ``periods_s [P]``, ``psa_ms2 [N, P]``, ``records`` (list of Record),
    ``skipped`` (list of (path, reason)), the written paths, and ``component_pairs``: the
    paper's criterion on each record's other horizontal component of the same station
    (:func:`component_pair_reference`; None when no station has two).
  """
  from tqdm import tqdm
  from data_prep import knet

  os.makedirs(workdir, exist_ok=True)
  periods = spectra.log_periods(config.data.t_min_s, config.data.t_max_s, config.data.num_periods)
  records, skipped = [], []
  for path in tqdm(find_record_files(config.data.records_dir), desc="reading records", unit="file"):
    try:
      rec = knet.read_knet_file(path)
    except (knet.KnetFormatError, OSError) as e:
      skipped.append((path, str(e)))
      continue
    if rec.component in config.data.components and (config.data.keep_borehole or not rec.borehole):
      records.append(rec)
  if skipped:
    logging.warning("skipped %d unreadable files: %s", len(skipped), skipped)
  if not records:
    raise ValueError(f"no usable records in {config.data.records_dir!r} for components {config.data.components}")

  psa = []
  # Records differ in length and rate: group by shape so each group compiles once.
  groups: dict = {}
  for i, rec in enumerate(records):
    groups.setdefault((rec.accel_ms2.size, rec.dt), []).append(i)
  psa = np.zeros((len(records), periods.size))
  for (_, dt), idx in tqdm(groups.items(), desc="response spectra", unit="group"):
    batch = np.stack([records[i].accel_ms2 - records[i].accel_ms2.mean() for i in idx]).astype(np.float32)
    psa[idx] = np.asarray(spectra.response_spectrum(batch, dt, periods, config.data.damping))

  csv_path = os.path.join(workdir, "spectra.csv")
  with open(csv_path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["file", "event_id", "station", "component", "network", "magnitude", "dist_km", "pga_ms2"]
               + [f"psa_ms2_T{t:.4g}s" for t in periods])
    for rec, row in zip(records, psa):
      w.writerow([os.path.basename(rec.path), rec.event_id, rec.station, rec.component, rec.network,
                  rec.magnitude, f"{rec.dist_km:.2f}", f"{rec.pga_ms2:.6g}"] + [f"{v:.6g}" for v in row])
  fig_path = os.path.join(workdir, "spectra.png")
  plot_record_spectra(records, periods, psa, fig_path, config.data.damping)
  logging.info("wrote %s and %s (%d records, %d skipped)", csv_path, fig_path, len(records), len(skipped))
  print(f"{len(records)} records, {len(skipped)} skipped; wrote {csv_path} and {fig_path}")
  pairs = component_pair_reference(psa, [r.event_id for r in records],
                                   [_sensor_key(r.station, r.borehole) for r in records],
                                   [r.component for r in records], periods,
                                   (config.evaluate.band_min_s, config.evaluate.band_max_s))
  _print_pair_reference(pairs, "these records")
  return dict(periods_s=periods, psa_ms2=psa, records=records, skipped=skipped,
              csv_path=csv_path, figure_path=fig_path, component_pairs=pairs)


def plot_record_spectra(records: Sequence, periods: np.ndarray, psa_ms2: np.ndarray, path: str,
                        damping: float = 0.05) -> None:
  """Figure: one row per event, its largest waveform (left) and all spectra (right).

  Args:
    records: N :class:`data_prep.knet.Record`.
    periods: ``[P]`` periods in s.
    psa_ms2: ``[N, P]`` PSA in m/s^2.
    path: PNG file to write.
  """
  plt = _pyplot()
  events: dict = {}
  for i, rec in enumerate(records):
    events.setdefault(rec.event_id, []).append(i)
  fig, axes = plt.subplots(len(events), 2, figsize=(12, 3.2 * len(events)), squeeze=False,
                           gridspec_kw=dict(width_ratios=[1.4, 1]))
  for row, (eid, idx) in enumerate(events.items()):
    r0 = records[idx[0]]
    big = max(idx, key=lambda i: records[i].pga_ms2)
    rb = records[big]
    t = np.arange(rb.accel_ms2.size) * rb.dt
    axes[row, 0].plot(t, rb.accel_ms2 - rb.accel_ms2.mean(), lw=0.6, color="k")
    axes[row, 0].set(xlabel="time since record start (s)", ylabel="accel (m/s$^2$)",
                     title=f"{rb.station} {rb.component} ({rb.network}), PGA {rb.pga_ms2:.3g} m/s$^2$, "
                           f"R={rb.dist_km:.0f} km")
    for i in idx:
      axes[row, 1].loglog(periods, psa_ms2[i], lw=0.8, alpha=0.7)
    axes[row, 1].loglog(periods, np.exp(np.mean(np.log(psa_ms2[idx]), axis=0)), "k", lw=2, label="geometric mean")
    axes[row, 1].set(xlabel="period T (s)", ylabel=f"PSA, {damping:.0%} damping (m/s$^2$)",
                     title=f"M{r0.magnitude:.1f} {r0.origin_time.strftime('%Y-%m-%d')}: {len(idx)} components")
    axes[row, 1].grid(True, which="both", alpha=0.3)
    axes[row, 1].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_training_samples(static, state, source, transform, path: str, num: int = 4, seed: int = 0) -> None:
  """Figure of ``num`` validation records: real, reconstructed and prior-sampled waveforms
  (m/s^2, left) and their spectra against the target (right).

  Args:
    static: ``train.Static`` (models and config).
    state: ``train.TrainState`` (its EMA generator is used).
    source: random-access validation split.
    transform: numpy batch -> model features (``conditioning.features``).
    path: PNG path (folders created).
  """
  import jax
  import jax.numpy as jnp
  from cvaegan_jax import models

  plt = _pyplot()
  num = min(num, len(source))
  idx = np.linspace(0, len(source) - 1, num).astype(int)
  raw = [source[int(i)] for i in idx]
  b = transform({k: np.stack([r[k] for r in raw]) for k in ("waveform", "spectrum")})
  variables = {"params": jax.device_get(state.ema_params), "batch_stats": jax.device_get(state.gen_batch_stats)}
  mean, _ = static.model.apply(variables, b["x"], b["c"], method=models.CVAEGAN.encode)
  x_rec = static.model.apply(variables, mean, b["c"], method=models.CVAEGAN.generate)
  z = jax.random.normal(jax.random.PRNGKey(seed), mean.shape)
  x_gen = static.model.apply(variables, z, b["c"], method=models.CVAEGAN.generate)
  scale = b["scale"][:, None]
  waves = {"real": b["x"][..., 0] * scale, "reconstructed": np.asarray(x_rec[..., 0]) * scale,
           "generated (prior)": np.asarray(x_gen[..., 0]) * scale}
  periods = np.asarray(static.periods)
  psa = {k: np.asarray(spectra.response_spectrum(jnp.asarray(v, jnp.float32), static.dt, periods,
                                                 static.config.data.damping)) for k, v in waves.items()}
  fig, axes = plt.subplots(num, 2, figsize=(13, 2.6 * num), squeeze=False, gridspec_kw=dict(width_ratios=[1.6, 1]))
  t = np.arange(b["x"].shape[1]) * static.dt
  colors = {"real": "k", "reconstructed": "tab:blue", "generated (prior)": "tab:red"}
  for i in range(num):
    for k, v in waves.items():
      axes[i, 0].plot(t, v[i], lw=0.5, color=colors[k], alpha=0.8, label=k)
      axes[i, 1].loglog(periods, psa[k][i], color=colors[k], lw=1.2 if k == "real" else 0.9, label=k)
    axes[i, 1].loglog(periods, b["psa"][i], "k--", lw=0.8, label="target")
    m = raw[i]
    axes[i, 0].set(ylabel="m/s$^2$", title=f"M{float(m['magnitude']):.1f}, {float(m['dist_km']):.0f} km, "
                   f"{_text(m['station'])}")
    axes[i, 1].set(ylabel="PSA (m/s$^2$)")
    axes[i, 1].grid(True, which="both", alpha=0.3)
  axes[-1, 0].set_xlabel("time (s)")
  axes[-1, 1].set_xlabel("period (s)")
  axes[0, 0].legend(fontsize=7, loc="upper right")
  axes[0, 1].legend(fontsize=7, loc="lower left")
  fig.suptitle(f"step {int(state.step)}")
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=90)
  plt.close(fig)


def plot_suite(gen, path: str, title: str = "") -> None:
  """Figure of a generated suite: the waveforms (stacked), their spectra against the
  target with the suite mean, and the misfit per period.

  Args:
    gen: :class:`cvaegan_jax.generate.Generation` (``accel_ms2 [N, T]``, ``psa_ms2 [N, P]``,
      ``target_ms2 [N, P]``, ``misfit [N, P]``).
    path: PNG file to write (folders created).
    title: figure title.
  """
  plt = _pyplot()
  n, t_len = gen.accel_ms2.shape
  t = np.arange(t_len) * gen.dt
  fig, axes = plt.subplots(1, 3, figsize=(16, 5.5), gridspec_kw=dict(width_ratios=[1.5, 1, 1]))
  step = 2.2 * float(np.max(np.abs(gen.accel_ms2)))
  for i in range(n):
    axes[0].plot(t, gen.accel_ms2[i] - i * step, lw=0.4, color="k")
  axes[0].set(xlabel="time (s)", ylabel="records (offset)", yticks=[],
              title=f"{n} records, PGA {np.abs(gen.accel_ms2).max(axis=1).min():.2f}-"
                    f"{np.abs(gen.accel_ms2).max():.2f} m/s$^2$")
  p = gen.periods_s
  lo, hi = gen.band_s
  for i in range(n):
    axes[1].loglog(p, gen.psa_ms2[i], color="0.6", lw=0.6)
  axes[1].loglog(p, gen.psa_ms2.mean(axis=0), color="tab:blue", lw=2, label="suite mean")
  axes[1].loglog(p, gen.target_ms2[0], "k", lw=1.5, label="target")
  axes[1].loglog(p, 0.9 * gen.target_ms2[0], "k--", lw=0.8, label="0.9 x target")
  axes[1].axvspan(lo, hi, color="tab:green", alpha=0.07, label=f"band {lo}-{hi} s")
  axes[1].set(xlabel="period (s)", ylabel="PSA (m/s$^2$)", title="response spectra")
  axes[1].grid(True, which="both", alpha=0.3)
  axes[1].legend(fontsize=8)
  m = 100 * gen.misfit
  axes[2].fill_between(p, m.min(axis=0), m.max(axis=0), color="tab:blue", alpha=0.25, label="range")
  axes[2].semilogx(p, m.mean(axis=0), color="tab:blue", lw=1.5, label="mean")
  axes[2].axhline(0, color="k", lw=0.8)
  axes[2].axvspan(lo, hi, color="tab:green", alpha=0.07)
  axes[2].set(xlabel="period (s)", ylabel="misfit (%)", title="PSA / target - 1")
  axes[2].grid(True, which="both", alpha=0.3)
  axes[2].legend(fontsize=8)
  fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _sample_chunked(gen, psa: np.ndarray, seed: int, refine: str, chunk: int, desc: str, temperature: float = 1.0):
  """:meth:`Generator.sample` over ``psa [N, P]`` in chunks; returns (accel [N, T], psa [N, P])."""
  from tqdm import tqdm
  accel, out = [], []
  for i, start in enumerate(tqdm(range(0, psa.shape[0], chunk), desc=desc, unit="chunk")):
    g = gen.sample(psa[start:start + chunk], seed=seed + i, refine=refine, temperature=temperature)
    accel.append(g.accel_ms2)
    out.append(g.psa_ms2)
  return np.concatenate(accel), np.concatenate(out)


# Classes of record strength by the target's PSA at the shortest period (about the PGA), m/s^2:
# an absolute RMSE < 0.1 m/s^2 asks little of weak records and a few percent of strong ones.
LEVEL_EDGES_MS2 = (0.0, 0.05, 0.2, 0.5, float("inf"))


def _by_level(target: np.ndarray, r2: np.ndarray, rmse: np.ndarray, ok: np.ndarray) -> list[dict]:
  """The criterion share per strength class (``LEVEL_EDGES_MS2`` on ``target[:, 0]``), with
  the shares failing on R^2 and on RMSE; empty classes are left out."""
  rows = []
  for lo, hi in zip(LEVEL_EDGES_MS2[:-1], LEVEL_EDGES_MS2[1:]):
    m = (target[:, 0] >= lo) & (target[:, 0] < hi)
    if m.any():
      rows.append({"psa0_ms2": [lo, hi], "num": int(m.sum()), "paper_criterion_share": float(ok[m].mean()),
                   "r2_fail_share": float(np.mean(r2[m] <= ground_motion.PAPER_R2_MIN)),
                   "rmse_fail_share": float(np.mean(rmse[m] >= ground_motion.PAPER_RMSE_MAX_MS2))})
  return rows


def _fit_metrics(target: np.ndarray, psa: np.ndarray, periods: np.ndarray, band_s) -> dict:
  """The paper's metrics of generated ``psa [N, P]`` against ``target [N, P]`` (m/s^2),
  overall and per strength class (``by_level``)."""
  from cvaegan_jax import generate
  r2 = np.asarray(ground_motion.spectral_r2(target, psa))
  rmse = np.asarray(ground_motion.spectral_rmse(target, psa))
  ok = np.asarray(ground_motion.paper_criterion(r2, rmse))
  ok_norm = np.asarray(ground_motion.paper_criterion(r2, ground_motion.peak_normalised_rmse(target, psa)))
  band = generate.band_mask(periods, band_s)
  mis = np.abs(np.asarray(ground_motion.relative_misfit(target[:, band], psa[:, band])))
  return {"paper_criterion_share": float(ok.mean()), "criterion_share_peak_norm": float(ok_norm.mean()),
          "r2_median": float(np.median(r2)),
          "r2_p10": float(np.percentile(r2, 10)), "rmse_median_ms2": float(np.median(rmse)),
          "rmse_p90_ms2": float(np.percentile(rmse, 90)),
          "log_spectral_rmse_mean": float(np.mean(np.asarray(ground_motion.log_spectral_rmse(target, psa)))),
          "band_mean_abs_misfit": float(mis.mean()), "band_max_abs_misfit_median": float(np.median(mis.max(axis=1))),
          "num": int(r2.size), "by_level": _by_level(np.asarray(target), r2, rmse, ok), "_r2": r2}


def sample_correlation(generated: np.ndarray, per_target: int, real: np.ndarray) -> dict:
  """How alike the records generated for one target are, against real records.

  Args:
    generated: ``[N * per_target, T]`` records (m/s^2), the ``per_target`` samples of each
      target consecutive.
    per_target: samples per target.
    real: ``[N, T]`` real records (m/s^2), any order.

  Returns:
    ``{"generated": mean Pearson correlation over time of every pair of samples of one
    target, averaged over targets (None with one sample per target), "real": the mean over
    every pair of distinct real records (None with one)}``. Independent records are near
    0; a generator that ignores its latent gives samples near 1.
  """
  g = np.asarray(generated).reshape(-1, per_target, np.shape(generated)[-1])
  mean_pair = lambda records: float(ground_motion.pair_correlations(records).mean())
  return {"generated": float(np.mean([mean_pair(k) for k in g])) if per_target > 1 else None,
          "real": mean_pair(real) if len(real) > 1 else None}


def component_pairs(event_ids: Sequence[str], stations: Sequence[str], components: Sequence[str]) -> np.ndarray:
  """Pairs of records of one event at one station with different components.

  Args:
    event_ids, stations, components: ``[N]`` each record's event id, station (one sensor:
      callers pass ``"station/surface"`` or ``"station/borehole"`` for KiK-net) and
      component name (``"EW"``, ``"NS"``, ...).

  Returns:
    ``[K, 2]`` int indices ``(i, j)``, every ordered pair with ``i != j`` of one event and
    station and different components (both ``(i, j)`` and ``(j, i)``: R^2 is not symmetric),
    sorted; ``[0, 2]`` when no station has two components.
  """
  groups: dict = {}
  for i, key in enumerate(zip(event_ids, stations)):
    groups.setdefault(key, []).append(i)
  pairs = [(i, j) for idx in groups.values() for i in idx for j in idx
           if i != j and components[i] != components[j]]
  return np.array(sorted(pairs), dtype=int).reshape(-1, 2)


def component_pair_reference(psa: np.ndarray, event_ids: Sequence[str], stations: Sequence[str],
                             components: Sequence[str], periods: np.ndarray, band_s) -> dict | None:
  """The paper's metrics of each real record's other horizontal component, as if generated.

  Two horizontal components of one record share the earthquake, the path and the site and
  differ by their phases (and the radiation pattern): the spread of nature itself. Scoring
  one component's spectrum against the other's in the paper's terms gives the criterion
  share of a "generator" as varied as real records of one recording, the yardstick for
  the generated share.

  Args:
    psa: ``[N, P]`` real records' PSA in m/s^2.
    event_ids, stations, components: ``[N]`` metadata (:func:`component_pairs`).
    periods: ``[P]`` periods in s.
    band_s: ``(min, max)`` period band of the misfit summaries, s.

  Returns:
    The metrics of :func:`_fit_metrics` (target = each record, "generated" = its other
    component, every ordered pair once), with ``num_pairs`` (ordered pairs) and
    ``num_stations``; None when no station has two components.
  """
  pairs = component_pairs(event_ids, stations, components)
  if not len(pairs):
    return None
  psa = np.asarray(psa, np.float64)
  m = _fit_metrics(psa[pairs[:, 0]], psa[pairs[:, 1]], periods, band_s)
  m.pop("_r2")
  m["num_pairs"] = m.pop("num")
  m["num_stations"] = len({(event_ids[i], stations[i]) for i in pairs[:, 0]})
  return m


def _split_pair_reference(src, periods: np.ndarray, band_s) -> dict | None:
  """:func:`component_pair_reference` over every example of a data source split."""
  from tqdm import tqdm
  psa, meta = [], []
  for i in tqdm(range(len(src)), desc="component pairs", unit="record", leave=False):
    e = src[i]
    psa.append(np.asarray(e["spectrum"], np.float64))
    meta.append((_text(e["event_id"]), _sensor_key(_text(e["station"]), bool(e["borehole"])), _text(e["component"])))
  event_ids, stations, components = zip(*meta)
  return component_pair_reference(np.stack(psa), event_ids, stations, components, periods, band_s)


def _sensor_key(station: str, borehole: bool) -> str:
  """A KiK-net station's surface and borehole sensors record different motions: pair within one."""
  return f"{station}/{'borehole' if borehole else 'surface'}"


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def _print_pair_reference(ref: dict | None, where: str) -> None:
  if ref is not None:
    print(f"  {where}: one horizontal component against the other of the same record (the spread of "
          f"real records): criterion share {ref['paper_criterion_share']:.1%} "
          f"({ref['criterion_share_peak_norm']:.1%} peak-normalised), R2 median {ref['r2_median']:.2f}, "
          f"{ref['num_pairs']} ordered pairs of {ref['num_stations']} stations")


def evaluate_model(config, workdir: str) -> dict:
  """Evaluate a trained workdir in the paper's terms; writes ``WORKDIR/evaluation/``.

  For each split in ``config.evaluate.splits`` (default test, ood_low, ood_high): up to
  ``max_examples`` records, each record's spectrum as the condition,
  ``samples_per_target`` generated records each (prior temperature
  ``config.evaluate.temperature``), without and with refinement
  (``config.evaluate.refine``). Reports R^2 and RMSE (linear PSA, m/s^2) and the share
  with R^2 > 0.8 and RMSE < 0.1 m/s^2, log-spectral RMSE and band misfits, and
  time-frequency realism of the raw generated records against the split's real
  records: Arias intensity, D5-75, D5-95, PGA/PGV/PGD, mean period (medians and
  two-sample KS statistics); and how alike the samples of one target are
  (:func:`sample_correlation`); and, as the yardstick, the same spectral metrics of every real
  record of the whole split scored against its other horizontal component
  (``real_component_pairs``, :func:`component_pair_reference`).

  Writes ``report.json``, ``r2_hist.png``, ``husid.png`` and ``examples_<split>.png``
  (waveform, spectrum vs target, spectrogram).

  Returns:
    The report dict (as written to ``report.json``).

  Raises:
    FileNotFoundError: ``workdir`` has no checkpoint.
  """
  import json
  from cvaegan_jax import generate
  from data_prep import build

  ecfg = config.evaluate
  gen = generate.Generator.from_workdir(workdir)
  sources = build.build_from_config(gen.config.data).as_data_source()
  out_dir = os.path.join(workdir, "evaluation")
  os.makedirs(out_dir, exist_ok=True)
  band = (ecfg.band_min_s, ecfg.band_max_s)
  modes = ["none"] + ([ecfg.refine] if ecfg.refine != "none" else [])
  report = {"workdir": workdir, "checkpoint_step": gen.step, "samples_per_target": ecfg.samples_per_target,
            "temperature": ecfg.temperature,
            "band_s": list(band), "criterion": "R^2 > 0.8 and RMSE < 0.1 m/s^2 (Hu et al. 2026)", "splits": {}}
  hists, husids = {}, {}
  for split in ecfg.splits:
    if split not in sources or len(sources[split]) == 0:
      report["splits"][split] = {"skipped": f"the data set has no {split!r} examples"}
      logging.warning("evaluation: no %s split, skipped", split)
      continue
    src = sources[split]
    idx = np.unique(np.linspace(0, len(src) - 1, min(len(src), ecfg.max_examples)).astype(int))
    ex = [src[int(i)] for i in idx]
    psa = np.stack([np.asarray(e["spectrum"], np.float32) for e in ex])
    real = np.stack([np.asarray(e["waveform"], np.float64) for e in ex])
    mags = np.array([float(e["magnitude"]) for e in ex])
    target = np.repeat(psa, ecfg.samples_per_target, axis=0)
    entry = {"num_records": len(ex), "magnitude_range": [float(mags.min()), float(mags.max())]}
    gen_accel, gen_psa = {}, {}
    for mode in modes:
      accel, out = _sample_chunked(gen, target, ecfg.seed, mode, ecfg.chunk, f"{split} ({mode})",
                                   ecfg.temperature)
      m = _fit_metrics(target, out, gen.periods_s, band)
      hists[(split, mode)] = m.pop("_r2")
      entry["refine_" + mode] = m
      gen_accel[mode], gen_psa[mode] = accel, out
    raw = gen_accel["none"]
    real_tf, gen_tf = ground_motion.summary(real, gen.dt), ground_motion.summary(raw, gen.dt)
    entry["time_frequency"] = ground_motion.compare(real_tf, gen_tf)
    entry["sample_correlation"] = sample_correlation(raw, ecfg.samples_per_target, real)
    entry["real_component_pairs"] = _split_pair_reference(src, gen.periods_s, band)
    husids[split] = (np.median(ground_motion.husid(real, gen.dt), axis=0), np.median(ground_motion.husid(raw, gen.dt), axis=0))
    report["splits"][split] = entry
    _plot_examples(real, raw, gen_psa["none"], gen_psa[modes[-1]], psa, gen, ex, ecfg.samples_per_target,
                   os.path.join(out_dir, f"examples_{split}.png"), ecfg.num_figures, modes[-1])
    print(f"{split}: {len(ex)} records (M{mags.min():.1f}-{mags.max():.1f}) x {ecfg.samples_per_target} samples: "
          + "; ".join(f"{mode}: criterion share {entry['refine_' + mode]['paper_criterion_share']:.1%} "
                      f"({entry['refine_' + mode]['criterion_share_peak_norm']:.1%} on peak-normalised spectra), "
                      f"R2 median {entry['refine_' + mode]['r2_median']:.3f}" for mode in modes))
    if entry["sample_correlation"]["generated"] is not None:
      print(f"  raw samples of one target correlate {entry['sample_correlation']['generated']:.2f} on average "
            f"(two real records: {entry['sample_correlation']['real']:.2f})")
    print("  raw criterion share by PSA(0.01 s): " + ", ".join(
        f"{r['psa0_ms2'][0]:g}-{r['psa0_ms2'][1]:g} m/s2 {r['paper_criterion_share']:.0%} of {r['num']}"
        for r in entry["refine_none"]["by_level"]))
    _print_pair_reference(entry["real_component_pairs"], f"real {split} records (whole split)")
  _plot_r2_hist(hists, os.path.join(out_dir, "r2_hist.png"))
  _plot_husid(husids, gen.dt, os.path.join(out_dir, "husid.png"))
  path = os.path.join(out_dir, "report.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=1, default=float)
  print(f"wrote {path}")
  return report


def _plot_r2_hist(hists: dict, path: str) -> None:
  """Histograms of R^2 per split and refinement mode."""
  plt = _pyplot()
  splits = sorted({s for s, _ in hists})
  fig, axes = plt.subplots(1, max(1, len(splits)), figsize=(4.5 * max(1, len(splits)), 3.5), squeeze=False)
  for ax, split in zip(axes[0], splits):
    for (s, mode), r2 in hists.items():
      if s == split:
        ax.hist(np.clip(r2, -1, 1), bins=np.linspace(-1, 1, 41), alpha=0.6, label=f"refine={mode}")
    ax.axvline(0.8, color="k", ls="--", lw=0.8)
    ax.set(title=split, xlabel="R$^2$ (clipped at -1)", ylabel="generated records")
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _plot_husid(husids: dict, dt: float, path: str) -> None:
  """Median Husid curves of real and generated (raw) records per split."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  for i, (split, (real, gen)) in enumerate(husids.items()):
    t = np.arange(real.size) * dt
    ax.plot(t, real, color=f"C{i}", lw=1.5, label=f"{split} real")
    ax.plot(t, gen, color=f"C{i}", lw=1.5, ls="--", label=f"{split} generated")
  ax.set(xlabel="time (s)", ylabel="normalised Arias intensity", title="median Husid curves")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _plot_examples(real, raw, raw_psa, refined_psa, psa, gen, ex, k: int, path: str, num: int, mode: str) -> None:
  """Panels per example: real vs generated waveform, spectra vs target, spectrogram.

  ``real [M, T]``, ``psa [M, P]`` (targets); ``raw [M k, T]`` generated records with their
  spectra ``raw_psa`` and the refined ones' ``refined_psa`` ``[M k, P]`` (m/s^2).
  """
  plt = _pyplot()
  num = min(num, real.shape[0])
  fig, axes = plt.subplots(num, 3, figsize=(16, 2.8 * num), squeeze=False,
                           gridspec_kw=dict(width_ratios=[1.5, 1, 1.2]))
  t = np.arange(real.shape[1]) * gen.dt
  p = gen.periods_s
  for i in range(num):
    j = i * k
    axes[i, 0].plot(t, real[i], color="k", lw=0.5, label="real")
    axes[i, 0].plot(t, raw[j], color="tab:red", lw=0.5, alpha=0.8, label="generated")
    axes[i, 0].set(ylabel="m/s$^2$", title=f"M{float(ex[i]['magnitude']):.1f}, {float(ex[i]['dist_km']):.0f} km")
    axes[i, 1].loglog(p, psa[i], "k", lw=1.5, label="target (real)")
    axes[i, 1].loglog(p, raw_psa[j], color="tab:red", lw=1, label="generated")
    axes[i, 1].loglog(p, refined_psa[j], color="tab:blue", lw=1, ls="--", label=f"refined ({mode})")
    axes[i, 1].grid(True, which="both", alpha=0.3)
    axes[i, 1].set(ylabel="PSA (m/s$^2$)")
    f, ts, power = ground_motion.spectrogram(raw[j], gen.dt)
    axes[i, 2].pcolormesh(ts, f, 10 * np.log10(power + 1e-20), shading="auto", cmap="magma")
    axes[i, 2].set(ylim=(0, 25), ylabel="Hz", title="generated: spectrogram (dB)")
  axes[0, 0].legend(fontsize=7)
  axes[0, 1].legend(fontsize=7)
  axes[-1, 0].set_xlabel("time (s)")
  axes[-1, 1].set_xlabel("period (s)")
  axes[-1, 2].set_xlabel("time (s)")
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
