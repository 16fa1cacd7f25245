"""Spectral fit and distribution metrics: R^2, RMSE, the paper's criterion, correlations, KS.

The spectral-fit metrics (:func:`spectral_r2`, :func:`spectral_rmse`, ...) are written
with ``jax.numpy``: they accept NumPy or JAX arrays of spectra ``[..., P]`` (m/s^2), work
inside ``jax.jit``, and return JAX arrays. :func:`fit_metrics` summarises generated
spectra against their targets as the evaluation reports them; :func:`compare` compares
two samples of intensity measures (two-sample Kolmogorov-Smirnov); :func:`sample_correlation`
and :func:`component_pair_reference` measure how alike records of one target are;
:func:`realism` says how earthquake-like generated records are against real ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
import scipy.stats

from cvaegan_jax import intensity, spectra

__all__ = [
    "compare",
    "spectral_r2",
    "spectral_sums",
    "spectral_rmse",
    "log_spectral_rmse",
    "peak_normalised_rmse",
    "relative_misfit",
    "paper_criterion",
    "pair_correlations",
    "fit_metrics",
    "sample_correlation",
    "component_pairs",
    "component_pair_reference",
    "component_correlation",
    "pair_measures",
    "pair_realism",
    "pga_time_max_bin_share",
    "realism",
    "REALISM_BARS",
    "PAPER_R2_MIN",
    "PAPER_RMSE_MAX_MS2",
    "LEVEL_EDGES_MS2",
]

# Relative floor of the R^2 denominator (see spectral_r2).
_SS_TOT_FLOOR = 1e-12

# The paper's acceptance test (Hu et al. 2026): R^2 > 0.8 and RMSE < 0.1 m/s^2.
PAPER_R2_MIN = 0.8
PAPER_RMSE_MAX_MS2 = 0.1


# ---------------------------------------------------------------------------
# Distribution comparisons.


def compare(real: dict, generated: dict) -> dict[str, dict[str, float]]:
  """Two-sample Kolmogorov-Smirnov comparison of each measure's distribution.

  Args:
    real: name -> values (any shape, flattened), e.g. :func:`summary` of records.
    generated: the same names for generated records; names present in only
      one dict are skipped.

  Returns:
    name -> ``{"ks": D, "p_value": p, "median_real", "median_generated",
    "ratio_of_medians"}`` (Python floats; D in [0, 1] from
    ``scipy.stats.ks_2samp``; the ratio is generated / real, inf or nan when the
    real median is 0).

  Raises:
    ValueError: no name in common, or an empty or non-finite sample (naming the
      measure and the dict).
  """
  names = [k for k in real if k in generated]
  if not names:
    raise ValueError(f"real and generated share no measure: {sorted(real)} vs {sorted(generated)}")
  out = {}
  for name in names:
    samples = []
    for which, d in (("real", real), ("generated", generated)):
      x = np.asarray(d[name], dtype=np.float64).ravel()
      if x.size == 0:
        raise ValueError(f"{which}[{name!r}] is empty")
      if not np.all(np.isfinite(x)):
        raise ValueError(f"{which}[{name!r}] contains NaN or inf")
      samples.append(x)
    res = scipy.stats.ks_2samp(samples[0], samples[1])
    m_r, m_g = float(np.median(samples[0])), float(np.median(samples[1]))
    with np.errstate(divide="ignore", invalid="ignore"):
      ratio = float(np.float64(m_g) / np.float64(m_r))
    out[name] = {"ks": float(res.statistic), "p_value": float(res.pvalue), "median_real": m_r,
                 "median_generated": m_g, "ratio_of_medians": ratio}
  return out


# ---------------------------------------------------------------------------
# Spectral fit (jax.numpy: usable on NumPy arrays and inside jit).


def _check_spectrum(x, name: str) -> jax.Array:
  if not isinstance(x, jax.core.Tracer):
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
      raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim < 1 or arr.shape[-1] == 0:
      raise ValueError(f"{name} must be a non-empty [..., periods] array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
      raise ValueError(f"{name} contains NaN or inf")
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.result_type(float))
  return x


def _pair(target, generated):
  t = _check_spectrum(target, "target")
  g = _check_spectrum(generated, "generated")
  if t.shape[-1] != g.shape[-1]:
    raise ValueError(f"target and generated must have the same number of periods, "
                     f"got {t.shape} and {g.shape}")
  return t, g


def spectral_r2(target, generated) -> jax.Array:
  """Coefficient of determination of a generated spectrum against its target.

  ``R^2 = 1 - sum_P (gen - tgt)^2 / SS_tot`` with ``SS_tot = sum_P (tgt - mean_P tgt)^2``,
  over the period axis, on linear spectral accelerations. A flat target has
  ``SS_tot = 0``: the denominator is floored at ``1e-12 * sum_P tgt^2`` plus the
  smallest normal float, so a flat target gives R^2 = 1 when matched exactly and
  a large negative value otherwise (never NaN or a division by zero).

  Args:
    target: ``[..., P]`` target Sa (m/s^2).
    generated: ``[..., P]`` generated Sa (m/s^2), broadcastable with ``target``.

  Returns:
    ``[...]`` R^2 (JAX array, dimensionless).

  Raises:
    ValueError (concrete inputs): NaN/inf, empty, or mismatched period axes.
  """
  ss_res, ss_tot = spectral_sums(*_pair(target, generated))
  return 1.0 - ss_res / ss_tot


def spectral_sums(target, generated) -> tuple[jax.Array, jax.Array]:
  """``(SS_res, SS_tot)`` of :func:`spectral_r2`, each ``[...]`` in (m/s^2)^2, ``SS_tot``
  already floored; no argument checks (for use under jit and grad, e.g. in losses)."""
  ss_res = jnp.sum((generated - target) ** 2, axis=-1)
  ss_tot = jnp.sum((target - jnp.mean(target, axis=-1, keepdims=True)) ** 2, axis=-1)
  dtype = jnp.result_type(ss_res, ss_tot)
  floor = _SS_TOT_FLOOR * jnp.sum(target * target, axis=-1) + jnp.finfo(dtype).tiny
  return ss_res, jnp.maximum(ss_tot, floor)


def spectral_rmse(target, generated) -> jax.Array:
  """Root-mean-square misfit ``sqrt(mean_P (gen - tgt)^2)``, ``[...]`` in m/s^2.

  Arguments and errors as :func:`spectral_r2`.
  """
  t, g = _pair(target, generated)
  return jnp.sqrt(jnp.mean((g - t) ** 2, axis=-1))


def peak_normalised_rmse(target, generated) -> jax.Array:
  """RMSE of both spectra divided by the target's largest ordinate, ``[...]`` (dimensionless).

  The paper's data are peak-normalised (each spectrum divided by its peak), and it does not
  say whether its "RMSE < 0.1 m/s^2" is read on absolute or on those spectra. On normalised
  spectra 0.1 is a tenth of the peak for every record; in m/s^2 it is a few percent of a
  strong record's spectrum and a large misfit for a weak one. R^2 is the same either way.
  Arguments and errors as :func:`spectral_r2`.
  """
  t, g = _pair(target, generated)
  return spectral_rmse(t, g) / jnp.max(t, axis=-1)


def log_spectral_rmse(target, generated) -> jax.Array:
  """RMS of ``log10(gen / tgt)`` over the periods, ``[...]`` (log10 units).

  Both spectra must be > 0; non-positive values give inf or NaN (under jit) or
  a ValueError (concrete inputs). Other arguments and errors as :func:`spectral_r2`.
  """
  t, g = _pair(target, generated)
  for name, x in (("target", t), ("generated", g)):
    if not isinstance(x, jax.core.Tracer) and bool(jnp.any(x <= 0)):
      raise ValueError(f"{name} must be > 0 for a log-spectral misfit")
  return jnp.sqrt(jnp.mean(jnp.log10(g / t) ** 2, axis=-1))


def pair_correlations(records) -> np.ndarray:
  """Pearson correlation over time of every ordered pair of distinct rows of ``records
  [K, T]`` (any unit), ``[K * (K - 1)]`` float64: near 0 for independent records, 1 for
  copies (up to gain and offset). Empty for one record."""
  c = np.corrcoef(np.asarray(records, np.float64))
  return c[~np.eye(len(c), dtype=bool)] if c.ndim == 2 else np.zeros(0)


def relative_misfit(target, generated) -> jax.Array:
  """Per-period relative misfit ``gen / tgt - 1``, ``[..., P]`` (dimensionless).

  A zero target value gives inf or NaN. Arguments and errors as :func:`spectral_r2`.
  """
  t, g = _pair(target, generated)
  return g / t - 1.0


def paper_criterion(r2, rmse, r2_min: float = PAPER_R2_MIN, rmse_max: float = PAPER_RMSE_MAX_MS2) -> jax.Array:
  """The paper's acceptance test ``R^2 > r2_min and RMSE < rmse_max`` (strict).

  Args:
    r2: ``[...]`` from :func:`spectral_r2`.
    rmse: ``[...]`` from :func:`spectral_rmse`, m/s^2.
    r2_min: R^2 threshold (paper: 0.8).
    rmse_max: RMSE threshold in m/s^2 (paper: 0.1).

  Returns:
    ``[...]`` boolean JAX array.

  Raises:
    ValueError (concrete inputs): NaN/inf or empty ``r2``/``rmse``.
  """
  for name, x in (("r2", r2), ("rmse", rmse)):
    if not isinstance(x, jax.core.Tracer):
      arr = np.asarray(x)
      if arr.size == 0:
        raise ValueError(f"{name} is empty")
      if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
  return (jnp.asarray(r2) > r2_min) & (jnp.asarray(rmse) < rmse_max)


# ---------------------------------------------------------------------------
# Summaries of generated spectra and of real records' spread.


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
                   "r2_fail_share": float(np.mean(r2[m] <= PAPER_R2_MIN)),
                   "rmse_fail_share": float(np.mean(rmse[m] >= PAPER_RMSE_MAX_MS2))})
  return rows


def fit_metrics(target: np.ndarray, psa: np.ndarray, periods: np.ndarray, band_s) -> dict:
  """The paper's metrics of generated ``psa [N, P]`` against ``target [N, P]`` (m/s^2).

  Args:
    target, psa: ``[N, P]`` target and generated PSA, m/s^2.
    periods: ``[P]`` periods, s.
    band_s: ``(min, max)`` band of the relative-misfit summaries, s.

  Returns:
    dict of floats: the criterion share (absolute and peak-normalised RMSE), R^2 median and
    10th percentile, RMSE median and 90th percentile (m/s^2), mean log-spectral RMSE, mean
    and median-of-max |misfit| in the band, ``num``, ``by_level`` (per strength class of
    ``LEVEL_EDGES_MS2`` on ``target[:, 0]``) and ``_r2`` (``[N]`` R^2 values, for histograms).
  """
  r2 = np.asarray(spectral_r2(target, psa))
  rmse = np.asarray(spectral_rmse(target, psa))
  ok = np.asarray(paper_criterion(r2, rmse))
  ok_norm = np.asarray(paper_criterion(r2, peak_normalised_rmse(target, psa)))
  band = spectra.band_mask(periods, band_s)
  mis = np.abs(np.asarray(relative_misfit(target[:, band], psa[:, band])))
  return {"paper_criterion_share": float(ok.mean()), "criterion_share_peak_norm": float(ok_norm.mean()),
          "r2_median": float(np.median(r2)),
          "r2_p10": float(np.percentile(r2, 10)), "rmse_median_ms2": float(np.median(rmse)),
          "rmse_p90_ms2": float(np.percentile(rmse, 90)),
          "log_spectral_rmse_mean": float(np.mean(np.asarray(log_spectral_rmse(target, psa)))),
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
  mean_pair = lambda records: float(pair_correlations(records).mean())
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
    The metrics of :func:`fit_metrics` (target = each record, "generated" = its other
    component, every ordered pair once), with ``num_pairs`` (ordered pairs) and
    ``num_stations``; None when no station has two components.
  """
  pairs = component_pairs(event_ids, stations, components)
  if not len(pairs):
    return None
  psa = np.asarray(psa, np.float64)
  m = fit_metrics(psa[pairs[:, 0]], psa[pairs[:, 1]], periods, band_s)
  m.pop("_r2")
  m["num_pairs"] = m.pop("num")
  m["num_stations"] = len({(event_ids[i], stations[i]) for i in pairs[:, 0]})
  return m


