"""Evaluation reports: a trained model per split in the paper's terms, and real records' spectra.

:func:`evaluate_model` (mode "evaluate") samples the EMA generator for each split's
spectra and writes ``WORKDIR/evaluation/report.json`` and figures; :func:`record_spectra_report`
(mode "spectra") computes the response spectra of real K-NET/KiK-net records.
"""

from __future__ import annotations

import csv
import json
import logging
import os

import numpy as np
from tqdm import tqdm

from cvaegan_jax import conditioning, figures, fit, input_pipeline, intensity, sampling, spectra
from data_prep import knet

__all__ = ["find_record_files", "record_spectra_report", "evaluate_model"]

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
    found += [os.path.join(dirpath, n) for n in names if knet.is_record_file(n)]
  if not found:
    raise ValueError(f"records_dir {root!r} holds no K-NET/KiK-net files (.EW/.NS/.UD, .EW1/.NS2/...)")
  return sorted(found)


def record_spectra_report(config, workdir: str, records_dir: str, components=("EW", "NS"),
                          keep_borehole: bool = False) -> dict:
  """Response spectra of the real records in ``records_dir``.

  Reads every file, keeps ``components`` (and KiK-net borehole sensors only with
  ``keep_borehole``), removes each record's mean, computes PSA (m/s^2) at the ``config.data``
  periods and damping, and writes ``spectra.csv`` (one row per record) and ``spectra.png``
  into ``workdir``. Unreadable files are skipped, counted and logged.

  Returns:
    dict with ``periods_s [P]``, ``psa_ms2 [N, P]``, ``records`` (list of Record),
    ``skipped`` (list of (path, reason)), the written paths, and ``component_pairs``: the
    paper's criterion on each record's other horizontal component of the same station
    (:func:`component_pair_reference`; None when no station has two).
  """
  os.makedirs(workdir, exist_ok=True)
  periods = spectra.log_periods(config.data.t_min_s, config.data.t_max_s, config.data.num_periods)
  records, skipped = [], []
  for path in tqdm(find_record_files(records_dir), desc="reading records", unit="file"):
    try:
      rec = knet.read_knet_file(path)
    except (knet.KnetFormatError, OSError) as e:
      skipped.append((path, str(e)))
      continue
    if rec.component in components and (keep_borehole or not rec.borehole):
      records.append(rec)
  if skipped:
    logging.warning("skipped %d unreadable files: %s", len(skipped), skipped)
  if not records:
    raise ValueError(f"no usable records in {records_dir!r} for components {tuple(components)}")

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
  figures.record_spectra(records, periods, psa, fig_path, config.data.damping)
  logging.info("wrote %s and %s (%d records, %d skipped)", csv_path, fig_path, len(records), len(skipped))
  print(f"{len(records)} records, {len(skipped)} skipped; wrote {csv_path} and {fig_path}")
  pairs = fit.component_pair_reference(psa, [r.event_id for r in records],
                                       [input_pipeline.sensor_key(r.station, r.borehole) for r in records],
                                       [r.component for r in records], periods,
                                       (config.evaluate.band_min_s, config.evaluate.band_max_s))
  _print_pair_reference(pairs, "these records")
  return dict(periods_s=periods, psa_ms2=psa, records=records, skipped=skipped,
              csv_path=csv_path, figure_path=fig_path, component_pairs=pairs)


def _sample_chunked(gen, psa: np.ndarray, seed: int, refine: str, chunk: int, desc: str, temperature: float = 1.0,
                    timing_s: np.ndarray | None = None, candidates: int = 1, **kwargs):
  """:meth:`Generator.sample` over ``psa [N, P]`` (and ``timing_s [N, K]``, s, if given) in
  chunks, ``kwargs`` passed on; returns (accel [N, T], psa [N, P])."""
  accel, out = [], []
  for i, start in enumerate(tqdm(range(0, psa.shape[0], chunk), desc=desc, unit="chunk")):
    tim = None if timing_s is None else timing_s[start:start + chunk]
    g = gen.sample(psa[start:start + chunk], seed=seed + i, refine=refine, temperature=temperature, timing_s=tim,
                   candidates=candidates, **kwargs)
    accel.append(g.accel_ms2)
    out.append(g.psa_ms2)
  return np.concatenate(accel), np.concatenate(out)


