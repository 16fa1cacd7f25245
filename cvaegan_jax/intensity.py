"""Intensity measures of accelerograms (NumPy): Arias, Husid, durations, peaks, spectra.

Every function works on NumPy float64 arrays batched over leading axes:
``accel_ms2 [..., T]`` in m/s^2 sampled every ``dt`` seconds; each returns
``[...]`` (one value per record) unless said otherwise. Velocity and
displacement come from the trapezoid rule starting at rest, on the record as
given: baseline-correct first (:func:`baseline_correct`) when the record may
drift, or PGV/PGD measure the drift.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from cvaegan_jax import validation

__all__ = [
    "baseline_correct",
    "velocity_displacement",
    "arias_intensity",
    "husid",
    "significant_duration",
    "husid_time",
    "t5",
    "d5_75",
    "d5_95",
    "pga",
    "pga_time",
    "envelope_jump",
    "pgv",
    "pgd",
    "mean_period",
    "fourier_amplitude",
    "fourier_roughness",
    "spectrogram",
    "log_envelope",
    "summary",
]




# ---------------------------------------------------------------------------
# Argument checks (each names the argument at fault).


def _check_accel(accel, name: str = "accel_ms2", min_samples: int = 2) -> np.ndarray:
  arr = np.asarray(accel)
  if arr.dtype.kind not in "biuf":
    raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
  arr = arr.astype(np.float64)
  if arr.ndim < 1 or arr.size == 0:
    raise ValueError(f"{name} must be a non-empty [..., time] array, got shape {arr.shape}")
  if arr.shape[-1] < min_samples:
    raise ValueError(f"{name} needs at least {min_samples} samples on its last axis, got shape {arr.shape}")
  if not np.all(np.isfinite(arr)):
    bad = np.argwhere(~np.isfinite(arr))[0]
    raise ValueError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)})")
  return arr


def _cumtrapz(x: np.ndarray, dt: float) -> np.ndarray:
  """Cumulative trapezoid integral along the last axis, starting at 0."""
  out = np.zeros_like(x)
  np.cumsum(0.5 * dt * (x[..., 1:] + x[..., :-1]), axis=-1, out=out[..., 1:])
  return out


# ---------------------------------------------------------------------------
# Integration and baseline correction.


def velocity_displacement(accel_ms2, dt: float) -> tuple[np.ndarray, np.ndarray]:
  """Velocity and displacement by the trapezoid rule, starting from rest.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.

  Returns:
    ``(vel_ms [..., T], disp_m [..., T])`` float64, with ``vel[..., 0] = disp[..., 0] = 0``.

  Raises:
    ValueError: NaN/inf or fewer than 2 samples in ``accel_ms2``; ``dt <= 0``.
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  v = _cumtrapz(a, dt)
  return v, _cumtrapz(v, dt)


