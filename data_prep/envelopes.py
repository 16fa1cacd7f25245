"""Time envelopes of simulated S waves: excitation duration, the Saragoni-Hart window and a scattered coda.

The direct S wave fills a Saragoni & Hart (1974) window (the shape of Boore
2003: eps = 0.2, eta = 0.05 at ``t_eta = 2 T_e``) over the excitation duration
``T_e = D_S + D_P(R_ps)`` (Boore & Thompson 2014): a source duration (from the
corner frequencies; :mod:`data_prep.stochastic`) and a path duration ``D_P``,
piecewise linear in the point-source distance ``R_ps`` through Boore &
Thompson's (2014, Table 1) breakpoints for active crust, derived from NGA-West2
records: two to four times Boore's (2003) ``0.05 R`` beyond 40 km.

The scattered coda follows Sato's (1977) single isotropic scattering: at lapse
time ``t`` (since the origin) the coda power in a band around ``f``, relative
to the energy ``E_D`` of the direct window, is::

    P_c(f, t) = E_D g0 beta K(t / t_s) exp(-2 pi f (t - t_s) / Q_c(f)),
    K(tau) = ln((tau + 1) / (tau - 1)) / tau,       Q_c(f) = Q_c0 f^n

(``t_s`` the S travel time, ``g0`` the scattering coefficient). Late in the
coda K ~ 2 / tau^2, the ``t^-1`` amplitude decay of Aki & Chouet (1975); the
coda-to-direct ratio grows with distance, as in real records. Coda Q of
western Japan rises from 50-200 at 1 Hz to 1000-2000 at 20 Hz (Aki & Chouet
1975); Matsumoto & Hasegawa (1989) find n = 0.6-1.2 in Tohoku. With Q_c0 = 100
and n = 0.8 (Q_c(20 Hz) = 1100) high frequencies die out sooner than low ones.
The coda is made octave by octave: :func:`band_weights` splits white noise
into bands of independent noise, each with its own envelope
(:func:`coda_envelopes`).

References:
  Aki, K. & Chouet, B. (1975). Origin of coda waves: source, attenuation, and
  scattering effects. JGR 80, 3322-3342.
  Boore, D. M. (2003). Simulation of ground motion using the stochastic method.
  Pure Appl. Geophys. 160, 635-676.
  Boore, D. M. & Thompson, E. M. (2014). Path durations for use in the
  stochastic-method simulation of ground motions. BSSA 104, 2541-2552.
  Matsumoto, S. & Hasegawa, A. (1989). Two-dimensional coda Q structure
  beneath Tohoku, NE Japan. Geophys. J. Int. 99, 101-108.
  Saragoni, G. R. & Hart, G. C. (1974). Simulation of artificial earthquakes.
  Earthq. Eng. Struct. Dyn. 2, 249-267.
  Sato, H. (1977). Energy propagation including scattering effects: single
  isotropic scattering approximation. J. Phys. Earth 25, 27-41.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BT14_PATH_DURATION",
    "path_duration_s",
    "excitation_duration_s",
    "coda_q",
    "saragoni_hart",
    "p_envelope",
    "coda_length_s",
    "band_centres_hz",
    "band_weights",
    "sato_k",
    "coda_envelopes",
]

# Boore & Thompson (2014), Table 1, active crustal regions: point-source
# distance R_ps (km) and path duration D_P (s), linear in between; beyond the
# last breakpoint D_P grows by 0.156 s/km.
BT14_PATH_DURATION = np.array([(0.0, 0.0), (7.0, 2.4), (45.0, 8.4), (125.0, 10.9), (175.0, 17.4), (270.0, 34.2)])
_BT14_FINAL_SLOPE = 0.156

# Saragoni-Hart window of Boore (2003): peak at eps t_eta, level eta at t_eta = 2 T_e.
_SH_EPS, _SH_ETA, _SH_T_ETA_OVER_TE = 0.2, 0.05, 2.0


def path_duration_s(r_ps_km) -> np.ndarray:
  """Boore & Thompson (2014) path duration in s at point-source distance ``r_ps_km`` (any shape, >= 0)."""
  r = np.asarray(r_ps_km, np.float64)
  if np.any(~np.isfinite(r) | (r < 0)):
    raise ValueError(f"r_ps_km must be finite distances >= 0 km, got {r_ps_km!r}")
  last_r, last_d = BT14_PATH_DURATION[-1]
  inside = np.interp(r, BT14_PATH_DURATION[:, 0], BT14_PATH_DURATION[:, 1])
  return np.where(r > last_r, last_d + _BT14_FINAL_SLOPE * (r - last_r), inside)


def excitation_duration_s(source_s, r_ps_km) -> np.ndarray:
  """``T_e = D_S + D_P(R_ps)`` in s (Boore & Thompson 2014); broadcasts."""
  return np.asarray(source_s, np.float64) + path_duration_s(r_ps_km)


def coda_q(f_hz, q0=100.0, n=0.8) -> np.ndarray:
  """Coda Q ``q0 f^n`` at ``f_hz`` (any shape, Hz > 0)."""
  return q0 * np.asarray(f_hz, np.float64) ** n


def saragoni_hart(t, t_eta, eps=_SH_EPS, eta=_SH_ETA) -> np.ndarray:
  """Saragoni-Hart window of ``t`` (s, any shape): 0 at t <= 0, peak 1 at ``eps t_eta``, ``eta`` at ``t_eta``."""
  b = -eps * np.log(eta) / (1.0 + eps * (np.log(eps) - 1.0))
  c = b / eps
  t = np.asarray(t, np.float64)
  x = np.maximum(t, 0.0) / t_eta
  with np.errstate(divide="ignore"):
    w = np.exp(b * (1.0 - np.log(eps)) + b * np.log(x) - c * x)
  return np.where(t > 0, w, 0.0)


def p_envelope(t, t_eta, ramp_s, eps) -> np.ndarray:
  """P window of ``t`` (s after the P onset, any shape): a linear ramp over ``ramp_s``, then Saragoni-Hart.

  A sharp onset (a ramp of one sample) that an AIC picker finds within a few
  hundredths of a second, and an early peak (small ``eps``) like an impulsive P.
  """
  t = np.asarray(t, np.float64)
  return np.clip(t / max(ramp_s, 1e-9), 0.0, 1.0) * saragoni_hart(t, t_eta, eps)


def coda_length_s(t_c, level, coda_q0=100.0, coda_n=0.8) -> float:
  """Seconds after lapse time ``t_c`` for a 1 Hz coda ``t^-1 exp(-pi t / Q_c(1))`` to fall to ``level`` of its start.

  The fixed point of ``x = ln(1 / (level (1 + x / t_c))) k^-1``, ``k = pi / Q_c(1 Hz)``.
  """
  k = np.pi / float(coda_q(1.0, coda_q0, coda_n))
  x = 0.0
  for _ in range(50):  # A contraction (its slope is below 1 / (k t_c)): converges fast.
    x = max(0.0, -np.log(level * (1.0 + x / t_c)) / k)
  return float(x)


def band_centres_hz(nyquist_hz) -> np.ndarray:
  """Octave band centres 0.125, 0.25, ... Hz, the last one at or above ``nyquist_hz``."""
  k = int(np.ceil(np.log2(nyquist_hz / 0.125)))
  return 0.125 * 2.0 ** np.arange(k + 1)


def band_weights(f_hz, centres_hz) -> np.ndarray:
  """``[B, F]`` amplitude weights of the bands at ``f_hz [F]``, positive, their squares summing to 1.

  Gaussians in log2(f), one octave apart with a standard deviation of half an
  octave, normalised so that bands of independent noise add up to white noise.
  """
  lf = np.log2(np.maximum(np.asarray(f_hz, np.float64), 1e-12))
  lc = np.log2(np.asarray(centres_hz, np.float64))
  g = np.exp(-0.5 * ((lf[None, :] - lc[:, None]) / 0.5) ** 2) + 1e-300
  return np.sqrt(g / g.sum(axis=0, keepdims=True))


def sato_k(tau) -> np.ndarray:
  """Sato (1977) single isotropic scattering function ``K(tau) = ln((tau + 1) / (tau - 1)) / tau``, tau > 1."""
  tau = np.asarray(tau, np.float64)
  if np.any(~(tau > 1.0)):
    raise ValueError(f"tau must be > 1 (lapse time over the S travel time), got {tau!r}")
  return np.log((tau + 1.0) / (tau - 1.0)) / tau


def coda_envelopes(t_s, ts_s, travel_s, excitation_s, centres_hz, g0_per_km, beta_kms, coda_q0=100.0,
                   coda_n=0.8) -> np.ndarray:
  """``[B, T]`` coda amplitude envelopes of each band, relative to a direct window of peak 1.

  Args:
    t_s: ``[T]`` times of the samples in s.
    ts_s: the S onset on that time axis, s.
    travel_s: S travel time from the origin, s (lapse time = ``t - ts + travel``).
    excitation_s: excitation duration ``T_e`` in s (the direct window is
      ``saragoni_hart(t - ts, 2 T_e)``).
    centres_hz: ``[B]`` band centres.
    g0_per_km: total scattering coefficient in 1/km.
    beta_kms: S velocity in km/s.
    coda_q0, coda_n: coda Q ``coda_q0 f^coda_n``.

  Returns:
    ``[B, T]`` float64, 0 before the S onset and after it the coda power of
    Sato (1977) relative to the direct energy ``E_D`` (integral of the squared
    window): ``C_b^2 = E_D g0 beta K(t_lapse / travel) exp(-2 pi f_b (t_lapse -
    travel) / Q_c(f_b))``, with ``t_lapse`` held at ``travel + T_e`` until the
    direct window ends (K diverges at the onset of a point source, not of one
    that lasts ``T_e``).
  """
  t = np.asarray(t_s, np.float64) - ts_s
  t_eta = _SH_T_ETA_OVER_TE * excitation_s
  step = t_eta / 2000.0
  energy = float(np.sum(saragoni_hart(np.arange(1, 6001) * step, t_eta) ** 2) * step)
  lapse = np.maximum(t + travel_s, travel_s + excitation_s)
  f = np.asarray(centres_hz, np.float64)[:, None]
  coda2 = (energy * g0_per_km * beta_kms * sato_k(lapse / travel_s)
           * np.exp(-2.0 * np.pi * f * (lapse - travel_s) / coda_q(f, coda_q0, coda_n)))
  return np.where(t[None, :] > 0, np.sqrt(coda2), 0.0)