# ---------------------------------------------------------------------------
# Realism of generated records against real ones.


# The bars generated records must clear to count as earthquake-like (the realism issue):
# KS of each timing measure, the largest share of PGA times in one bin, the ratio of the
# medians of Arias intensity and PGD (generated / real), and the correlation of two samples
# of one target.
REALISM_BARS = {"ks_max": 0.15, "pga_time_bin_share_max": 0.03, "ratio_range": (0.8, 1.25),
                "sample_correlation_max": 0.1}

# Timing measures of :func:`realism`: name -> intensity function ([..., T], dt) -> [...] s.
_TIMING = {"d5_75_s": intensity.d5_75, "d5_95_s": intensity.d5_95, "t5_s": intensity.t5,
           "t_pga_s": intensity.pga_time}
# Amplitude measures compared by the ratio of medians.
_AMPLITUDE = {"arias_ms": intensity.arias_intensity, "pgv_ms": intensity.pgv, "pgd_m": intensity.pgd}


def common_spectral_line(accel_ms2, dt: float, f_min: float = 2.0, f_max: float = 45.0, segment_s: float = 5.12,
                         relative_width: float = 0.5) -> dict:
  """The strongest spectral line that records share: a frequency where their power stands
  above its neighbourhood in most of them (the images an upsampling network leaves at
  multiples of its lowest rate; real records have none).

  Each record's Welch power spectrum (Hann segments of ``segment_s``, half overlapping),
  log10, minus its running median over ``relative_width`` times the frequency (at least 7
  frequencies), averaged over the records; the
  largest value over ``f_min``–``f_max``. Noise averages out over records and segments
  (about 0.05 for 100 real or random-phase records); a line present in every record stays.

  Args:
    accel_ms2: ``[N, T]`` records, m/s^2.
    dt: sampling interval, s.
    f_min, f_max: the band searched, Hz.
    segment_s: Welch segment, s (shorter than the records).
    relative_width: width of the running median as a fraction of the frequency.

  Returns:
    ``{"height_log10": float, "frequency_hz": float}``.

  Raises:
    ValueError: records shorter than a segment, or a band with fewer than 3 frequencies.
  """
  x = np.asarray(accel_ms2, np.float64)
  n = int(round(segment_s / dt))
  if x.ndim != 2 or x.shape[1] < n:
    raise ValueError(f"accel_ms2 must be [N, T] with T >= segment_s / dt = {n}, got {x.shape}")
  f, p = scipy.signal.welch(x, fs=1.0 / dt, nperseg=n, axis=-1)
  log_p = np.log10(np.maximum(p, 1e-30 * p.max(axis=-1, keepdims=True) + 1e-300))
  band = np.flatnonzero((f >= f_min) & (f <= min(f_max, 0.5 / dt)))
  if band.size < 3:
    raise ValueError(f"fewer than 3 frequencies in [{f_min}, {f_max}] Hz")
  half = np.maximum(3, np.round(0.5 * relative_width * f[band] / f[1]).astype(int))
  mean = np.array([np.mean(log_p[:, k] - np.median(log_p[:, max(k - h, 0):k + h + 1], axis=-1))
                   for k, h in zip(band, half)])
  return {"height_log10": float(mean.max()), "frequency_hz": float(f[band[np.argmax(mean)]])}


