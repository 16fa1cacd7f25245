"""Design-code response spectra as targets: ASCE/SEI 7-16/7-22, EN 1998-1 (EC8), GB 50011-2010.

Each function returns a :class:`cvaegan_jax.targets.Target` in m/s^2 at the periods asked.
Beyond the codes' period ranges: EN 1998-1 defines Se(T) to 4 s and GB 50011 to 6 s; see
:func:`ec8` and :func:`gb50011` for how they are continued (a warning is logged once).
"""

from __future__ import annotations

import math

import numpy as np

from cvaegan_jax import spectra
from cvaegan_jax.targets import G, Target, check_damping, check_periods, check_positive, warn_once

__all__ = ["asce7", "ec8", "gb50011", "check_ground", "check_spectrum_type", "check_edition"]

# EN 1998-1 Tables 3.2 (type 1) and 3.3 (type 2): ground -> (S, TB, TC, TD) in s.
_EC8_TABLES = {
    1: {"A": (1.0, 0.15, 0.4, 2.0), "B": (1.2, 0.15, 0.5, 2.0), "C": (1.15, 0.20, 0.6, 2.0),
        "D": (1.35, 0.20, 0.8, 2.0), "E": (1.4, 0.15, 0.5, 2.0)},
    2: {"A": (1.0, 0.05, 0.25, 1.2), "B": (1.35, 0.05, 0.25, 1.2), "C": (1.5, 0.10, 0.25, 1.2),
        "D": (1.8, 0.10, 0.30, 1.2), "E": (1.6, 0.05, 0.25, 1.2)},
}
_EC8_T_MAX = 4.0
_GB_T_MAX = 6.0


def check_ground(name: str, value) -> str:
  g = str(value).strip().upper()
  if g not in _EC8_TABLES[1]:
    raise ValueError(f"{name} must be one of A, B, C, D, E (EN 1998-1 Table 3.1; S1 and S2 need "
                     f"special studies), got {value!r}")
  return g


def check_spectrum_type(name: str, value) -> int:
  ok = str(value).strip() in ("1", "2") if isinstance(value, str) else (
      not isinstance(value, bool) and value in (1, 2))
  if not ok:
    raise ValueError(f"{name} must be 1 or 2 (EN 1998-1 Type 1 or Type 2 spectrum), got {value!r}")
  return int(value)


def check_edition(name: str, value) -> str:
  text = str(value).strip().upper().removeprefix("ASCE").strip().removeprefix("7-")
  if text not in ("16", "22"):
    raise ValueError(f"{name} must be 16 or 22 (ASCE 7-16 or 7-22), got {value!r}")
  return text





def asce7(sds_g: float, sd1_g: float, tl_s: float, periods_s=spectra.DEFAULT_PERIODS,
          edition: str = "16") -> Target:
  """ASCE/SEI 7 design response spectrum (5% damping).

  ASCE 7-16 §11.4.6 (Fig. 11.4-1); the same two-period spectrum in ASCE 7-22
  §11.4.6. With T0 = 0.2 SD1/SDS and TS = SD1/SDS::

    Sa = SDS (0.4 + 0.6 T/T0)   T < T0              (11.4-5)
    Sa = SDS                    T0 <= T <= TS
    Sa = SD1 / T                TS < T <= TL        (11.4-6)
    Sa = SD1 TL / T^2           T > TL              (11.4-7)

  Args:
    sds_g: SDS, design short-period spectral acceleration in g, > 0.
    sd1_g: SD1, design 1-s spectral acceleration in g, > 0.
    tl_s: TL, long-period transition period in s, >= TS.
    periods_s: ``[P]`` periods in s, > 0, increasing (default 0.01-10 s, 100 log-spaced).
    edition: ``"16"`` or ``"22"`` (only the name and citation differ).

  Returns:
    A Target in m/s^2 (values in g x 9.80665), damping 0.05, ``pga_ms2 = 0.4 SDS g``.

  Raises:
    ValueError: a non-positive or non-finite parameter, TL < TS, an unknown
      edition, bad periods.
  """
  sds = check_positive("sds_g", sds_g)
  sd1 = check_positive("sd1_g", sd1_g)
  tl = check_positive("tl_s", tl_s)
  edition = check_edition("edition", edition)
  t = check_periods("periods_s", periods_s)
  t0, ts = 0.2 * sd1 / sds, sd1 / sds
  if tl < ts:
    raise ValueError(f"tl_s = {tl:g} s must be >= TS = SD1/SDS = {ts:g} s")
  sa = np.where(t < t0, sds * (0.4 + 0.6 * t / t0),
                np.where(t <= ts, sds, np.where(t <= tl, sd1 / t, sd1 * tl / t**2)))
  return Target(t, sa * G, f"ASCE 7-{edition} (SDS={sds:g} g, SD1={sd1:g} g, TL={tl:g} s)", 0.05, 0.4 * sds * G)