def baseline_correct(accel_ms2, dt: float, order: int = 3) -> np.ndarray:
  """Remove the polynomial baseline that makes velocity and displacement drift.

  The correction is an acceleration polynomial ``c(t) = sum_k c_k (t / t_end)^k``,
  ``k = 0 .. order - 2``: its double integral from rest is a displacement
  polynomial of degree ``order`` without constant or linear term. Its
  coefficients minimise ``sum_t (d(t) - p(t))^2``, the squared distance of the
  record's displacement ``d`` to that displacement polynomial ``p``, subject to
  the exact end conditions of the corrected record: its trapezoid-rule velocity
  and displacement (from rest, as :func:`velocity_displacement`) both end at 0
  (up to rounding, ~1e-12 of their peaks). This is one constrained least-squares
  problem, solved in closed form (minimum-norm particular solution plus the
  null-space least-squares fit), so:

  * the constant term subsumes mean removal;
  * ``order = 3`` (default) leaves no freedom: the correction is the unique
    linear acceleration ``c0 + c1 t`` that zeroes the final velocity and
    displacement. An offset plus a linear drift added to a clean record is
    removed exactly, and a record whose velocity and displacement already end at
    zero is returned unchanged (to rounding);
  * ``order > 3`` also removes the longer-period polynomial trend of the
    displacement (and so alters a clean record's long periods);
  * the correction is idempotent for every order.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2, ``T >= order``.
    dt: sampling interval in seconds.
    order: degree of the displacement polynomial, an integer >= 3 (3 needs the
      two free coefficients that the two end conditions use up).

  Returns:
    ``[..., T]`` corrected acceleration, float64, m/s^2.

  Raises:
    ValueError: NaN/inf in ``accel_ms2`` or fewer than ``order`` samples;
      ``dt <= 0``; ``order`` not an integer >= 3.
  """
  if isinstance(order, bool) or int(order) != order or order < 3:
    raise ValueError(f"order must be an integer >= 3, got {order!r}")
  order = int(order)
  a = _check_accel(accel_ms2, min_samples=max(order, 3))
  dt = validation.check_dt(dt)
  lead, n = a.shape[:-1], a.shape[-1]
  a2 = a.reshape(-1, n)
  # Basis accelerations in normalised time (conditioning) and their discrete
  # integrals, computed with the same trapezoid rule as the end conditions.
  tau = np.arange(n) / (n - 1)
  basis = tau[None, :] ** np.arange(order - 1)[:, None]  # [m, T]
  bv, bd = velocity_displacement(basis, dt)
  v, d = velocity_displacement(a2, dt)
  ends = np.stack([bv[:, -1], bd[:, -1]])  # [2, m]
  rhs = np.stack([v[:, -1], d[:, -1]])  # [2, B]
  # Minimum-norm coefficients meeting the end conditions, plus the null-space
  # component that best fits the remaining displacement trend.
  coef = np.linalg.pinv(ends) @ rhs  # [m, B]
  _, _, vh = np.linalg.svd(ends)
  null = vh[2:].T  # [m, m - 2]
  if null.shape[1]:
    resid = d.T - bd.T @ coef  # [T, B]
    y, *_ = np.linalg.lstsq(bd.T @ null, resid, rcond=None)
    coef = coef + null @ y
  out = a2 - (basis.T @ coef).T
  return out.reshape(lead + (n,))


# ---------------------------------------------------------------------------
# Energy and duration.


def arias_intensity(accel_ms2, dt: float) -> np.ndarray:
  """Arias intensity ``I_A = pi / (2 g) * integral a(t)^2 dt`` (trapezoid rule).

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.

  Returns:
    ``[...]`` float64 in m/s (``g = 9.80665`` m/s^2).

  Raises:
    ValueError: NaN/inf or fewer than 2 samples in ``accel_ms2``; ``dt <= 0``.
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  a2 = a * a
  return np.pi / (2.0 * validation.G_MS2) * dt * (a2.sum(-1) - 0.5 * (a2[..., 0] + a2[..., -1]))


def husid(accel_ms2, dt: float) -> np.ndarray:
  """Normalised cumulative Arias intensity (Husid plot), 0 at the start, 1 at the end.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.

  Returns:
    ``[..., T]`` float64, non-decreasing from 0 to 1.

  Raises:
    ValueError: NaN/inf, fewer than 2 samples, or a record that is zero
      everywhere (no energy to normalise) in ``accel_ms2``; ``dt <= 0``.
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  cum = _cumtrapz(a * a, dt)
  total = cum[..., -1:]
  if np.any(total <= 0):
    bad = np.argwhere(total[..., 0] <= 0)[0]
    raise ValueError(f"accel_ms2 record {tuple(int(i) for i in bad)} is zero everywhere: Husid plot undefined")
  return cum / total


def significant_duration(accel_ms2, dt: float, start: float = 0.05, end: float = 0.95) -> np.ndarray:
  """Significant duration: time between Husid levels ``start`` and ``end``.

  Crossing times are linearly interpolated between samples (not rounded to a
  sample), so a record with constant ``a^2`` of duration D gives exactly
  ``(end - start) * D``.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    start: Husid level at which the interval opens, in [0, end).
    end: Husid level at which it closes, in (start, 1].

  Returns:
    ``[...]`` float64 duration in seconds.

  Raises:
    ValueError: bad ``accel_ms2`` (see :func:`husid`), ``dt <= 0``, or levels
      outside ``0 <= start < end <= 1``.
  """
  if not (0.0 <= start < end <= 1.0):
    raise ValueError(f"start and end must satisfy 0 <= start < end <= 1, got start={start!r}, end={end!r}")
  h = husid(accel_ms2, dt)
  dt = float(dt)
  return _crossing_time(h, end, dt) - _crossing_time(h, start, dt)