def pga_time_max_bin_share(t_pga_s, bin_s: float = 0.1) -> float:
  """The largest share of records whose PGA falls in one time bin ``[k bin_s, (k+1) bin_s)``.

  Real PGA times spread with the S arrival over many bins; a generator that puts its peak at
  one fixed time in every record gives a share near 1.

  Args:
    t_pga_s: ``[N]`` PGA times in s (>= 0).
    bin_s: bin width in s, > 0.

  Returns:
    A float in (0, 1].

  Raises:
    ValueError: empty, negative or non-finite times; ``bin_s <= 0``.
  """
  t = np.asarray(t_pga_s, np.float64).ravel()
  if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
    raise ValueError(f"t_pga_s must be a non-empty array of finite times >= 0, got {t_pga_s!r}")
  if not bin_s > 0:
    raise ValueError(f"bin_s must be > 0, got {bin_s!r}")
  # A time on a bin edge (a multiple of dt, perhaps rounded to float32 from below) opens the
  # bin above it: times within 1e-4 of a bin below an edge count as on it.
  return float(np.bincount(np.floor(t / bin_s + 1e-4).astype(int)).max() / t.size)


def realism(real_accel, generated_accel, dt: float, per_target: int, bin_s: float = 0.1,
            envelope_window_s: float = 1.0) -> dict:
  """How earthquake-like generated records are, measured against real records.

  Args:
    real_accel: ``[M, T]`` real records, m/s^2.
    generated_accel: ``[N, T]`` generated records, m/s^2, the ``per_target`` samples of
      each target consecutive (``N`` a multiple of ``per_target``).
    dt: sampling interval, s.
    per_target: generated samples per target (1: no sample correlation).
    bin_s: bin width of the PGA times, s.
    envelope_window_s: window of the log-envelopes, s.

  Returns:
    A dict (Python floats; a private ``_values`` key holds arrays for figures):

    * ``d5_75_s``, ``d5_95_s``, ``t5_s``, ``t_pga_s``: ``{"ks", "median_real",
      "median_generated"}`` (two-sample KS statistic in [0, 1], medians in s);
    * ``pga_time_max_bin_share``: ``{"generated", "real"}``, the largest share of PGA times
      in one ``bin_s`` bin (:func:`pga_time_max_bin_share`);
    * ``ratio_of_medians``: ``{"arias_ms", "pgv_ms", "pgd_m"}``, median generated / median
      real (PGV and PGD of the records as given, see :func:`intensity.pgv`);
    * ``sample_correlation``: :func:`sample_correlation` (``generated``: mean correlation
      of the samples of one target, None for ``per_target == 1``; ``real``);
    * ``s_onset``: the sharpest rise of the envelope (:func:`intensity.envelope_jump`):
      ``{"ks_time", "ks_jump", "median_time_real", "median_time_generated",
      "median_jump_real", "median_jump_generated"}`` (s; log10 units). Measured, no bar yet;
    * ``log_envelope_distance``: RMS over the windows of the difference of the median
      log10 envelopes (:func:`intensity.log_envelope`), log10 units (0.1: 26% off);
    * ``fourier_roughness``: ``{"ks", "median_real", "median_generated"}`` of
      :func:`intensity.fourier_roughness` over 1-20 Hz (log10; random-phase records 0.28,
      spectral lines and notches more). Measured, no bar yet;
    * ``spectral_line``: ``{"generated", "real"}``, each :func:`common_spectral_line`
      (``{"height_log10", "frequency_hz"}``). Measured, no bar yet;
    * ``passes``: each bar of :data:`REALISM_BARS` as a bool (``sample_correlation`` None
      when it is not measured), and ``all`` (True when no measured bar fails);
    * ``_values``: ``{"real": ..., "generated": ...}`` each with the timing measures
      ``[M]``/``[N]``, ``s_onset_jump`` (``[M]``/``[N]``) and ``log_envelope`` (the median,
      ``[W]``), and ``envelope_times_s
      [W]`` (window starts).

  Raises:
    ValueError: records of different lengths, a record with no energy, NaN/inf, ``N`` not
      a multiple of ``per_target``, ``bin_s <= 0``.
  """
  real = np.asarray(real_accel, np.float64)
  gen = np.asarray(generated_accel, np.float64)
  if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
    raise ValueError(f"real_accel [M, T] and generated_accel [N, T] need the same T, got {real.shape} and "
                     f"{gen.shape}")
  if per_target < 1 or gen.shape[0] % per_target:
    raise ValueError(f"generated_accel has {gen.shape[0]} records, not a multiple of per_target={per_target}")
  out, values = {}, {"real": {}, "generated": {}}
  for name, fn in _TIMING.items():
    r, g = fn(real, dt), fn(gen, dt)
    values["real"][name], values["generated"][name] = r, g
    # Only the statistic is used: the asymptotic p-value is cheap and never warns.
    ks = scipy.stats.ks_2samp(r, g, method="asymp").statistic
    out[name] = {"ks": float(ks), "median_real": float(np.median(r)), "median_generated": float(np.median(g))}
  out["pga_time_max_bin_share"] = {"generated": pga_time_max_bin_share(values["generated"]["t_pga_s"], bin_s),
                                   "real": pga_time_max_bin_share(values["real"]["t_pga_s"], bin_s)}
  with np.errstate(divide="ignore", invalid="ignore"):
    out["ratio_of_medians"] = {name: float(np.median(fn(gen, dt)) / np.median(fn(real, dt)))
                               for name, fn in _AMPLITUDE.items()}
  out["sample_correlation"] = sample_correlation(gen, per_target, real)
  (time_r, jump_r), (time_g, jump_g) = intensity.envelope_jump(real, dt), intensity.envelope_jump(gen, dt)
  values["real"]["s_onset_jump"], values["generated"]["s_onset_jump"] = jump_r, jump_g
  out["s_onset"] = {"ks_time": float(scipy.stats.ks_2samp(time_r, time_g, method="asymp").statistic),
                    "ks_jump": float(scipy.stats.ks_2samp(jump_r, jump_g, method="asymp").statistic),
                    "median_time_real": float(np.median(time_r)), "median_time_generated": float(np.median(time_g)),
                    "median_jump_real": float(np.median(jump_r)), "median_jump_generated": float(np.median(jump_g))}
  env = {who: np.median(intensity.log_envelope(x, dt, envelope_window_s), axis=0)
         for who, x in (("real", real), ("generated", gen))}
  out["log_envelope_distance"] = float(np.sqrt(np.mean((env["generated"] - env["real"]) ** 2)))
  rough = {who: intensity.fourier_roughness(x, dt) for who, x in (("real", real), ("generated", gen))}
  out["spectral_line"] = {"generated": common_spectral_line(gen, dt), "real": common_spectral_line(real, dt)}
  out["fourier_roughness"] = {"ks": float(scipy.stats.ks_2samp(rough["real"], rough["generated"], method="asymp").statistic),
                              "median_real": float(np.median(rough["real"])),
                              "median_generated": float(np.median(rough["generated"]))}
  for who in env:
    values[who]["log_envelope"] = env[who]
  values["envelope_times_s"] = np.arange(env["real"].size) * int(round(envelope_window_s / dt)) * dt
  out["passes"] = _realism_passes(out)
  out["_values"] = values
  return out