def _split_meta(src) -> tuple[np.ndarray, list]:
  """Every example's spectrum ``[N, P]`` (m/s^2) and :func:`input_pipeline.pair_key` of a
  data source split, in one pass."""
  psa, keys = [], []
  for i in tqdm(range(len(src)), desc="component pairs", unit="record", leave=False):
    e = src[i]
    psa.append(np.asarray(e["spectrum"], np.float64))
    keys.append(input_pipeline.pair_key(e))
  return np.stack(psa), keys


def _real_pairs(src, keys: list, max_pairs: int) -> np.ndarray:
  """Up to ``max_pairs`` real pairs ``[K, 2, T]`` (m/s^2) of a split whose examples have
  ``keys`` (:func:`_split_meta`): the two horizontal components of one record at one
  sensor, evenly spread over the split (``[0, 2, 0]`` when no station has two)."""
  ordered = fit.component_pairs(*zip(*keys)) if keys else np.zeros((0, 2), int)
  unique = ordered[ordered[:, 0] < ordered[:, 1]]
  if not len(unique):
    return np.zeros((0, 2, 0))
  pick = unique[np.unique(np.linspace(0, len(unique) - 1, min(len(unique), max_pairs)).astype(int))]
  return np.stack([[np.asarray(src[int(i)]["waveform"], np.float64), np.asarray(src[int(j)]["waveform"], np.float64)]
                   for i, j in pick])


def pair_evaluation(gen, src, keys: list, max_pairs: int, seed: int, band_s, chunk: int) -> dict | None:
  """Generated pairs of horizontal components against the split's real ones.

  Each real pair's RotD50 (on the model's periods) is the target of one generated pair
  (:meth:`Generator.sample_pairs`, raw, its timing drawn); the pairs are compared by
  :func:`fit.pair_realism` (component correlation, within-pair differences of D5-95, D5-75
  and t5, RotD100 / RotD50), and the generated RotD50 against its target in the paper's
  terms (``fit_metrics``), and each component against the real components
  (``realism_components``, :func:`fit.realism`). ``keys``: the split's examples'
  :func:`input_pipeline.pair_key`. None when the split has no station with two components.
  """
  real = _real_pairs(src, keys, max_pairs)
  if not len(real):
    return None
  target = np.asarray(spectra.rotd_spectrum(real.astype(np.float32), gen.dt, gen.periods_s, gen.damping,
                                            percentiles=(50.0,)))[:, 0]
  made, rot = [], []
  for i, start in enumerate(tqdm(range(0, len(real), chunk), desc="pairs", unit="chunk")):
    g = gen.sample_pairs(target[start:start + chunk], seed=seed + i, refine="none", percentile=50.0)
    made.append(g.accel_ms2)
    rot.append(g.psa_ms2)
  made, rot = np.concatenate(made), np.concatenate(rot)
  out = fit.pair_realism(real, made, gen.dt, gen.periods_s, band_s)
  m = fit.fit_metrics(target, rot, gen.periods_s, band_s)
  m.pop("_r2")
  out["rotd50_fit"] = {k: m[k] for k in ("paper_criterion_share", "criterion_share_peak_norm", "r2_median")}
  # Each component against the real components (fit.realism; one sample per target).
  comp = fit.realism(real.reshape((-1, real.shape[-1])), made.reshape((-1, made.shape[-1])), gen.dt, 1)
  comp.pop("_values")
  out["realism_components"] = comp
  return out