def _crossing_time(h: np.ndarray, level: float, dt: float) -> np.ndarray:
  """First time (s) where the non-decreasing ``h [..., T]`` reaches ``level``."""
  k = np.argmax(h >= level, axis=-1)  # h[..., -1] == 1 >= level, so always found.
  km1 = np.maximum(k - 1, 0)
  h1 = np.take_along_axis(h, k[..., None], -1)[..., 0]
  h0 = np.take_along_axis(h, km1[..., None], -1)[..., 0]
  step = h1 - h0
  frac = np.where(step > 0, (level - h0) / np.where(step > 0, step, 1.0), 0.0)
  return np.where(k == 0, 0.0, (km1 + frac) * dt)


def husid_time(accel_ms2, dt: float, level: float) -> np.ndarray:
  """Time (s, from the first sample) at which the Husid curve first reaches ``level``.

  Linearly interpolated between samples, as :func:`significant_duration`.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    level: Husid level in [0, 1].

  Returns:
    ``[...]`` float64 in seconds.

  Raises:
    ValueError: bad ``accel_ms2`` (see :func:`husid`), ``dt <= 0``, or ``level`` outside [0, 1].
  """
  if not 0.0 <= level <= 1.0:
    raise ValueError(f"level must lie in [0, 1], got {level!r}")
  return _crossing_time(husid(accel_ms2, dt), level, float(dt))


def t5(accel_ms2, dt: float) -> np.ndarray:
  """Onset of the strong shaking: the time (s) at which 5% of the Arias intensity has
  arrived, ``[...]``; see :func:`husid_time`. In windows cut at the P pick it follows the
  S-P time; a record whose energy starts at its first sample gives 0."""
  return husid_time(accel_ms2, dt, 0.05)


def d5_75(accel_ms2, dt: float) -> np.ndarray:
  """Significant duration D5-75 in seconds, ``[...]``; see :func:`significant_duration`."""
  return significant_duration(accel_ms2, dt, 0.05, 0.75)


def d5_95(accel_ms2, dt: float) -> np.ndarray:
  """Significant duration D5-95 in seconds, ``[...]``; see :func:`significant_duration`."""
  return significant_duration(accel_ms2, dt, 0.05, 0.95)


# ---------------------------------------------------------------------------
# Peaks.


def pga(accel_ms2, dt: float | None = None) -> np.ndarray:
  """Peak ground acceleration ``max |a|``, ``[...]`` in m/s^2.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: unused (accepted for a uniform signature); checked when given.

  Raises:
    ValueError: NaN/inf or empty ``accel_ms2``; ``dt <= 0`` when given.
  """
  a = _check_accel(accel_ms2, min_samples=1)
  if dt is not None:
    validation.check_dt(dt)
  return np.max(np.abs(a), axis=-1)


def pga_time(accel_ms2, dt: float) -> np.ndarray:
  """Time of the PGA from the record's first sample, ``[...]`` in s (the first peak on ties).

  In windows cut at the P onset it follows the S arrival and varies from record to record; a
  generator that puts its largest sample at one fixed time in every record shows up here.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.

  Raises:
    ValueError: NaN/inf or empty ``accel_ms2``; ``dt <= 0``.
  """
  a = _check_accel(accel_ms2, min_samples=1)
  return np.argmax(np.abs(a), axis=-1) * validation.check_dt(dt)