def _realism_passes(m: dict) -> dict:
  lo, hi = REALISM_BARS["ratio_range"]
  passes = {f"ks_{name[:-2]}": m[name]["ks"] <= REALISM_BARS["ks_max"] for name in _TIMING}
  passes["pga_time_bin_share"] = m["pga_time_max_bin_share"]["generated"] <= REALISM_BARS["pga_time_bin_share_max"]
  for name in ("arias_ms", "pgd_m"):
    passes[f"{name.split('_')[0]}_ratio"] = bool(lo <= m["ratio_of_medians"][name] <= hi)
  corr = m["sample_correlation"]["generated"]
  passes["sample_correlation"] = None if corr is None else corr <= REALISM_BARS["sample_correlation_max"]
  passes["all"] = all(v is not False for v in passes.values())
  return passes


def component_correlation(pairs) -> np.ndarray:
  """Pearson correlation over time of the two components of each pair ``[K, 2, T]`` (any
  unit): ``[K]`` float64, near 0 for real pairs (ASCE 4 asks below 0.3)."""
  x = np.asarray(pairs, np.float64)
  x0 = x - x.mean(-1, keepdims=True)
  return np.sum(x0[:, 0] * x0[:, 1], -1) / np.sqrt(np.sum(x0[:, 0] ** 2, -1) * np.sum(x0[:, 1] ** 2, -1) + 1e-300)


