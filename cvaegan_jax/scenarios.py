"""Durations of an earthquake scenario: Afshari & Stewart (2016) through ``pygmm``.

A user who knows the controlling earthquake (magnitude, distance, site) rather than the
durations asks for them here; :func:`durations` gives AS16's median and standard deviation of
ln D5-75 and ln D5-95 and draws ``num`` pairs from the bivariate log-normal with the
correlation of Bradley (2011), 0.84, so a suite spreads as recordings of that scenario do.
"""

from __future__ import annotations

import warnings

import numpy as np
import pygmm

from cvaegan_jax import validation

__all__ = ["durations", "RHO_D575_D595"]

RHO_D575_D595 = 0.843  # Correlation of ln D5-75 and ln D5-95 residuals (Bradley 2011, Table 2).
MECHANISMS = ("SS", "NS", "RS", "U")


def durations(magnitude: float, distance_km: float, vs30_ms: float = 400.0, mechanism: str = "U",
              num: int = 1, seed: int = 0) -> dict:
  """AS16 significant durations of a scenario: medians, sigmas and ``num`` correlated draws.

  Args:
    magnitude: moment magnitude (AS16 was fit on M 3-7.9; outside, the formula extrapolates).
    distance_km: rupture distance, km (> 0).
    vs30_ms: time-averaged shear-wave velocity of the top 30 m, m/s (> 0).
    mechanism: "SS" (strike slip), "NS" (normal), "RS" (reverse) or "U" (unknown).
    num: draws (>= 1); ``seed``: their random seed.

  Returns:
    ``{"d5_75": [num], "d5_95": [num]}`` in s, ``"median"`` and ``"sigma"`` (each
    ``{"d5_75": s, "d5_95": s}``; sigma in ln units).

  Raises:
    ValueError: a non-finite or out-of-range argument, naming it.
  """
  magnitude = validation.positive_float(magnitude, "magnitude")
  distance_km = validation.positive_float(distance_km, "distance_km")
  vs30_ms = validation.positive_float(vs30_ms, "vs30_ms")
  if mechanism not in MECHANISMS:
    raise ValueError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
  if int(num) < 1:
    raise ValueError(f"num must be >= 1, got {num}")
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pygmm warns outside its fitted range.
    model = pygmm.AfshariStewart2016(pygmm.Scenario(mag=magnitude, dist_rup=distance_km, v_s30=vs30_ms,
                                                    mechanism=mechanism))
    dur, err = model.duration, model.std_err  # Records (D_5t75, D_5t95, D_20t80).
    med = np.array([float(dur["D_5t75"]), float(dur["D_5t95"])])
    sig = np.array([float(err["D_5t75"]), float(err["D_5t95"])])
  rng = np.random.default_rng(seed)
  cov = np.array([[1.0, RHO_D575_D595], [RHO_D575_D595, 1.0]])
  eps = rng.multivariate_normal(np.zeros(2), cov, size=int(num))
  draws = np.exp(np.log(med)[None, :] + np.asarray(sig)[None, :] * eps)
  draws[:, 0] = np.minimum(draws[:, 0], 0.95 * draws[:, 1])  # D5-75 < D5-95 by definition.
  return {"d5_75": draws[:, 0], "d5_95": draws[:, 1],
          "median": {"d5_75": float(med[0]), "d5_95": float(med[1])},
          "sigma": {"d5_75": float(sig[0]), "d5_95": float(sig[1])}}
