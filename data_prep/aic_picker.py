"""The default P picker: STA/LTA trigger (ObsPy) refined by the Akaike criterion (Maeda 1985).

References:
  Maeda, N. (1985). A method for reading and checking phase times in
  autoprocessing system of seismic wave data. Zisin 38, 365-379.
  Allen, R. (1978). Automatic earthquake recognition and timing from single
  traces. BSSA 68, 1521-1532.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from data_prep import picking

__all__ = ["AicPicker", "aic_maeda"]


def aic_maeda(x: np.ndarray) -> np.ndarray:
  """Maeda's (1985) AIC directly on the trace, vectorised with cumulative sums.

  For a window of ``N`` samples and a split after ``k`` samples,
  ``AIC(k) = k log var(x[:k]) + (N - k - 1) log var(x[k:])``, summed over
  components when ``x`` has several. Its minimum marks the sample ``k`` where
  the trace changes from one stationary process (noise) to another (signal), so
  ``k`` is the onset index (first sample of the signal).

  Args:
    x: ``[time]`` or ``[components, time]`` trace (any units).

  Returns:
    ``[time]`` float64 AIC; ``+inf`` where a segment would have fewer than 2
    samples (``k < 2`` or ``k > N - 2``).
  """
  x = np.atleast_2d(np.asarray(x, dtype=np.float64))
  n = x.shape[-1]
  # Centre and scale each component: the one-pass variance below then loses no
  # precision to a large mean, and components of different size weigh alike.
  x = x - x.mean(axis=-1, keepdims=True)
  x = x / np.maximum(x.std(axis=-1, keepdims=True), np.finfo(float).tiny)
  zero = np.zeros((x.shape[0], 1))
  s1 = np.concatenate([zero, np.cumsum(x, axis=-1)], axis=-1)  # [C, N+1]
  s2 = np.concatenate([zero, np.cumsum(x * x, axis=-1)], axis=-1)
  k = np.arange(n + 1, dtype=np.float64)
  with np.errstate(divide="ignore", invalid="ignore"):
    var_l = s2 / k - (s1 / k) ** 2
    nr = n - k
    var_r = (s2[:, -1:] - s2) / nr - ((s1[:, -1:] - s1) / nr) ** 2
    # A floor keeps log finite on exactly flat segments (e.g. zero padding).
    floor = 1e-12
    aic = k * np.log(np.maximum(var_l, floor)) + (nr - 1) * np.log(np.maximum(var_r, floor))
  aic = aic.sum(axis=0)[:n]
  aic[:2] = np.inf
  aic[max(n - 1, 0):] = np.inf
  return aic


@dataclasses.dataclass(frozen=True)
class AicPicker(picking.Picker):
  """STA/LTA trigger refined by the AIC minimum (the default picker).

  Steps, on the vertical component (or both horizontals when there is no
  vertical; see :class:`picking.Picker`):

  1. Remove the mean of the first second, high-pass (causal Butterworth, so no
     filter energy leaks before the onset) at ``highpass_hz``.
  2. Recursive STA/LTA (``obspy.signal.trigger.recursive_sta_lta``) with
     ``sta_s``/``lta_s``. The trace is preceded by a mirrored copy of its first
     second, so the filter starts without a transient and the LTA is warm at the
     first sample (ObsPy zeroes the ratio over the first ``lta_s``, where an
     onset could otherwise never trigger). With two horizontals the STA/LTA
     runs on their vector norm.
  3. Triggers from ``trigger_onset(cf, trigger_on, trigger_off)`` that start
     before the PGA. The first one lasting ``min_trigger_s`` whose peak ratio
     reaches ``min_relative_peak`` of the largest peak is kept: noise spikes and
     bursts trigger briefly and weakly (on the test records: 0.6-1.3 s, peak
     4-5), P onsets for seconds (1.5-7.6 s, peak 10-16). When none qualifies,
     the strongest trigger is used.
  4. AIC (:func:`aic_maeda`) on ``[trigger - aic_before_s, trigger +
     aic_after_s]``, cut at the PGA; its minimum is the pick.
  5. No trigger: if ``fallback``, AIC on the whole trace before the PGA, with a
     halved score and method ``'aic_fallback'`` (rejected as noise when its
     ``snr`` is below ``min_snr``); otherwise :class:`picking.PickError`.

  The pick is always strictly before the earliest PGA of all the records given
  and at least 0.05 s after the first sample. It needs about 1 s of pre-event
  noise at the start of the record: an onset inside the first second is taken
  as noise (K-NET/KiK-net keep 15 s before their trigger time).

  Score: ``1 - 1/snr`` clipped to ``[0, 1]``, where ``snr`` is the RMS of the
  high-passed trace over ``aic_after_s`` after the pick over its RMS over
  ``aic_before_s`` before it; halved for fallback picks (so always < 0.5).

  Attributes:
    sta_s: short-term average length, s (0.3).
    lta_s: long-term average length, s (5.0; shorter than K-NET's 15 s of
      pre-trigger noise).
    trigger_on: STA/LTA ratio that starts a trigger (4.0).
    trigger_off: ratio that ends it (1.5).
    min_relative_peak: a kept trigger's peak ratio, as a fraction of the
      largest peak before the PGA (0.3; a weak P still precedes a strong S).
    min_trigger_s: a kept trigger's least duration, s (0.75).
    aic_before_s: AIC window start before the trigger, s (2.0; the trigger of
      an emergent onset lags it by up to ~1 s).
    aic_after_s: AIC window end after the trigger, s (1.0; short so that the S
      wave of near stations stays out of the window).
    highpass_hz: high-pass corner, Hz (1.0; removes baseline drift and
      microseisms that mask small P onsets; 0 disables it).
    highpass_corners: Butterworth order (2).
    fallback: AIC on the whole pre-PGA trace when nothing triggers (True).
    min_snr: fallback picks with a lower ``snr`` are rejected as noise (2.0).
  """
  sta_s: float = 0.3
  lta_s: float = 5.0
  trigger_on: float = 4.0
  trigger_off: float = 1.5
  min_relative_peak: float = 0.3
  min_trigger_s: float = 0.75
  aic_before_s: float = 2.0
  aic_after_s: float = 1.0
  highpass_hz: float = 1.0
  highpass_corners: int = 2
  fallback: bool = True
  min_snr: float = 2.0

  def __post_init__(self):
    checks = (
        ("sta_s", 0 < self.sta_s < self.lta_s),
        ("trigger_on", self.trigger_on > self.trigger_off > 0),
        ("min_relative_peak", 0 <= self.min_relative_peak <= 1),
        ("min_trigger_s", self.min_trigger_s >= 0),
        ("aic_before_s", self.aic_before_s > 0),
        ("aic_after_s", self.aic_after_s > 0),
        ("highpass_hz", self.highpass_hz >= 0),
    )
    for name, ok in checks:
      if not ok:
        raise ValueError(f"AicPicker: invalid {name}={getattr(self, name)!r}")

  def pick(self, records: Sequence) -> picking.Pick:
    """See :class:`picking.Picker`; ``score`` and ``method`` as in the class docstring."""
    records = picking.check_group(records)
    comps = picking.pick_components(records)
    x, fs, start = self._stack(comps)
    limit = picking.time_limit_index(records, start, fs)
    if limit is None or limit < 4 * self._n(picking.MIN_SEGMENT_S, fs):
      raise picking.PickError(f"{picking.describe(comps)}: the PGA is at the record start; no pre-event part to pick in")
    y, cf = self._characteristic(x, fs)
    trig = self._first_trigger(cf, fs, limit)
    method = "aic"
    if trig is None:
      if not self.fallback:
        raise picking.PickError(f"{picking.describe(comps)}: STA/LTA never reached {self.trigger_on} before the PGA")
      lo, hi, method = 0, limit, "aic_fallback"
    else:
      lo = max(0, trig - self._n(self.aic_before_s, fs))
      hi = min(limit, trig + self._n(self.aic_after_s, fs))
    k = lo + self._aic_argmin(y[:, lo:hi], fs)
    snr = self._snr(y, k, fs)
    if method == "aic_fallback" and snr < self.min_snr:
      raise picking.PickError(f"{picking.describe(comps)}: no STA/LTA trigger and no clear onset (SNR {snr:.2f} < {self.min_snr})")
    score = float(np.clip(1.0 - 1.0 / max(snr, 1e-12), 0.0, 1.0))
    if method == "aic_fallback":
      score *= 0.5
    offset = k / fs
    return picking.Pick(comps[0].station, start + offset, offset, score, method)

  @staticmethod
  def _n(seconds: float, fs: float) -> int:
    return max(1, int(round(seconds * fs)))

  def _stack(self, comps):
    """``[components, time]`` float64 of the picked components, validated."""
    fs = float(comps[0].sampling_rate_hz)
    start = comps[0].start_time
    arrays = []
    for r in comps:
      a = np.asarray(r.accel_ms2, dtype=np.float64)
      bad = int(np.count_nonzero(~np.isfinite(a)))
      if bad:
        raise picking.PickError(f"{picking.describe([r])}: {bad} of {a.size} samples are NaN or infinite")
      if abs(r.start_time - start) > 0.5 / fs:
        raise picking.PickError(f"{picking.describe(comps)}: components start at different times")
      arrays.append(a)
    n = min(a.size for a in arrays)
    need = self._n(self.sta_s + picking.HEAD_S + 2 * picking.MIN_SEGMENT_S, fs)
    if n < need:
      raise picking.PickError(f"{picking.describe(comps)}: too short to pick ({n} samples, need at least {need})")
    x = np.stack([a[:n] for a in arrays])
    if np.all(np.ptp(x, axis=-1) == 0):
      raise picking.PickError(f"{picking.describe(comps)}: flat trace (all samples equal), nothing to pick")
    return x, fs, start

  def _characteristic(self, x: np.ndarray, fs: float):
    """High-passed ``[C, time]`` trace and its STA/LTA ``[time]``."""
    from obspy.signal.filter import highpass
    from obspy.signal.trigger import recursive_sta_lta

    nhead = self._n(picking.HEAD_S, fs)
    nlta = self._n(self.lta_s, fs)
    npad = 3 * nlta  # Three LTA time constants: the LTA is within 5% of its level.
    x = x - x[:, :nhead].mean(axis=-1, keepdims=True)
    # Mirror the (noise) head in front: continuous at the join, so neither the
    # filter nor the STA/LTA starts with a transient.
    pad = np.stack([np.pad(c[:nhead], (npad, 0), mode="symmetric")[:npad] for c in x])
    xp = np.concatenate([pad, x], axis=-1)
    if self.highpass_hz > 0:
      nyq = 0.5 * fs
      corner = min(self.highpass_hz, 0.5 * nyq)
      xp = np.stack([highpass(c, corner, fs, corners=self.highpass_corners, zerophase=False) for c in xp])
    norm = np.sqrt(np.sum(xp * xp, axis=0))  # recursive_sta_lta squares its input.
    cf = recursive_sta_lta(np.ascontiguousarray(norm), self._n(self.sta_s, fs), nlta)
    return xp[:, npad:], cf[npad:]

  def _first_trigger(self, cf: np.ndarray, fs: float, limit: int):
    """Start index of the first strong trigger before ``limit``, or None."""
    from obspy.signal.trigger import trigger_onset

    on_off = trigger_onset(cf, self.trigger_on, self.trigger_off)
    cands = [(int(on), int(off), float(cf[on:off + 1].max())) for on, off in on_off if on < limit]
    if not cands:
      return None
    top = max(p for _, _, p in cands)
    min_len = self.min_trigger_s * fs
    strong = [on for on, off, p in cands if p >= self.min_relative_peak * top and off - on >= min_len]
    # Nothing long enough (e.g. a short impulsive record): the strongest trigger.
    return strong[0] if strong else next(on for on, _, p in cands if p == top)

  def _aic_argmin(self, seg: np.ndarray, fs: float) -> int:
    """Index (in ``seg``) of the AIC minimum, away from the segment edges."""
    aic = aic_maeda(seg)
    m = self._n(picking.MIN_SEGMENT_S, fs)
    n = seg.shape[-1]
    if n > 2 * m + 1:
      aic[:m] = np.inf
      aic[n - m:] = np.inf
    return int(np.argmin(aic))

  def _snr(self, y: np.ndarray, k: int, fs: float) -> float:
    """RMS after ``k`` over RMS before it, on the high-passed trace."""
    na, nb = self._n(self.aic_after_s, fs), self._n(self.aic_before_s, fs)
    after = y[:, k:k + na]
    before = y[:, max(0, k - nb):k]
    if before.shape[-1] == 0 or after.shape[-1] == 0:
      return 0.0
    rms_b = np.sqrt(np.mean(before * before))
    rms_a = np.sqrt(np.mean(after * after))
    return float(rms_a / rms_b) if rms_b > 0 else float("inf")