def pair_measures(pairs, dt: float, periods, band_s) -> dict[str, np.ndarray]:
  """What makes two horizontal components one recording, per pair of ``pairs [K, 2, T]`` (m/s^2).

  Returns ``[K]`` float64 arrays: ``component_correlation`` (:func:`component_correlation`),
  ``d5_95_log_ratio`` and ``d5_75_log_ratio`` (``|ln(H1 / H2)|`` of the significant
  durations: one event and site give similar ones), ``t5_difference_s``
  (``|t5(H1) - t5(H2)|``, s: one arrival), and ``rotd100_over_rotd50`` (the median over
  the periods of ``periods [P]`` (s) inside ``band_s`` of RotD100 / RotD50: 1 for circular
  motion, sqrt(2) for motion along one line; about 1.2 for recordings, Boore 2010).
  """
  x = np.asarray(pairs, np.float64)
  if x.ndim != 3 or x.shape[1] != 2:
    raise ValueError(f"pairs must be [K, 2, T] (two horizontal components), got shape {x.shape}")
  flat = x.reshape((-1, x.shape[-1]))
  d95, d75, t5 = (f(flat, dt).reshape((-1, 2)) for f in (intensity.d5_95, intensity.d5_75, intensity.t5))
  per = np.asarray(periods, np.float64)
  rot = np.asarray(spectra.rotd_spectrum(x.astype(np.float32), dt, per, percentiles=(50.0, 100.0)), np.float64)
  band = spectra.band_mask(per, band_s)
  return {"component_correlation": component_correlation(x), "d5_95_log_ratio": np.abs(np.log(d95[:, 0] / d95[:, 1])),
          "d5_75_log_ratio": np.abs(np.log(d75[:, 0] / d75[:, 1])), "t5_difference_s": np.abs(t5[:, 0] - t5[:, 1]),
          "rotd100_over_rotd50": np.median(rot[:, 1, band] / rot[:, 0, band], axis=-1)}