def evaluate_pair_split(gen, src, ecfg, band, modes) -> tuple[dict, dict, dict | None]:
  """A pair model (``data.pairs``) on one split of a pair data set: each real pair's own
  spectrum (RotD50 or RotD100, the model's condition) is the target of
  ``samples_per_target`` generated pairs (:meth:`Generator.sample_pairs`, each mode of
  ``modes``: "none", "best" (raw, the best of ``ecfg.candidates``) and a pair refinement,
  "scale" or "waveform", from the best of ``ecfg.candidates``).

  Returns:
    ``(entry, r2 per mode, realism figure data of the raw components)``: the entry holds
    ``refine_<mode>`` (``fit.fit_metrics`` of the pair spectrum against the target),
    ``realism`` -> ``refine_<mode>`` (:func:`fit.realism` of every component against the real
    components, the samples of one target and component consecutive), and ``pairs``
    (:func:`fit.pair_realism` of the first raw sample of each target against the real pairs,
    with ``rotd50_fit`` and ``realism_components`` as :func:`pair_evaluation` gives them).
  """
  spt = int(ecfg.samples_per_target)
  idx = np.unique(np.linspace(0, len(src) - 1, min(len(src), ecfg.max_examples)).astype(int))
  ex = [src[int(i)] for i in idx]
  field = conditioning.spectrum_field(gen.config.data)
  psa = np.stack([np.asarray(e[field], np.float32) for e in ex])
  real = np.stack([np.asarray(e["waveform"], np.float64) for e in ex])  # [K, 2, T]
  mags = np.array([float(e["magnitude"]) for e in ex])
  target = np.repeat(psa, spt, axis=0)
  entry = {"num_records": len(ex), "magnitude_range": [float(mags.min()), float(mags.max())],
           "pair_spectrum": f"RotD{gen.model_percentile:g}", "realism": {}}
  hists, made = {}, {}
  for mode in modes:
    accel, out = [], []
    for i, start in enumerate(tqdm(range(0, len(target), ecfg.chunk), desc=f"pairs ({mode})", unit="chunk")):
      g = gen.sample_pairs(target[start:start + ecfg.chunk], seed=ecfg.seed + i, percentile=gen.model_percentile,
                           temperature=ecfg.temperature,
                           **_mode_sampling(mode, sampling.check_candidates(ecfg.candidates)))
      accel.append(g.accel_ms2)
      out.append(g.psa_ms2)
    made[mode], out = np.concatenate(accel), np.concatenate(out)
    m = fit.fit_metrics(target, out, gen.periods_s, band)
    hists[mode] = m.pop("_r2")
    entry["refine_" + mode] = m
    # Components: [K, spt, 2, T] -> [K, 2, spt, T], so that one target's samples of one component are consecutive.
    comps = made[mode].reshape((len(ex), spt, 2, -1)).transpose(0, 2, 1, 3).reshape((-1, real.shape[-1]))
    r = fit.realism(real.reshape((-1, real.shape[-1])), comps, gen.dt, spt)
    if mode == "none":
      realism_fig = _realism_figure_data(r)
    r.pop("_values")
    entry["realism"]["refine_" + mode] = r
  first = made["none"][::spt]
  pairs = fit.pair_realism(real, first, gen.dt, gen.periods_s, band)
  share = entry["refine_none"]
  pairs["rotd50_fit"] = {k: share[k] for k in ("paper_criterion_share", "criterion_share_peak_norm", "r2_median")}
  pairs["realism_components"] = entry["realism"]["refine_none"]
  entry["pairs"] = pairs
  return entry, hists, realism_fig


def _print_pairs(p: dict | None) -> None:
  if p is not None:
    print(f"  pairs ({p['num_real']} real EW/NS pairs, one generated pair from each one's RotD50, raw): " + ", ".join(
        f"{name} {p[key]['median_generated']:.2f} vs {p[key]['median_real']:.2f} real (KS {p[key]['ks']:.2f})"
        for key, name in (("abs_component_correlation", "|component corr|"), ("d5_95_log_ratio", "|ln D5-95 ratio|"),
                          ("t5_difference_s", "|t5 difference| s"), ("rotd100_over_rotd50", "RotD100/RotD50")))
        + f"; RotD50 criterion share {p['rotd50_fit']['paper_criterion_share']:.1%}")
    print(_realism_line(p["realism_components"], "pairs' components"))


def _print_pair_reference(ref: dict | None, where: str) -> None:
  if ref is not None:
    print(f"  {where}: one horizontal component against the other of the same record (the spread of "
          f"real records): criterion share {ref['paper_criterion_share']:.1%} "
          f"({ref['criterion_share_peak_norm']:.1%} peak-normalised), R2 median {ref['r2_median']:.2f}, "
          f"{ref['num_pairs']} ordered pairs of {ref['num_stations']} stations")


