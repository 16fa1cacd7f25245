"""Every figure the project draws: arrays in, PNG out (matplotlib, Agg backend).

Nothing here runs a model or reads a data set: callers pass waveforms (m/s^2), spectra
(m/s^2) and periods (s) as NumPy arrays, and a path for the PNG (folders are created).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from cvaegan_jax import intensity

__all__ = ["record_spectra", "training_samples", "suite", "r2_histograms", "husid_curves", "realism", "examples"]


def _pyplot():
  """matplotlib.pyplot on the Agg backend (no display needed)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _save(fig, path: str, dpi: int) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=dpi)
  _pyplot().close(fig)


def record_spectra(records: Sequence, periods: np.ndarray, psa_ms2: np.ndarray, path: str,
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
  _save(fig, path, 110)


def training_samples(waves: dict, psa: dict, target_psa: np.ndarray, periods: np.ndarray, dt: float,
                     titles: Sequence[str], suptitle: str, path: str) -> None:
  """Figure of validation records during training: waveforms (left) and spectra (right).

  Args:
    waves: ``{"real", "reconstructed", "generated (prior)"} -> [N, T]`` m/s^2.
    psa: the same keys -> ``[N, P]`` PSA, m/s^2.
    target_psa: ``[N, P]`` the conditioning spectra, m/s^2.
    periods: ``[P]`` s; dt: sampling interval, s.
    titles: ``N`` panel titles; suptitle: the figure's title.
    path: PNG path.
  """
  plt = _pyplot()
  num = len(titles)
  fig, axes = plt.subplots(num, 2, figsize=(13, 2.6 * num), squeeze=False, gridspec_kw=dict(width_ratios=[1.6, 1]))
  t = np.arange(next(iter(waves.values())).shape[1]) * dt
  colors = {"real": "k", "reconstructed": "tab:blue", "generated (prior)": "tab:red"}
  for i in range(num):
    for k, v in waves.items():
      axes[i, 0].plot(t, v[i], lw=0.5, color=colors.get(k), alpha=0.8, label=k)
      axes[i, 1].loglog(periods, psa[k][i], color=colors.get(k), lw=1.2 if k == "real" else 0.9, label=k)
    axes[i, 1].loglog(periods, target_psa[i], "k--", lw=0.8, label="target")
    axes[i, 0].set(ylabel="m/s$^2$", title=titles[i])
    axes[i, 1].set(ylabel="PSA (m/s$^2$)")
    axes[i, 1].grid(True, which="both", alpha=0.3)
  axes[-1, 0].set_xlabel("time (s)")
  axes[-1, 1].set_xlabel("period (s)")
  axes[0, 0].legend(fontsize=7, loc="upper right")
  axes[0, 1].legend(fontsize=7, loc="lower left")
  fig.suptitle(suptitle)
  fig.tight_layout()
  _save(fig, path, 90)


def suite(gen, path: str, title: str = "", required_ms2=None, required_label: str = "0.9 x target") -> None:
  """Figure of a generated suite: the waveforms (stacked), their spectra against the
  target with the suite mean, and the misfit per period.

  Args:
    gen: :class:`cvaegan_jax.sampling.Generation` (``accel_ms2 [N, T]`` or pairs
      ``[N, 2, T]``, ``psa_ms2 [N, P]`` (pairs: their RotDnn), ``target_ms2 [N, P]``,
      ``misfit [N, P]``).
    path: PNG file to write (folders created).
    title: figure title.
    required_ms2: ``[P]`` the least suite mean a code's rule asks (m/s^2), drawn dashed;
      default 0.9 times the target.
    required_label: its legend entry.
  """
  plt = _pyplot()
  pairs = gen.accel_ms2.ndim == 3
  records = gen.accel_ms2.reshape((-1, gen.accel_ms2.shape[-1]))  # [N * C, T]
  n = gen.accel_ms2.shape[0]
  t = np.arange(records.shape[-1]) * gen.dt
  fig, axes = plt.subplots(1, 3, figsize=(16, 5.5 + 2.5 * pairs), gridspec_kw=dict(width_ratios=[1.5, 1, 1]))
  step = 2.2 * float(np.max(np.abs(records)))
  for i, x in enumerate(records):
    axes[0].plot(t, x - i * step, lw=0.4, color="tab:red" if pairs and i % 2 else "k")
  pga = np.abs(records).max(axis=1)
  axes[0].set(xlabel="time (s)", ylabel="records (offset)", yticks=[],
              title=(f"{n} pairs (H1 black, H2 red)" if pairs else f"{n} records")
              + f", PGA {pga.min():.2f}-{pga.max():.2f} m/s$^2$")
  p = gen.periods_s
  lo, hi = gen.band_s
  kind = f"RotD{gen.percentile:g}" if pairs and gen.percentile is not None else "PSA"
  for i in range(n):
    axes[1].loglog(p, gen.psa_ms2[i], color="0.6", lw=0.6)
  axes[1].loglog(p, gen.psa_ms2.mean(axis=0), color="tab:blue", lw=2, label="suite mean")
  axes[1].loglog(p, gen.target_ms2[0], "k", lw=1.5, label="target")
  axes[1].loglog(p, 0.9 * gen.target_ms2[0] if required_ms2 is None else required_ms2, "k--", lw=0.8,
                 label=required_label)
  axes[1].axvspan(lo, hi, color="tab:green", alpha=0.07, label=f"band {lo}-{hi} s")
  axes[1].set(xlabel="period (s)", ylabel=f"{kind} (m/s$^2$)", title="response spectra")
  axes[1].grid(True, which="both", alpha=0.3)
  axes[1].legend(fontsize=8)
  m = 100 * gen.misfit
  axes[2].fill_between(p, m.min(axis=0), m.max(axis=0), color="tab:blue", alpha=0.25, label="range")
  axes[2].semilogx(p, m.mean(axis=0), color="tab:blue", lw=1.5, label="mean")
  axes[2].axhline(0, color="k", lw=0.8)
  axes[2].axvspan(lo, hi, color="tab:green", alpha=0.07)
  axes[2].set(xlabel="period (s)", ylabel="misfit (%)", title=f"{kind} / target - 1")
  axes[2].grid(True, which="both", alpha=0.3)
  axes[2].legend(fontsize=8)
  fig.suptitle(title)
  fig.tight_layout()
  _save(fig, path, 100)


def r2_histograms(hists: dict, path: str) -> None:
  """Histograms of R^2 per split and mode: ``hists[(split, label)] = r2 [N]``, each label
  (e.g. "raw", "refined, waveform") one histogram in its split's panel."""
  plt = _pyplot()
  splits = sorted({s for s, _ in hists})
  fig, axes = plt.subplots(1, max(1, len(splits)), figsize=(4.5 * max(1, len(splits)), 3.5), squeeze=False)
  for ax, split in zip(axes[0], splits):
    for (s, mode), r2 in hists.items():
      if s == split:
        ax.hist(np.clip(r2, -1, 1), bins=np.linspace(-1, 1, 41), alpha=0.6, label=str(mode))
    ax.axvline(0.8, color="k", ls="--", lw=0.8)
    ax.set(title=split, xlabel="R$^2$ (clipped at -1)", ylabel="generated records")
    ax.legend(fontsize=8)
  fig.tight_layout()
  _save(fig, path, 100)


def husid_curves(husids: dict, dt: float, path: str) -> None:
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
  _save(fig, path, 100)


def realism(per_split: dict, path: str) -> None:
  """Realism of generated records against real ones: one row per split.

  Columns: histograms (real against generated, as densities) of D5-95, t5, the PGA time and
  the S onset's jump, each titled with its KS statistic, and the median log10 envelopes.

  Args:
    per_split: split -> ``{"real": m, "generated": m, "envelope_times_s": [W], "ks": {name:
      float}, "pga_time_max_bin_share": {"real", "generated"}}`` where each ``m`` holds
      ``d5_95_s``, ``t5_s``, ``t_pga_s`` (``[M]`` or ``[N]``, s), ``s_onset_jump`` (log10)
      and ``log_envelope`` (``[W]``, log10 m/s^2); ``ks`` has the same names
      (``fit.realism``'s ``_values`` with its KS statistics, ``evaluate._realism_figure_data``).
    path: PNG path.
  """
  plt = _pyplot()
  rows = max(1, len(per_split))
  fig, axes = plt.subplots(rows, 5, figsize=(23, 3.5 * rows), squeeze=False)
  # (measure, axis label, format of its medians, histogram to the window's end or to the largest value)
  columns = (("d5_95_s", "D5-95 (s)", "{:.1f} s", False), ("t5_s", "t5: 5% of Arias intensity (s)", "{:.1f} s", True),
             ("t_pga_s", "time of the PGA (s)", "{:.1f} s", True),
             ("s_onset_jump", "S onset: sharpest 1 s rise of the envelope (log10)", "{:.2f}", False))
  for row, (split, v) in zip(axes, per_split.items()):
    t_end = v["envelope_times_s"][-1] + (v["envelope_times_s"][1] if v["envelope_times_s"].size > 1 else 1.0)
    for ax, (name, label, fmt, to_end) in zip(row, columns):
      r, g = v["real"][name], v["generated"][name]
      hi = t_end if to_end else max(np.max(r), np.max(g)) * 1.05
      bins = np.linspace(0.0, hi, 41)
      ax.hist(r, bins=bins, density=True, color="k", alpha=0.35, label=f"real ({r.size})")
      ax.hist(g, bins=bins, density=True, histtype="step", color="tab:red", lw=1.5, label=f"generated ({g.size})")
      title = f"{split}: KS {v['ks'][name]:.2f}, median {fmt.format(np.median(g))} (real {fmt.format(np.median(r))})"
      if name == "t_pga_s":
        share = v["pga_time_max_bin_share"]
        title += f"\nlargest 0.1 s bin: {share['generated']:.0%} of PGA times (real {share['real']:.0%})"
      ax.set(xlabel=label, ylabel="density", title=title)
      ax.legend(fontsize=7)
    t = np.append(v["envelope_times_s"], t_end)  # The last window drawn to its end.
    for who, color in (("real", "k"), ("generated", "tab:red")):
      env = v[who]["log_envelope"]
      row[4].step(t, np.append(env, env[-1]), where="post", color=color, lw=1.5, label=who)
    row[4].set(xlabel="time (s)", ylabel="log10 RMS accel (m/s$^2$)", title=f"{split}: median log-envelope")
    row[4].grid(alpha=0.3)
    row[4].legend(fontsize=7)
  fig.tight_layout()
  _save(fig, path, 90)


PAIR_COLUMNS = (("abs_component_correlation", "|correlation of H1 and H2|"),
                ("d5_95_log_ratio", "|ln(D5-95 of H1 / of H2)|"), ("t5_difference_s", "|t5 of H1 - t5 of H2| (s)"),
                ("rotd100_over_rotd50", "RotD100 / RotD50 (median over the band)"))


def pairs(per_split: dict, path: str) -> None:
  """Pairs of horizontal components, generated against real: one row per split, a histogram
  (densities) per measure of :data:`PAIR_COLUMNS`, each titled with its KS statistic.

  Args:
    per_split: split -> ``fit.pair_realism``'s dict with its ``_values`` (``{"real": {name:
      [K]}, "generated": {name: [M]}}``) and ``{name: {"ks", ...}}``.
    path: PNG path.
  """
  plt = _pyplot()
  rows = max(1, len(per_split))
  fig, axes = plt.subplots(rows, len(PAIR_COLUMNS), figsize=(5 * len(PAIR_COLUMNS), 3.3 * rows), squeeze=False)
  for row, (split, v) in zip(axes, per_split.items()):
    for ax, (name, label) in zip(row, PAIR_COLUMNS):
      r, g = v["_values"]["real"][name], v["_values"]["generated"][name]
      lo = 1.0 if name == "rotd100_over_rotd50" else 0.0
      hi = max(float(np.max(r)), float(np.max(g)), lo + 1e-3) * 1.05
      bins = np.linspace(lo, hi, 31)
      ax.hist(r, bins=bins, density=True, color="k", alpha=0.35, label=f"real pairs ({r.size})")
      ax.hist(g, bins=bins, density=True, histtype="step", color="tab:red", lw=1.5, label=f"generated ({g.size})")
      ax.set(xlabel=label, ylabel="density", title=f"{split}: KS {v[name]['ks']:.2f}, median "
                                                     f"{np.median(g):.2f} (real {np.median(r):.2f})")
      ax.legend(fontsize=7)
  fig.tight_layout()
  _save(fig, path, 90)


def examples(real, raw, raw_psa, refined_psa, psa, periods, dt: float, titles: Sequence[str], k: int, path: str,
             mode: str) -> None:
  """Panels per example: real vs generated waveform, spectra vs target, and the
  spectrograms of the real and the generated record side by side (one colour scale).

  ``real [M, T]``, ``psa [M, P]`` (targets); ``raw [M k, T]`` generated records with their
  spectra ``raw_psa`` and the refined ones' ``refined_psa`` ``[M k, P]`` (m/s^2); ``periods
  [P]`` (s), ``dt`` (s); one panel row per title (the first ``len(titles)`` targets).
  """
  plt = _pyplot()
  num = min(len(titles), real.shape[0])
  fig, axes = plt.subplots(num, 4, figsize=(20, 2.8 * num), squeeze=False,
                           gridspec_kw=dict(width_ratios=[1.5, 1, 1.1, 1.1]))
  t = np.arange(real.shape[1]) * dt
  p = periods
  for i in range(num):
    j = i * k
    axes[i, 0].plot(t, real[i], color="k", lw=0.5, label="real")
    axes[i, 0].plot(t, raw[j], color="tab:red", lw=0.5, alpha=0.8, label="generated")
    axes[i, 0].set(ylabel="m/s$^2$", title=titles[i])
    axes[i, 1].loglog(p, psa[i], "k", lw=1.5, label="target (real)")
    axes[i, 1].loglog(p, raw_psa[j], color="tab:red", lw=1, label="generated")
    axes[i, 1].loglog(p, refined_psa[j], color="tab:blue", lw=1, ls="--", label=f"refined ({mode})")
    axes[i, 1].grid(True, which="both", alpha=0.3)
    axes[i, 1].set(ylabel="PSA (m/s$^2$)")
    f, ts, power = intensity.spectrogram(np.stack([real[i], raw[j]]), dt)
    db = 10 * np.log10(power + 1e-20)
    vmax = float(db.max())
    for ax, d, who in ((axes[i, 2], db[0], "real"), (axes[i, 3], db[1], "generated")):
      ax.pcolormesh(ts, f, d, shading="auto", cmap="magma", vmin=vmax - 60, vmax=vmax)
      ax.set(ylim=(0, 25), ylabel="Hz", title=f"{who}: spectrogram (dB, one scale)")
  axes[0, 0].legend(fontsize=7)
  axes[0, 1].legend(fontsize=7)
  axes[-1, 0].set_xlabel("time (s)")
  axes[-1, 1].set_xlabel("period (s)")
  axes[-1, 2].set_xlabel("time (s)")
  axes[-1, 3].set_xlabel("time (s)")
  fig.tight_layout()
  _save(fig, path, 90)