def pair_realism(real_pairs, generated_pairs, dt: float, periods, band_s) -> dict:
  """Generated pairs of horizontal components against real ones, per :func:`pair_measures`.

  Args:
    real_pairs: ``[K, 2, T]`` real pairs (one station's two components of one record), m/s^2.
    generated_pairs: ``[M, 2, T]`` generated pairs, m/s^2.
    dt: sampling interval, s. periods: ``[P]`` s. band_s: (shortest, longest) period, s.

  Returns:
    For each measure of :func:`pair_measures` ``{"median_real", "median_generated", "ks"}``
    (two-sample KS), the absolute correlation as ``abs_component_correlation``,
    ``num_real``, ``num_generated``, and a private ``_values`` ``{"real": measures,
    "generated": measures}`` (arrays, for figures).
  """
  r = pair_measures(real_pairs, dt, periods, band_s)
  g = pair_measures(generated_pairs, dt, periods, band_s)
  r["abs_component_correlation"] = np.abs(r.pop("component_correlation"))
  g["abs_component_correlation"] = np.abs(g.pop("component_correlation"))
  out = {k: {"median_real": float(np.median(r[k])), "median_generated": float(np.median(g[k])),
             "ks": float(scipy.stats.ks_2samp(r[k], g[k], method="asymp").statistic)} for k in r}
  out.update(num_real=int(len(r["t5_difference_s"])), num_generated=int(len(g["t5_difference_s"])),
             _values={"real": r, "generated": g})
  return out