def _realism_line(m: dict, label: str) -> str:
  """One printed line of :func:`fit.realism`'s measures, with the bars that fail."""
  names = (("d5_95_s", "D5-95"), ("d5_75_s", "D5-75"), ("t5_s", "t5"), ("t_pga_s", "PGA time"))
  timing = ", ".join(f"{short} KS {m[n]['ks']:.2f} (med {m[n]['median_generated']:.1f} s vs "
                     f"{m[n]['median_real']:.1f} s real)" for n, short in names)
  share, ratio, corr = m["pga_time_max_bin_share"], m["ratio_of_medians"], m["sample_correlation"]
  corr_text = "n/a" if corr["generated"] is None else f"{corr['generated']:.2f}"
  failed = [k for k, v in m["passes"].items() if k != "all" and v is False]
  return (f"  realism ({label}): {timing}, max 0.1 s bin {share['generated']:.0%} of PGA times (real "
          f"{share['real']:.0%}), Arias x{ratio['arias_ms']:.2f}, PGV x{ratio['pgv_ms']:.2f}, "
          f"PGD x{ratio['pgd_m']:.2f}, sample corr {corr_text}, log-envelope distance "
          f"{m['log_envelope_distance']:.2f}, S-onset jump {m['s_onset']['median_jump_generated']:.2f} vs "
          f"{m['s_onset']['median_jump_real']:.2f} real (KS {m['s_onset']['ks_jump']:.2f}), Fourier roughness "
          f"{m['fourier_roughness']['median_generated']:.3f} vs {m['fourier_roughness']['median_real']:.3f} real, "
          f"strongest common line {m['spectral_line']['generated']['height_log10']:.2f} log10 at "
          f"{m['spectral_line']['generated']['frequency_hz']:.1f} Hz (real {m['spectral_line']['real']['height_log10']:.2f}); bars "
          + ("all passed" if not failed else "failed: " + ", ".join(failed)))


def _check_latent_steps(steps) -> int:
  """``evaluate.latent_steps`` as an int >= 0, else ValueError naming it."""
  if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
    raise ValueError(f"evaluate.latent_steps must be an integer >= 0 (Adam steps on the latent; 0: no such row), "
                     f"got {steps!r}")
  return int(steps)


def _mode_sampling(mode: str, candidates: int, latent_steps: int = sampling.LATENT_STEPS) -> dict:
  """The sampling arguments of an evaluation mode: ``refine``, ``candidates`` and the latent
  search's steps ("none": the model's first sample; "best": raw, the best of ``candidates``;
  "latent": that best's latent searched ``latent_steps`` steps; a refinement: from that best)."""
  out = {"refine": "none" if mode == "best" else mode, "candidates": 1 if mode == "none" else candidates}
  return {**out, "max_latent_steps": int(latent_steps)} if mode in ("latent", "both") else out


def _mode_label(mode: str, candidates: int, latent_steps: int = sampling.LATENT_STEPS) -> str:
  """How the printout names an evaluation mode: raw, raw as the best of candidates, the
  latent searched (still the decoder's record), refined."""
  if mode == "none":
    return "raw"
  if mode == "best":
    return f"raw, best of {candidates}"
  if mode == "latent":
    return f"raw, latent searched ({latent_steps} steps" + (f" from the best of {candidates})" if candidates > 1 else ")")
  return f"refined, {mode}" + (f" (from the best of {candidates})" if candidates > 1 else "")


def _realism_figure_data(m: dict) -> dict:
  """What :func:`figures.realism` draws for one split, from :func:`fit.realism` with its ``_values``."""
  return dict(m["_values"], ks={**{n: m[n]["ks"] for n in ("d5_95_s", "t5_s", "t_pga_s")},
                               "s_onset_jump": m["s_onset"]["ks_jump"]},
              pga_time_max_bin_share=m["pga_time_max_bin_share"])