def ec8(spectrum_type: int, ground: str, ag_ms2: float, damping: float = 0.05, importance: float = 1.0,
        periods_s=spectra.DEFAULT_PERIODS) -> Target:
  """EN 1998-1 (Eurocode 8) horizontal elastic response spectrum Se(T).

  §3.2.2.2, eqs. (3.2)-(3.5), with S, TB, TC, TD from Table 3.2 (Type 1) or
  Table 3.3 (Type 2), ag = gamma_I agR (§3.2.1(3)) and the damping correction
  eta = sqrt(10 / (5 + xi)) >= 0.55, xi in percent (3.6)::

    Se = ag S (1 + T/TB (2.5 eta - 1))   0 <= T <= TB
    Se = ag S eta 2.5                    TB <= T <= TC
    Se = ag S eta 2.5 TC / T             TC <= T <= TD
    Se = ag S eta 2.5 TC TD / T^2        TD <= T <= 4 s

  EN 1998-1 defines Se to 4 s (longer periods: Annex A, displacement spectrum).
  Beyond 4 s this function continues the TD branch (constant spectral
  displacement) and logs a warning once.

  Args:
    spectrum_type: 1 (Ms > 5.5) or 2.
    ground: ground type ``"A"``-``"E"`` (case-insensitive).
    ag_ms2: agR, the reference peak ground acceleration on type A ground, m/s^2, > 0.
    damping: viscous damping ratio xi in (0, 1), 0.05 gives eta = 1.
    importance: importance factor gamma_I, > 0.
    periods_s: ``[P]`` periods in s, > 0, increasing.

  Returns:
    A Target in m/s^2, ``pga_ms2 = ag S``.

  Raises:
    ValueError: spectrum_type not 1/2, ground not A-E, ag_ms2 or importance not
      positive, damping outside (0, 1), bad periods.
  """
  kind = check_spectrum_type("spectrum_type", spectrum_type)
  ground = check_ground("ground", ground)
  ag_r = check_positive("ag_ms2", ag_ms2)
  xi = check_damping("damping", damping)
  gamma_i = check_positive("importance", importance)
  t = check_periods("periods_s", periods_s)
  s, tb, tc, td = _EC8_TABLES[kind][ground]
  eta = max(math.sqrt(10.0 / (5.0 + 100.0 * xi)), 0.55)
  ag = gamma_i * ag_r
  if t[-1] > _EC8_T_MAX:
    warn_once("ec8", f"EN 1998-1 defines Se(T) up to {_EC8_T_MAX:g} s; longer periods (to {t[-1]:g} s) "
               "continue the TD branch ag S eta 2.5 TC TD / T^2")
  se = np.where(t <= tb, ag * s * (1.0 + t / tb * (2.5 * eta - 1.0)),
                np.where(t <= tc, ag * s * eta * 2.5,
                         np.where(t <= td, ag * s * eta * 2.5 * tc / t, ag * s * eta * 2.5 * tc * td / t**2)))
  name = (f"EC8 type {kind} ground {ground} (agR={ag_r:.4g} m/s^2, gamma_I={gamma_i:g}, "
          f"damping={xi:g})")
  return Target(t, se, name, xi, ag * s)