def envelope_jump(accel_ms2, dt: float, start_s: float = 2.0, window_s: float = 1.0,
                  bin_s: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
  """The sharpest rise of a record's envelope: its S onset, ``(time [...] s, jump [...])``.

  The log10 RMS of ``bin_s`` bins is averaged over the ``window_s`` after and before each bin
  boundary at or after ``start_s``; the boundary where the mean after exceeds the mean before
  the most is the onset time, and that excess (log10 units: 1 means the shaking grows tenfold
  from one second to the next) is the jump. In windows cut 1 s before the P pick (as the
  data's, ``start_s`` 2 s skips the P arrival) the S waves arrive so: on the quickstart's
  simulated windows of M < 7.5 the onset is the simulator's S arrival within 0.5 s for
  84-100% of records (M 7.6-8.0, long ruptures: 34%), a median 1 s before t5, with jumps of
  0.8-1.4; shaking that builds up over seconds jumps by 0.5 or less.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    start_s: earliest onset considered, s (>= window_s).
    window_s: averaging window on either side, s (a whole number of bins).
    bin_s: RMS bin, s (at least one sample).

  Returns:
    ``(onset_time_s, jump_log10)``, each ``[...]`` float64.

  Raises:
    ValueError: bad ``accel_ms2`` or ``dt``; a record too short for ``start_s`` and two
      windows; ``bin_s`` under one sample or ``window_s``/``start_s`` shorter than a bin.
  The bins are :func:`log_envelope`'s (floored at 1e-15 m/s^2).
  """
  a = _check_accel(accel_ms2, min_samples=1)
  dt = validation.check_dt(dt)
  n = int(round(bin_s / dt))
  if n < 1 or n > a.shape[-1]:
    raise ValueError(f"bin_s={bin_s!r} s must span one sample to the whole record")
  k = int(round(window_s / bin_s))
  first = int(np.ceil(start_s / bin_s - 1e-9))
  if k < 1 or first < k:
    raise ValueError(f"window_s={window_s!r} and start_s={start_s!r} s must be at least one bin ({bin_s} s), "
                     f"with start_s >= window_s")
  env = log_envelope(a, dt, bin_s, floor_ms2=1e-15)  # [..., bins]
  num_bins = env.shape[-1]
  if first + k > num_bins:
    raise ValueError(f"accel_ms2 of {a.shape[-1]} samples is too short for an onset at or after {start_s} s "
                     f"with {window_s} s windows")
  c = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(env, axis=-1)], axis=-1)
  edges = np.arange(first, num_bins - k + 1)
  jump = (c[..., edges + k] - 2 * c[..., edges] + c[..., edges - k]) / k
  best = np.argmax(jump, axis=-1)
  return edges[best] * n * dt, np.take_along_axis(jump, best[..., None], axis=-1)[..., 0]


def pgv(accel_ms2, dt: float) -> np.ndarray:
  """Peak ground velocity ``max |v|``, ``[...]`` in m/s.

  ``v`` is the trapezoid integral of the record as given, from rest: baseline-
  correct first (:func:`baseline_correct`) or a drift inflates the peak.

  Raises:
    ValueError: as :func:`velocity_displacement`.
  """
  v, _ = velocity_displacement(accel_ms2, dt)
  return np.max(np.abs(v), axis=-1)


def pgd(accel_ms2, dt: float) -> np.ndarray:
  """Peak ground displacement ``max |d|``, ``[...]`` in m.

  ``d`` is the double trapezoid integral of the record as given, from rest:
  baseline-correct first (:func:`baseline_correct`) or a drift dominates it.

  Raises:
    ValueError: as :func:`velocity_displacement`.
  """
  _, d = velocity_displacement(accel_ms2, dt)
  return np.max(np.abs(d), axis=-1)


# ---------------------------------------------------------------------------
# Frequency content.