def asked_durations(gen, psa: np.ndarray, seed: int, chunk: int, d5_95_range_s=(5.0, 25.0)) -> dict | None:
  """How well raw records keep an asked D5-95: each target of ``psa [N, P]`` (m/s^2) asks
  for a D5-95 log-uniform in ``d5_95_range_s`` (s; the rest completed as
  :meth:`Generator.complete_timing`). Returns the share with ``|ln(D5-95 got / asked)| < 0.2``,
  the median of that log ratio and of its absolute value, and the same share for D5-75 and
  t5 (t5 within 1 s); None for a model without timing conditions."""
  if "d5_95" not in gen.timing_names:
    return None
  lo, hi = np.log(d5_95_range_s)
  asked95 = np.exp(np.random.default_rng(seed).uniform(lo, hi, psa.shape[0]))
  timing_s = gen.complete_timing(psa, {"d5_95": asked95}, seed)
  accel, _ = _sample_chunked(gen, psa, seed, "none", chunk, "asked durations", timing_s=timing_s)
  out = {"d5_95_range_s": list(d5_95_range_s), "num": int(psa.shape[0])}
  for name in gen.timing_names:
    got, asked = conditioning.TIMING_MEASURES[name](accel, gen.dt), timing_s[:, gen.timing_names.index(name)]
    if name == "t5":
      out["t5_within_1s_share"] = float(np.mean(np.abs(got - asked) < 1.0))
      out["t5_median_abs_error_s"] = float(np.median(np.abs(got - asked)))
      continue
    r = np.log(got / asked)
    out[f"{name}_within_0.2_share"] = float(np.mean(np.abs(r) < 0.2))
    out[f"{name}_median_log_ratio"] = float(np.median(r))
  return out