def _gb_alpha(t: np.ndarray, alpha_max: float, tg: float, zeta: float) -> np.ndarray:
  """GB 50011-2010 Fig. 5.1.5 curve alpha(T), its formulas applied at any T."""
  gamma = 0.9 + (0.05 - zeta) / (0.3 + 6.0 * zeta)
  eta1 = max(0.02 + (0.05 - zeta) / (4.0 + 32.0 * zeta), 0.0)
  eta2 = max(1.0 + (0.05 - zeta) / (0.08 + 1.6 * zeta), 0.55)
  rising = alpha_max * (0.45 + (eta2 - 0.45) * t / 0.1)
  plateau = eta2 * alpha_max
  power = (tg / t) ** gamma * eta2 * alpha_max
  linear = (eta2 * 0.2**gamma - eta1 * (t - 5.0 * tg)) * alpha_max
  return np.where(t < 0.1, rising, np.where(t <= tg, plateau, np.where(t <= 5.0 * tg, power, linear)))


def gb50011(alpha_max: float, tg_s: float, damping: float = 0.05, periods_s=spectra.DEFAULT_PERIODS) -> Target:
  """GB 50011-2010 (Chinese seismic design code) seismic influence coefficient curve.

  §5.1.5 and Fig. 5.1.5, with the damping adjustments of §5.1.5 (eqs. 5.1.5-1
  to 5.1.5-3)::

    gamma = 0.9 + (0.05 - zeta) / (0.3 + 6 zeta)
    eta1  = 0.02 + (0.05 - zeta) / (4 + 32 zeta),   >= 0
    eta2  = 1 + (0.05 - zeta) / (0.08 + 1.6 zeta),  >= 0.55

    alpha = alpha_max (0.45 + (eta2 - 0.45) T / 0.1)       0 <= T < 0.1 s
    alpha = eta2 alpha_max                                  0.1 s <= T <= Tg
    alpha = (Tg / T)^gamma eta2 alpha_max                  Tg < T <= 5 Tg
    alpha = [eta2 0.2^gamma - eta1 (T - 5 Tg)] alpha_max   5 Tg < T <= 6 s

  and Sa = alpha g. The code stops at 6 s. Beyond 6 s this function continues
  the code's formula, but never lets it fall below alpha(6 s) (6 / T)^2 (the
  decay of constant spectral displacement): the straight line alone would
  reach zero (near 14 s for Tg = 0.45 s, 5% damping). The curve stays
  continuous at 6 s; a warning is logged once.

  Args:
    alpha_max: maximum seismic influence coefficient (fraction of g), > 0
      (e.g. 0.16 for intensity 7 / 0.15 g, rare earthquake 0.72 ...).
    tg_s: characteristic period Tg in s, >= 0.1 (Table 5.1.4-2 gives 0.20-0.90 s).
    damping: damping ratio zeta in (0, 1).
    periods_s: ``[P]`` periods in s, > 0, increasing.

  Returns:
    A Target in m/s^2, ``pga_ms2 = 0.45 alpha_max g``.

  Raises:
    ValueError: alpha_max or tg_s not positive, tg_s < 0.1 s, damping outside
      (0, 1), bad periods.
  """
  amax = check_positive("alpha_max", alpha_max)
  tg = check_positive("tg_s", tg_s)
  if tg < 0.1:
    raise ValueError(f"tg_s must be >= 0.1 s (the plateau starts at 0.1 s; GB 50011 Table 5.1.4-2 "
                     f"gives 0.20-0.90 s), got {tg_s!r}")
  zeta = check_damping("damping", damping)
  t = check_periods("periods_s", periods_s)
  alpha = _gb_alpha(t, amax, tg, zeta)
  if t[-1] > _GB_T_MAX:
    warn_once("gb50011", f"GB 50011-2010 defines alpha(T) up to {_GB_T_MAX:g} s; longer periods (to "
               f"{t[-1]:g} s) continue its formula, floored at alpha(6 s) (6/T)^2")
    a6 = _gb_alpha(np.array([_GB_T_MAX]), amax, tg, zeta)[0]
    alpha = np.where(t > _GB_T_MAX, np.maximum(alpha, a6 * (_GB_T_MAX / t) ** 2), alpha)
  name = f"GB 50011-2010 (alpha_max={amax:g}, Tg={tg:g} s, damping={zeta:g})"
  return Target(t, alpha * G, name, zeta, 0.45 * amax * G)
