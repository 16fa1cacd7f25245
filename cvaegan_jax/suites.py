"""A suite for one target: load a workdir, generate, refine, export, check, draw.

:func:`generate_suite` is the generate job (``python -m cvaegan_jax.main --mode=generate``):
it writes the records in the asked formats, ``suite.json`` (misfits, the compliance check,
the files) and ``suite.png`` into ``WORKDIR/generated`` (or ``out_dir``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os

import numpy as np

from cvaegan_jax import compliance, design_codes, exports, figures, sampling, scenarios, specs, targets, validation
from cvaegan_jax import refine as refine_lib

__all__ = ["rule_for_target", "generate_suite"]


def rule_for_target(target: str) -> str:
  """The compliance rule of a target spec's own design code, for ``rule="auto"``.

  Args:
    target: a target spec (:func:`cvaegan_jax.specs.parse`).

  Returns:
    ``"ec8"`` for an ``ec8:`` target, ``"asce7-16"`` / ``"asce7-22"`` for an ``asce7:``
    target (its ``edition``; when not given, :func:`cvaegan_jax.design_codes.asce7`'s default),
    and ``""`` (no check) for the others: GB 50011 has no suite rule here, and a file or a
    record names no code.

  Raises:
    ValueError: a malformed spec (:func:`cvaegan_jax.specs.parse_spec`).
  """
  code, kwargs = specs.parse_spec(target)
  if code == "ec8":
    return "ec8"
  if code == "asce7":
    return "asce7-" + kwargs.get("edition", inspect.signature(design_codes.asce7).parameters["edition"].default)
  return ""


def _check_request(target, num, refine, out_dir, formats, rule, t1_s, tol, temperature, timing, scenario,
                   waveform_steps, components, rotd, smoothing, candidates=1) -> None:
  """Every argument of :func:`generate_suite` that can be checked without the model (ValueError)."""
  if components not in (1, 2) or isinstance(components, bool):
    raise ValueError(f"components must be 1 (single records) or 2 (pairs of horizontal components), got {components!r}")
  if components == 2:
    if refine not in ("none", "scale", "waveform"):
      raise ValueError(f"refine for pairs must be none, scale or waveform, got {refine!r}")
    if not 0 < float(rotd) <= 100:
      raise ValueError(f"rotd must be a percentile in (0, 100] (100: maximum direction, 50: median), got {rotd!r}")
  for name, v in (timing or {}).items():
    if name == "t5":
      validation.non_negative_float(v, "t5", "seconds")
    else:
      validation.positive_float(v, name, "seconds")
  if scenario:
    unknown = set(scenario) - {"magnitude", "distance_km", "vs30_ms", "mechanism"}
    if unknown or not {"magnitude", "distance_km"} <= set(scenario):
      raise ValueError(f"scenario needs magnitude and distance_km (optional vs30_ms, mechanism), "
                       f"got {sorted(scenario)}")
    scenarios.durations(**scenario)  # Checks every value, naming it.
  if isinstance(num, bool) or not isinstance(num, int) or num < 1:
    raise ValueError(f"num must be an integer >= 1, got {num!r}")
  if refine not in refine_lib.REFINE_MODES:
    raise ValueError(f"refine must be one of {refine_lib.REFINE_MODES}, got {refine!r}")
  if isinstance(waveform_steps, bool) or not isinstance(waveform_steps, int) or waveform_steps < 0:
    raise ValueError(f"waveform_steps must be an integer >= 0, got {waveform_steps!r}")
  bad = [f for f in formats if str(f).lower() not in exports.FORMATS]
  if bad:
    raise ValueError(f"unknown export format(s) {bad}; valid: {', '.join(exports.FORMATS)}")
  if rule not in ("", "auto") and rule not in compliance.RULES:
    raise ValueError(f"unknown rule {rule!r}; valid: auto, '' (none), {', '.join(sorted(compliance.RULES))}")
  if out_dir and os.path.exists(out_dir) and not os.path.isdir(out_dir):
    raise ValueError(f"out_dir {out_dir!r} is a file, not a folder")
  validation.positive_float(t1_s, "t1_s", "seconds")
  validation.non_negative_float(tol, "tol")
  validation.non_negative_float(temperature, "temperature")
  validation.non_negative_float(smoothing, "smoothing", "ln frequency")
  sampling.check_candidates(candidates)
  specs.parse_spec(target)


def generate_suite(workdir: str, target: str, num: int = 11, seed: int = 0, refine: str = "waveform",
                   out_dir: str | None = None, formats=("at2", "csv", "npz"), extrapolate: bool = False,
                   rule: str = "", t1_s: float = 1.0, tol: float = 0.02, band_s=(0.05, 4.0),
                   temperature: float = 1.0, timing: dict | None = None, scenario: dict | None = None,
                   waveform_steps: int = 20, components: int = 1, rotd: float = 100.0,
                   smoothing: float = refine_lib.SMOOTHING, candidates: int = sampling.CANDIDATES) -> dict:
  """The generate job: load ``workdir``, generate a suite for ``target``, export, check, plot.

  Args:
    workdir: training workdir (config.json + checkpoints).
    target: a target spec (see :func:`cvaegan_jax.specs.parse`), e.g.
      ``"ec8:type=1,ground=B,ag=0.3g"`` or ``"file:my_spectrum.csv,unit=g"``.
    num, seed, refine, extrapolate, tol, band_s, temperature: see :meth:`Generator.generate`
      and :meth:`Generator.sample`.
    out_dir: where records, ``suite.json`` and ``suite.png`` go (default
      ``workdir/generated``).
    formats: any of "at2", "csv", "npz", "mseed", "sac".
    rule: "" (no check), "ec8", "asce7-16" or "asce7-22": suite compliance of the
      records' mean spectrum (:func:`cvaegan_jax.compliance.check_suite`) around ``t1_s``;
      "auto": the rule of the target's own code (:func:`rule_for_target`), none for others.
      Under an ASCE rule a waveform-refined suite is spectrally matched (§16.2.3.3): its
      records are matched to 110% of the target times ``1 + tol`` (so that records within
      ``tol`` pass) and checked against that rule. A refined suite whose mean falls short of
      the rule only at periods of the check between the model's (by at most 5%) is scaled as
      a whole by the factor that lifts it (``suite_scale`` in ``suite.json``).
    components: 1 (records of one component) or 2 (pairs of horizontal components,
      :meth:`Generator.generate_pairs`: ``accel_ms2 [num, 2, T]``, exported as H1/H2). A pair
      model (trained with ``data.pairs``) always makes pairs.
    rotd: with pairs, the RotDnn the target is (100: maximum direction, as ASCE 7 §16.2;
      50: median); the misfits and the ASCE check use it (the check always RotD100).
    timing: asked timing conditions, name -> s (``t5``, ``d5_75``, ``d5_95``), the same for
      every record; the rest drawn (:meth:`Generator.complete_timing`).
    waveform_steps: time-domain matching steps of ``refine="waveform"`` (``max_waveform_steps``
      of :meth:`Generator.sample`): more reach ``tol`` on jagged (recorded) targets, slower.
    smoothing: >= 0, the smoothing of the first frequency-domain passes' gain (ln
      frequency, :func:`cvaegan_jax.refine.match`); 0 reaches ``tol`` more often on jagged
      targets and leaves spectral lines in the records.
    candidates: latent samples decoded per record, the best-fitting raw one kept before
      refinement (``candidates`` of :meth:`Generator.sample`; 1: each record the model's first
      sample).
    scenario: ``{"magnitude", "distance_km"[, "vs30_ms", "mechanism"]}``: each record's
      D5-75 and D5-95 drawn from Afshari & Stewart (2016) for it
      (:func:`cvaegan_jax.scenarios.durations`); ``timing`` overrides it.

  Returns:
    dict: ``generation`` (:class:`Generation`), ``files`` (written paths), ``summary``
    (what ``suite.json`` holds) and ``check`` (the compliance result or None).

  Raises:
    ValueError: a bad ``num``, format, rule, refinement or target spec, or an ``out_dir``
      that is a file: all checked before the model loads or anything is written.
  """
  _check_request(target, num, refine, out_dir, formats, rule, t1_s, tol, temperature, timing, scenario, waveform_steps,
                 components, rotd, smoothing, candidates)
  gen = sampling.Generator.from_workdir(workdir)
  if gen.channels == 2 and components == 1:  # A pair model (data.pairs) makes pairs only.
    if refine in ("latent", "both"):
      raise ValueError(f"{workdir}'s model makes pairs (data.pairs): refine must be none, scale or waveform, "
                       f"got {refine!r}")
    logging.info("%s's model makes pairs of horizontal components: generating %d pairs", workdir, num)
    components = 2
  if (timing or scenario) and not gen.timing_names:
    raise ValueError(f"{workdir}'s model has no timing conditions (model.timing_conditions): it cannot take "
                     "asked durations or a scenario")
  tgt = specs.parse(target, periods_s=gen.periods_s)
  asked = {}
  if scenario:
    d = scenarios.durations(num=num, seed=seed, **scenario)
    # Draws longer than the model's strong phase can be (leaving 1 s before the onset) are
    # capped there, D5-75 scaled alike; the printout says how many.
    cap = gen.strong_phase_end_s - 1.0
    factor = np.minimum(1.0, cap / d["d5_95"])
    asked.update({k: d[k] * factor for k in ("d5_75", "d5_95") if k in gen.timing_names})
    print(f"scenario {scenario}: AS16 median D5-75 {d['median']['d5_75']:.1f} s, D5-95 {d['median']['d5_95']:.1f} s "
          f"(sigma ln {d['sigma']['d5_95']:.2f})" + (f"; {int(np.sum(factor < 1))} of {num} draws capped at the "
                                                     f"model's {cap:g} s" if np.any(factor < 1) else ""))
  asked.update(timing or {})
  if rule == "auto":
    rule = rule_for_target(target)
    if not rule:
      logging.info("no compliance check: target %r is not an ec8 or asce7 design spectrum", target)
  matched = rule.startswith("asce") and refine in ("waveform", "both")
  # Matched to 110% plus the tolerance: a suite whose every record is within tol then passes.
  ratio = round(compliance.MATCHED_RATIO * (1.0 + tol), 4) if matched else 1.0

  def aim_name(r: float) -> str:  # The target as matched (times r).
    return tgt.name if r == 1.0 else f"{tgt.name} x {r:g}"

  aim = tgt if ratio == 1.0 else targets.Target(tgt.periods_s, tgt.sa_ms2 * ratio, aim_name(ratio), tgt.damping,
                                                 None if tgt.pga_ms2 is None else tgt.pga_ms2 * ratio)
  kwargs = dict(num=num, seed=seed, refine=refine, extrapolate=extrapolate, tol=tol, band_s=band_s,
                max_waveform_steps=waveform_steps, temperature=temperature, timing=asked or None, smoothing=smoothing,
                candidates=candidates)
  result = gen.generate_pairs(aim, percentile=rotd, **kwargs) if components == 2 else gen.generate(aim, **kwargs)
  check, suite_scale = None, 1.0
  if rule:
    code_target = tgt.at(gen.periods_s, extrapolate=extrapolate)
    check = compliance.check_suite(result.accel_ms2, result.dt, code_target, rule, t1_s=t1_s, damping=gen.damping,
                                   matched=matched)
    # The check's grid lies between the model's periods, where a refined suite can dip a few
    # percent: the whole suite is then scaled by the one factor that lifts its mean to the
    # code's ratio everywhere (amplitude scaling, exact for every spectrum), up to 5%.
    low = min(r["ratio"] / r["required_ratio"] for r in check.table)
    failed = {name for name, ok, _ in check.checks if not ok}
    if refine != "none" and failed and all(n.startswith("mean spectrum") for n in failed) and low >= 1 / 1.05:
      suite_scale = float(1.0 / low) * (1.0 + 1e-4)
      result.accel_ms2 = (result.accel_ms2 * suite_scale).astype(np.float32)
      result.psa_ms2 = (result.psa_ms2 * suite_scale).astype(np.float32)
      result.target_ms2 = (result.target_ms2 * suite_scale).astype(np.float32)  # The aim moves alike.
      ratio = round(ratio * suite_scale, 4)
      check = compliance.check_suite(result.accel_ms2, result.dt, code_target, rule, t1_s=t1_s, damping=gen.damping,
                                     matched=matched)
      print(f"suite scaled by {suite_scale:.4f}: its mean fell to {low:.3f} of the code's ratio between the "
            "model's periods")
    print(check.to_text())
  out_dir = out_dir or os.path.join(workdir, "generated")
  os.makedirs(out_dir, exist_ok=True)
  names = [f"gen_{seed:04d}_{i:03d}" for i in range(num)]
  files = []
  for fmt in formats:
    extra = dict(periods_s=result.periods_s, psa_ms2=result.psa_ms2, target_ms2=result.target_ms2[0],
                 misfit=result.misfit) if fmt == "npz" else {}
    files += exports.export(out_dir, result.accel_ms2, result.dt, fmt, names=names, **extra)
  summary = dict(result.summary(), target=target, target_name=tgt.name, matched_to=ratio, suite_scale=suite_scale,
                 seed=seed, workdir=workdir, checkpoint_step=gen.step, files=files,
                 check=check.to_dict() if check else None)
  with open(os.path.join(out_dir, "suite.json"), "w") as f:
    json.dump(summary, f, indent=1, default=float)
  fig = os.path.join(out_dir, "suite.png")
  what = f"{num} pairs (RotD{rotd:g})" if components == 2 else f"{num} records"
  need, label = None, "0.9 x target"  # The code's least suite mean on the model's periods (None: 0.9 x target).
  if check:
    need_ratio = check.table[0]["required_ratio"]
    need = need_ratio * code_target.sa_ms2
    label = f"{need_ratio:g} x code target ({rule})"
  figures.suite(result, fig, required_ms2=need, required_label=label,
                title=f"{aim_name(ratio)}: {what}, refine={refine}"
                      + (f", temperature {temperature:g}" if temperature != 1 else "")
                      + (f", best of {candidates}" if candidates > 1 else ""))
  files += [os.path.join(out_dir, "suite.json"), fig]
  tim = summary["timing"]
  print("durations (median of the suite): " + ", ".join(
      f"{name} {np.median(tim['got'][name]):.1f} s"
      + (f" (asked {np.median(tim['asked'][name]):.1f} s)" if tim["asked"] and name in tim["asked"] else "")
      for name in ("t5", "d5_75", "d5_95"))
      + f"; Fourier roughness {np.median(summary['fourier_roughness']):.3f} (real records ~0.27; spectral lines raise it)")
  if components == 2:
    cc = np.abs(summary["component_correlation"])
    print(f"components of a pair: |correlation| median {np.median(cc):.2f}, largest {cc.max():.2f} (real pairs: near 0)")
  print(f"{what} for {aim_name(ratio)}: mean |misfit| {summary['mean_abs_misfit']:.2%}, "
        f"max {summary['max_abs_misfit']:.2%} over {band_s[0]}-{band_s[1]} s"
        + (f"; {summary['missed_tol']} of {num} above tol {summary['tol'] * 100:g}%" if summary["missed_tol"] else "")
        + (f"; largest correlation between two records {summary['max_pair_correlation']:.2f}" if num > 1 else "")
        + (f"; {rule} check {'passed' if check.passed else 'FAILED'}" if check else "") + f"; wrote {out_dir}")
  return dict(generation=result, files=files, summary=summary, check=check)