def evaluate_model(config, workdir: str) -> dict:
  """Evaluate a trained workdir in the paper's terms; writes ``WORKDIR/evaluation/``.

  For each split in ``config.evaluate.splits`` (default test, ood_low, ood_high): up to
  ``max_examples`` records, each record's spectrum as the condition,
  ``samples_per_target`` generated records each (prior temperature
  ``config.evaluate.temperature``): raw (``refine_none``: the model's first sample, no
  selection), with ``config.evaluate.candidates`` > 1 also raw as the best of that many
  (``refine_best``, :meth:`Generator.sample`'s ``candidates``), with
  ``config.evaluate.latent_steps`` > 0 that best's latent searched so many steps
  (``refine_latent``: still the decoder's record, :func:`cvaegan_jax.refine.latent`), and refined
  (``config.evaluate.refine``, from the best of ``candidates``). Reports R^2 and RMSE (linear PSA, m/s^2) and the share
  with R^2 > 0.8 and RMSE < 0.1 m/s^2, log-spectral RMSE and band misfits, and
  time-frequency realism of the raw generated records against the split's real
  records: Arias intensity, D5-75, D5-95, PGA/PGV/PGD, mean period (medians and
  two-sample KS statistics); and how alike the samples of one target are
  (:func:`sample_correlation`); realism per refinement mode (``realism`` ->
  ``refine_none``/``refine_<mode>``, :func:`fit.realism`: KS and medians of D5-75, D5-95, t5
  and the PGA time, the largest share of PGA times in one 0.1 s bin, ratios of the medians
  of Arias intensity, PGV and PGD, sample correlation, log-envelope distance, the S onset's
  time and jump (:func:`intensity.envelope_jump`), and which
  bars of ``fit.REALISM_BARS`` pass); and, as the yardstick, the same spectral metrics of
  every real record of the whole split scored against its other horizontal component
  (``real_component_pairs``, :func:`component_pair_reference`); and pairs of horizontal
  components generated for up to ``max_examples`` real pairs' RotD50 against those pairs
  (``pairs``, :func:`pair_evaluation`).

  Writes ``report.json``, ``r2_hist.png``, ``husid.png``, ``realism.png`` (histograms of
  D5-95, t5 and PGA time and median log-envelopes, real against raw generated, a row per
  split), ``pairs.png`` (the pair measures, real against generated) and ``examples_<split>.png`` (waveform, spectrum vs target, real and generated
  spectrograms).

  Returns:
    The report dict (as written to ``report.json``).

  Raises:
    FileNotFoundError: ``workdir`` has no checkpoint.
    ValueError: ``config.evaluate.latent_steps`` not an integer >= 0.
  """
  ecfg = config.evaluate
  gen = sampling.Generator.from_workdir(workdir)
  if gen.channels == 2:
    return _evaluate_pair_model(gen, ecfg, workdir)
  sources = input_pipeline.open_dataset(gen.config.data)
  out_dir = os.path.join(workdir, "evaluation")
  os.makedirs(out_dir, exist_ok=True)
  band = (ecfg.band_min_s, ecfg.band_max_s)
  candidates = sampling.check_candidates(ecfg.candidates)
  latent_steps = _check_latent_steps(ecfg.latent_steps)
  modes = (["none"] + (["best"] if candidates > 1 else []) + (["latent"] if latent_steps and ecfg.refine != "latent" else [])
           + ([ecfg.refine] if ecfg.refine != "none" else []))
  label = lambda mode: _mode_label(mode, candidates, latent_steps)
  report = {"workdir": workdir, "checkpoint_step": gen.step, "samples_per_target": ecfg.samples_per_target,
            "temperature": ecfg.temperature, "candidates": candidates, "latent_steps": latent_steps,
            "band_s": list(band), "criterion": "R^2 > 0.8 and RMSE < 0.1 m/s^2 (Hu et al. 2026)",
            "realism_bars": fit.REALISM_BARS, "splits": {}}
  hists, husids, realism_fig, pairs_fig = {}, {}, {}, {}
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
      accel, out = _sample_chunked(gen, target, ecfg.seed, chunk=ecfg.chunk, desc=f"{split} ({mode})",
                                   temperature=ecfg.temperature, **_mode_sampling(mode, candidates, latent_steps))
      m = fit.fit_metrics(target, out, gen.periods_s, band)
      hists[(split, label(mode))] = m.pop("_r2")
      entry["refine_" + mode] = m
      gen_accel[mode], gen_psa[mode] = accel, out
    raw = gen_accel["none"]
    real_tf, gen_tf = intensity.summary(real, gen.dt), intensity.summary(raw, gen.dt)
    entry["time_frequency"] = fit.compare(real_tf, gen_tf)
    entry["sample_correlation"] = fit.sample_correlation(raw, ecfg.samples_per_target, real)
    entry["realism"] = {}
    for mode in modes:
      m = fit.realism(real, gen_accel[mode], gen.dt, ecfg.samples_per_target)
      if mode == "none":
        realism_fig[split] = _realism_figure_data(m)
      m.pop("_values")
      entry["realism"]["refine_" + mode] = m
    entry["asked_durations"] = asked_durations(gen, psa, ecfg.seed, ecfg.chunk)
    if entry["asked_durations"]:
      a = entry["asked_durations"]
      print(f"  asked D5-95 of 5-25 s: {a['d5_95_within_0.2_share']:.0%} of raw records within 20% "
            f"(median ln ratio {a['d5_95_median_log_ratio']:+.2f}); D5-75 {a.get('d5_75_within_0.2_share', 0):.0%}; "
            f"t5 within 1 s {a.get('t5_within_1s_share', 0):.0%}")
    split_psa, keys = _split_meta(src)
    entry["real_component_pairs"] = fit.component_pair_reference(split_psa, *zip(*keys), gen.periods_s, band)
    entry["pairs"] = pair_evaluation(gen, src, keys, ecfg.max_examples, ecfg.seed, band, ecfg.chunk)
    if entry["pairs"] is not None:
      pairs_fig[split] = dict(entry["pairs"])
      entry["pairs"].pop("_values")
    husids[split] = (np.median(intensity.husid(real, gen.dt), axis=0), np.median(intensity.husid(raw, gen.dt), axis=0))
    report["splits"][split] = entry
    titles = [f"M{float(e['magnitude']):.1f}, {float(e['dist_km']):.0f} km" for e in ex[:ecfg.num_figures]]
    figures.examples(real, raw, gen_psa["none"], gen_psa[modes[-1]], psa, gen.periods_s, gen.dt, titles,
                     ecfg.samples_per_target, os.path.join(out_dir, f"examples_{split}.png"), modes[-1])
    print(f"{split}: {len(ex)} records (M{mags.min():.1f}-{mags.max():.1f}) x {ecfg.samples_per_target} samples: "
          + "; ".join(f"{label(mode)}: criterion share "
                      f"{entry['refine_' + mode]['paper_criterion_share']:.1%} "
                      f"({entry['refine_' + mode]['criterion_share_peak_norm']:.1%} on peak-normalised spectra), "
                      f"R2 median {entry['refine_' + mode]['r2_median']:.3f}" for mode in modes))
    if entry["sample_correlation"]["generated"] is not None:
      print(f"  raw samples of one target correlate {entry['sample_correlation']['generated']:.2f} on average "
            f"(two real records: {entry['sample_correlation']['real']:.2f})")
    for mode in [m for m in modes if m in ("none", "best", "latent")]:
      print(f"  {label(mode)} criterion share by PSA(0.01 s): " + ", ".join(
          f"{r['psa0_ms2'][0]:g}-{r['psa0_ms2'][1]:g} m/s2 {r['paper_criterion_share']:.0%} of {r['num']}"
          for r in entry["refine_" + mode]["by_level"]))
    for mode in modes:
      print(_realism_line(entry["realism"]["refine_" + mode], label(mode)))
    _print_pair_reference(entry["real_component_pairs"], f"real {split} records (whole split)")
    _print_pairs(entry["pairs"])
  figures.husid_curves(husids, gen.dt, os.path.join(out_dir, "husid.png"))
  return _write_report(out_dir, report, hists, realism_fig, pairs_fig)