def fourier_amplitude(accel_ms2, dt: float) -> tuple[np.ndarray, np.ndarray]:
  """One-sided Fourier amplitude spectrum ``|rfft(a)| * dt``.

  A sine of amplitude A over a whole number of cycles and D = T * dt seconds
  peaks at its frequency with ``A * D / 2``.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.

  Returns:
    ``(freqs_hz [F], fas_ms [..., F])`` with ``F = T // 2 + 1``; FAS in m/s.

  Raises:
    ValueError: NaN/inf or fewer than 2 samples in ``accel_ms2``; ``dt <= 0``.
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  return np.fft.rfftfreq(a.shape[-1], dt), np.abs(np.fft.rfft(a, axis=-1)) * dt


RAYLEIGH_LOG10_STD = float(np.pi / np.sqrt(24.0) / np.log(10.0))  # 0.2785: std of log10 |X|, X complex Gaussian.


def fourier_roughness(accel_ms2, dt: float, f_min: float = 1.0, f_max: float = 20.0,
                      relative_width: float = 0.2) -> np.ndarray:
  """How tonal a record's Fourier amplitude spectrum is: the standard deviation, over
  ``f_min``–``f_max``, of log10 FAS about its running mean over ``relative_width * f``
  around each frequency ``f``.

  A record made of random-phase wave groups has Rayleigh-distributed Fourier amplitudes
  whatever its smooth spectral shape: about :data:`RAYLEIGH_LOG10_STD` (0.28; a little
  less, as the running mean takes part of each bin's own value out), and so do real
  records. Lines and notches raise it: a filter with a jagged amplitude (a narrow-band gain
  rings through the whole window, visible as horizontal stripes in a spectrogram) or the
  images of an upsampling network.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    f_min, f_max: the band, Hz (``0 < f_min < f_max``).
    relative_width: width of the running mean as a fraction of the frequency, > 0.

  Returns:
    ``[...]`` float64, log10 units.

  Raises:
    ValueError: bad ``accel_ms2`` or ``dt``; a bad band or width; fewer than 2 FFT
      frequencies in the band; a record with no Fourier amplitude in the band.
  """
  if not (np.isfinite(f_min) and np.isfinite(f_max) and 0 < f_min < f_max):
    raise ValueError(f"f_min and f_max must satisfy 0 < f_min < f_max (Hz), got {f_min!r}, {f_max!r}")
  if not (np.isfinite(relative_width) and relative_width > 0):
    raise ValueError(f"relative_width must be > 0, got {relative_width!r}")
  freqs, fas = fourier_amplitude(accel_ms2, dt)
  band = np.flatnonzero((freqs >= f_min) & (freqs <= f_max))
  if band.size < 2:
    raise ValueError(f"fewer than 2 FFT frequencies of the record lie in [{f_min}, {f_max}] Hz")
  if np.any(fas[..., band].max(axis=-1) <= 0):
    raise ValueError(f"accel_ms2 has a record with no Fourier amplitude in [{f_min}, {f_max}] Hz")
  log_fas = np.log10(np.maximum(fas, 1e-12 * fas.max(axis=-1, keepdims=True)))  # No log of 0.
  half = np.maximum(1, np.round(0.5 * relative_width * freqs[band] / freqs[1]).astype(int))
  lo = np.maximum(band - half, 1)
  hi = np.minimum(band + half, freqs.size - 1)
  csum = np.concatenate([np.zeros(log_fas.shape[:-1] + (1,)), np.cumsum(log_fas, axis=-1)], axis=-1)
  mean = (csum[..., hi + 1] - csum[..., lo]) / (hi - lo + 1)
  return np.std(log_fas[..., band] - mean, axis=-1)


def mean_period(accel_ms2, dt: float, f_min: float = 0.25, f_max: float = 20.0) -> np.ndarray:
  """Mean period ``Tm = sum(C_i^2 / f_i) / sum(C_i^2)`` (Rathje et al. 1998).

  ``C_i`` are the Fourier amplitudes at the FFT frequencies ``f_i`` with
  ``f_min <= f_i <= f_max`` (Rathje et al. use 0.25-20 Hz).

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    f_min: lowest frequency in Hz, > 0.
    f_max: highest frequency in Hz, > f_min.

  Returns:
    ``[...]`` float64 in seconds.

  Raises:
    ValueError: bad ``accel_ms2`` or ``dt``; ``f_min``/``f_max`` not
      ``0 < f_min < f_max``; no FFT frequency in the band (record too short or
      band above Nyquist); a record with no energy in the band.
  """
  if not (np.isfinite(f_min) and np.isfinite(f_max) and 0 < f_min < f_max):
    raise ValueError(f"f_min and f_max must satisfy 0 < f_min < f_max (Hz), got {f_min!r}, {f_max!r}")
  freqs, fas = fourier_amplitude(accel_ms2, dt)
  band = (freqs >= f_min) & (freqs <= f_max)
  if not np.any(band):
    raise ValueError(f"no FFT frequency of the record lies in [f_min, f_max] = [{f_min}, {f_max}] Hz")
  c2 = fas[..., band] ** 2
  total = c2.sum(-1)
  if np.any(total <= 0):
    raise ValueError(f"accel_ms2 has a record with no Fourier amplitude in [{f_min}, {f_max}] Hz")
  return (c2 / freqs[band]).sum(-1) / total


def spectrogram(accel_ms2, dt: float, window_s: float = 2.0, overlap: float = 0.9):
  """Short-time power spectral density (``scipy.signal.spectrogram``, Tukey window).

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    window_s: segment length in seconds, at least 2 samples and at most the record.
    overlap: fraction of a segment shared with the next, in [0, 1).

  Returns:
    ``(freqs_hz [F], times_s [S], power [..., F, S])``; power is a PSD in
    (m/s^2)^2/Hz, times are segment centres from the record start.

  Raises:
    ValueError: bad ``accel_ms2`` or ``dt``; ``window_s`` shorter than 2
      samples or longer than the record; ``overlap`` outside [0, 1).
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  nperseg = int(round(window_s / dt))
  if not (2 <= nperseg <= a.shape[-1]):
    raise ValueError(f"window_s={window_s!r} s must span 2 samples to the whole record "
                     f"({a.shape[-1]} samples at dt={dt} s)")
  if not (0.0 <= overlap < 1.0):
    raise ValueError(f"overlap must lie in [0, 1), got {overlap!r}")
  noverlap = min(int(round(overlap * nperseg)), nperseg - 1)
  return scipy.signal.spectrogram(a, fs=1.0 / dt, nperseg=nperseg, noverlap=noverlap, axis=-1)


def log_envelope(accel_ms2, dt: float, window_s: float = 1.0, floor_ms2: float = 1e-8) -> np.ndarray:
  """Log10 of the RMS acceleration in consecutive windows: the record's envelope.

  Windows of ``n = round(window_s / dt)`` samples start at the first sample and do not
  overlap; a last partial window is dropped, so ``W = T // n``. Window ``w`` covers
  ``[w n dt, (w + 1) n dt)`` seconds. The RMS is floored at ``floor_ms2`` so that a silent
  window gives ``log10(floor_ms2)``, not ``-inf``.

  Args:
    accel_ms2: ``[..., T]`` acceleration in m/s^2.
    dt: sampling interval in seconds.
    window_s: window length in seconds, at least one sample and at most the record.
    floor_ms2: smallest RMS in m/s^2, > 0.

  Returns:
    ``[..., W]`` float64, log10 of m/s^2.

  Raises:
    ValueError: bad ``accel_ms2`` or ``dt``; ``window_s`` shorter than one sample or
      longer than the record; ``floor_ms2 <= 0``.
  """
  a = _check_accel(accel_ms2, min_samples=1)
  dt = validation.check_dt(dt)
  n = int(round(window_s / dt))
  if not 1 <= n <= a.shape[-1]:
    raise ValueError(f"window_s={window_s!r} s must span one sample to the whole record "
                     f"({a.shape[-1]} samples at dt={dt} s)")
  if not floor_ms2 > 0:
    raise ValueError(f"floor_ms2 must be > 0, got {floor_ms2!r}")
  w = a.shape[-1] // n
  windows = a[..., :w * n].reshape(a.shape[:-1] + (w, n))
  return np.log10(np.maximum(np.sqrt(np.mean(windows * windows, axis=-1)), floor_ms2))


# ---------------------------------------------------------------------------
# Summaries.


def summary(accel_ms2, dt: float) -> dict[str, np.ndarray]:
  """The standard intensity measures of each record.

  PGV and PGD integrate the records as given (see :func:`pgv`).

  Args:
    accel_ms2: ``[N, T]`` (or ``[..., T]``) acceleration in m/s^2.
    dt: sampling interval in seconds.

  Returns:
    dict of ``[N]`` (``[...]``) float64 arrays: ``arias_ms`` (m/s), ``d5_75_s``,
    ``d5_95_s`` (s), ``pga_ms2`` (m/s^2), ``t_pga_s`` (s, :func:`pga_time`), ``pgv_ms``
    (m/s), ``pgd_m`` (m), ``mean_period_s`` (s).

  Raises:
    ValueError: as the individual measures.
  """
  a = _check_accel(accel_ms2)
  dt = validation.check_dt(dt)
  return {
      "arias_ms": arias_intensity(a, dt),
      "d5_75_s": d5_75(a, dt),
      "d5_95_s": d5_95(a, dt),
      "pga_ms2": pga(a),
      "t_pga_s": pga_time(a, dt),
      "pgv_ms": pgv(a, dt),
      "pgd_m": pgd(a, dt),
      "mean_period_s": mean_period(a, dt),
  }