def _write_report(out_dir: str, report: dict, hists: dict, realism_fig: dict, pairs_fig: dict) -> dict:
  """``report.json``, ``r2_hist.png`` and (when there is data for them) ``realism.png`` and
  ``pairs.png`` into ``out_dir``; returns ``report``."""
  figures.r2_histograms(hists, os.path.join(out_dir, "r2_hist.png"))
  if realism_fig:
    figures.realism(realism_fig, os.path.join(out_dir, "realism.png"))
  if pairs_fig:
    figures.pairs(pairs_fig, os.path.join(out_dir, "pairs.png"))
  path = os.path.join(out_dir, "report.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=1, default=float)
  print(f"wrote {path}")
  return report


def _evaluate_pair_model(gen, ecfg, workdir: str) -> dict:
  """:func:`evaluate_model` for a pair model: :func:`evaluate_pair_split` per split; writes
  ``report.json``, ``r2_hist.png``, ``realism.png`` (raw components against real ones) and
  ``pairs.png``."""
  sources = input_pipeline.open_dataset(gen.config.data)
  out_dir = os.path.join(workdir, "evaluation")
  os.makedirs(out_dir, exist_ok=True)
  band = (ecfg.band_min_s, ecfg.band_max_s)
  refine = ecfg.refine if ecfg.refine in ("scale", "waveform") else "waveform"
  candidates = sampling.check_candidates(ecfg.candidates)
  modes = ["none"] + (["best"] if candidates > 1 else []) + [refine]
  report = {"workdir": workdir, "checkpoint_step": gen.step, "samples_per_target": ecfg.samples_per_target,
            "temperature": ecfg.temperature, "candidates": candidates, "band_s": list(band), "pairs": True,
            "criterion": "R^2 > 0.8 and RMSE < 0.1 m/s^2 (Hu et al. 2026), on the pair's spectrum",
            "realism_bars": fit.REALISM_BARS, "splits": {}}
  hists, realism_fig, pairs_fig = {}, {}, {}
  for split in ecfg.splits:
    if split not in sources or len(sources[split]) == 0:
      report["splits"][split] = {"skipped": f"the data set has no {split!r} examples"}
      logging.warning("evaluation: no %s split, skipped", split)
      continue
    entry, h, fig = evaluate_pair_split(gen, sources[split], ecfg, band, modes)
    hists.update({(split, _mode_label(mode, candidates)): v for mode, v in h.items()})
    realism_fig[split] = fig
    pairs_fig[split] = dict(entry["pairs"])
    entry["pairs"].pop("_values")
    report["splits"][split] = entry
    print(f"{split}: {entry['num_records']} real pairs x {ecfg.samples_per_target} generated pairs, "
          f"{entry['pair_spectrum']}: " + "; ".join(
              f"{_mode_label(mode, candidates)}: criterion share {entry['refine_' + mode]['paper_criterion_share']:.1%} "
              f"({entry['refine_' + mode]['criterion_share_peak_norm']:.1%} on peak-normalised spectra), "
              f"R2 median {entry['refine_' + mode]['r2_median']:.3f}" for mode in modes))
    _print_pairs(entry["pairs"])  # With the raw components' realism line.
    print(_realism_line(entry["realism"]["refine_" + refine], f"refined components, {refine}"))
  return _write_report(out_dir, report, hists, realism_fig, pairs_fig)
