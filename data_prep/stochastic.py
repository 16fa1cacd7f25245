"""Physics of the stochastic simulator: source, path and site spectra, and one record's three components.

:mod:`data_prep.simulate` draws catalogs and writes them as K-NET files; this
module computes what one station records.

Physics: the stochastic method (Boore 2003) with the double-corner point
source of Atkinson & Silva (2000). The target Fourier amplitude spectrum of
the direct S wave on one horizontal component is::

    A(f) = C M0 (2 pi f)^2 S(f)                   source (acceleration)
           * G(R_eff)                              geometric spreading
           * exp(-pi f R_eff / (Q(f) beta))        anelastic attenuation
           * Amp(f) * exp(-pi kappa0 f)            site amplification and kappa
    S(f) = (1 - eps) / (1 + (f/fa)^2) + eps / (1 + (f/fb)^2)

with ``C = R_theta_phi V F / (4 pi rho beta^3 R0)`` (cgs, ``R0`` = 1 km). The
direct S wave is Gaussian noise in a Saragoni & Hart window lasting the
excitation duration of Boore & Thompson (2014), whose spectrum is normalised to
unit mean square amplitude and multiplied by ``A(f)``; a scattered coda
(single scattering, Sato 1977; coda Q of western Japan, Aki & Chouet 1975)
follows it and decays faster at high than at low frequencies: see
:mod:`data_prep.envelopes`. The coda's energy is added to the direct wave's
(the target spectrum describes the direct S wave, as in the calibrations of
Boore 2003). Two more departures from Boore's recipe, both so that onsets
behave like real ones:

* the spectrum is applied with its minimum phase (amplitude unchanged), so
  attenuation delays and broadens pulses causally and no filter energy
  arrives before the P wave (a zero-phase product smears it ahead); each
  coda band is stationary band-limited noise times an envelope that is zero
  before the S onset, so it cannot arrive early either;
* a P wave precedes the S wave: onset at ``R / Vp`` instead of ``R / Vs``, the
  same path with P constants (radiation 0.52, (beta/alpha)^3 through ``C``, no
  horizontal partition), a Brune source with corner 1.5 fc (Brune fc at the
  event's stress drop), Q_P = Q_S / 1.5, the square root of the S site
  amplification; full on UD, 0.35 on each horizontal; an envelope that ramps up
  within 0.01 s and lasts 1/fc_P + 0.05 R. Its peak on UD is ~0.3-0.6 times the
  S peak on a horizontal, and an AIC picker finds its onset within ~0.03 s (up
  to ~0.06 s at 300 km, where attenuation makes it emergent).

Parameters (see :class:`ModelParams` for the values and references):
M0 = 10**(1.5 Mw + 16.05) dyne-cm; log10 fa = 2.181 - 0.496 M, log10 fb = 2.41 -
0.408 M, log10 eps = 0.605 - 0.255 M (Atkinson & Silva 2000), both corners
scaled by the cube root of the event's stress drop over its 100 bar median;
source duration 0.5/fa + 0.5/fb (the convention of Boore's SMSIM for this
source); R_theta_phi = 0.55 (S), 0.52 (P) (Boore & Boatwright 1984); V =
1/sqrt(2); F = 2; rho = 2.8 g/cm^3; beta = 3.5 km/s; Vp = 6.0 km/s; G = 1/R to
70 km then R^-0.5 (studies of Japanese data put the hinge at 50-70 km); Q = 180
f^0.45 (Raoof et al. 1999; Atkinson & Silva 2000); Boore & Joyner (1997)
generic-rock amplification (Vs30 = 620 m/s) with its kappa0 = 0.035 s; R_eff =
sqrt(R^2 + h(M)^2), h(M) = 10**(-0.405 + 0.235 M) (Yenier & Atkinson 2015), so
amplitudes saturate near large events. A catalog scatters, per event, the
stress drop (sigma log10 0.2), the duration (sigma ln 0.3) and the scattering
coefficient (sigma ln 0.5), and per station kappa0 (sigma ln 0.2), the duration
(sigma ln 0.45) and the site amplification (sigma ln 0.4). Checked against
Afshari & Stewart (2016) durations and Boore et al. (2014, region 'japan')
PSA by ``benchmarks/simulator.py`` (``docs/experiments.md``, Simulator).

:func:`simulate_record` takes the moment magnitude; a catalog writes a header
(JMA) magnitude that differs from it by a normal scatter (``mw_sigma``).

References (the durations and the coda: :mod:`data_prep.envelopes`; the
published models checked against: ``benchmarks/simulator.py``):
  Boore, D. M. (2003). Simulation of ground motion using the stochastic method.
  Pure Appl. Geophys. 160, 635-676.
  Boore, D. M. & Boatwright, J. (1984). Average body-wave radiation coefficients.
  BSSA 74, 1615-1621.
  Boore, D. M. & Joyner, W. B. (1997). Site amplifications for generic rock sites.
  BSSA 87, 327-341.
  Brune, J. N. (1970). Tectonic stress and the spectra of seismic shear waves
  from earthquakes. JGR 75, 4997-5009.
  Atkinson, G. M. & Silva, W. (2000). Stochastic modeling of California ground
  motions. BSSA 90, 255-274.
  Raoof, M., Herrmann, R. B. & Malagnini, L. (1999). Attenuation and excitation
  of three-component ground motion in southern California. BSSA 89, 888-902.
  Yenier, E. & Atkinson, G. M. (2015). Regionally adjustable generic
  ground-motion prediction equation based on equivalent point-source
  simulations. BSSA 105, 1989-2009.
  Fehler, M., Hoshiba, M., Sato, H. & Obara, K. (1992). Separation of scattering and
  intrinsic attenuation for the Kanto-Tokai region, Japan, using measurements of
  S-wave energy versus hypocentral distance. Geophys. J. Int. 108, 787-800.
  Yoshimoto, K., Sato, H. & Ohtake, M. (1993). Frequency-dependent attenuation
  of P and S waves in the Kanto area, Japan, based on the coda-normalization
  method. Geophys. J. Int. 114, 165-174.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.fft

from data_prep import envelopes
from data_prep import knet

__all__ = [
    "ModelParams",
    "DEFAULT_PARAMS",
    "MAGNITUDE_RANGE",
    "seismic_moment",
    "corner_frequency",
    "double_corner",
    "effective_distance",
    "fourier_spectrum",
    "simulate_record",
    "check_rate",
]

# Magnitudes of the point source (K-NET hardly triggers below M2; one point source no longer fits above M9).
MAGNITUDE_RANGE = (2.0, 9.0)
_MAX_DIST_KM = 1000.0

# Boore & Joyner (1997) generic rock (Vs30 = 620 m/s) amplification, as
# reproduced in Boore (2003): frequency (Hz), amplification. Interpolated
# linearly in log-log, held constant outside.
_BJ97_ROCK = np.array([
    (0.01, 1.00), (0.09, 1.10), (0.16, 1.18), (0.51, 1.42), (0.84, 1.58), (1.25, 1.74),
    (2.26, 2.06), (3.17, 2.25), (6.05, 2.58), (16.6, 3.13), (61.2, 4.00), (100.0, 4.40),
])


@dataclasses.dataclass(frozen=True)
class ModelParams:
  """Source, path, site and record parameters of the simulator.

  Attributes:
    stress_bar: median stress drop in bar (100 bar: Boore 2003's typical value
      for active crust): an event's stress drop over it scales the Atkinson &
      Silva (2000) corners by its cube root; the P wave's Brune corner uses it
      directly. simulate_catalog adds log-normal scatter per event.
    beta_kms, vp_kms: S and P velocities near the source in km/s.
    rho_gcc: density near the source in g/cm^3.
    rad_s, rad_p: average S and P radiation coefficients (Boore & Boatwright 1984).
    partition: S energy share of one horizontal component (1/sqrt(2)).
    free_surface: free-surface amplification (2).
    hinge_km: geometric spreading 1/R up to here, R^-0.5 beyond (70 km: the
      upper end of the 50-70 km found for Japanese data; with 50 km the PSA at
      1-3 s rose with distance against Boore et al. 2014, region 'japan').
    q0, q_eta: S-wave Q(f) = q0 f^q_eta (Raoof et al. 1999, southern California,
      as used by Atkinson & Silva 2000; not fitted to Japanese data).
    qp_over_qs: Q_P / Q_S (1/1.5: Yoshimoto et al. 1993 find Q_P^-1 / Q_S^-1 of
      about 1-2 in the Kanto area; with it P keeps a P(UD)/S(horizontal) peak
      ratio of ~0.3-0.6 at all distances instead of overtaking S far away).
    kappa0_s: site high-cut kappa in s (0.035: Boore & Joyner's 1997 generic
      rock, the site whose amplification is used).
    p_path_duration_per_km: path duration of the P window in s per km (Boore
      2003's 0.05; the S wave uses Boore & Thompson 2014, see
      :mod:`data_prep.envelopes`).
    duration_tau_ln, duration_phi_ln: standard deviations (ln) of the event
      and the station factors on the excitation duration in simulate_catalog
      (they give D5-95 an event-to-event and record-to-record scatter like
      Afshari & Stewart's 2016 tau ~0.25 and phi ~0.35-0.45).
    site_sigma_ln: standard deviation (ln) of a station's amplitude factor in
      simulate_catalog (site-to-site variability; it brings the within-event
      PSA scatter to ~0.55-0.6, as in Boore et al. 2014).
    mw_sigma: standard deviation of an event's moment magnitude about its
      header (JMA) magnitude in simulate_catalog (an event term of ~0.35 in ln
      PSA at long periods).
    scattering_g0_per_km: median total scattering coefficient g0 in 1/km
      (0.02; of the order of 0.01-0.02 found in Japan, e.g. Fehler et al.
      1992); it sets the coda level (Sato 1977).
    g0_sigma_ln: its event-to-event scatter (ln) in simulate_catalog
      (scattering strength varies regionally by a factor of several).
    coda_q0, coda_n: coda Q ``coda_q0 f^coda_n`` (Aki & Chouet 1975: 50-200 at
      1 Hz, 1000-2000 at 20 Hz in western Japan).
    coda_end_level: records last until the 1 Hz coda has fallen to this share
      of its start (plus 10 s), as a triggered K-NET logger keeps recording.
    max_record_s: longest record in s.
    fc_p_over_fc_s: P corner frequency / S corner frequency.
    s_on_ud: S amplitude on UD relative to one horizontal (H/V of S ~ 1.5-2).
    p_on_ud, p_on_horizontal: P amplitude on UD and on each horizontal (P comes
      up nearly vertically through the low-velocity near surface).
    p_site_power: the P site amplification is the S one to this power (the
      near-surface P velocity contrast is much smaller than the S one).
    p_ramp_s, p_eps: rise time and Saragoni-Hart peak position of the P
      window (:func:`data_prep.envelopes.p_envelope`).
  """
  stress_bar: float = 100.0
  beta_kms: float = 3.5
  vp_kms: float = 6.0
  rho_gcc: float = 2.8
  rad_s: float = 0.55
  rad_p: float = 0.52
  partition: float = 1.0 / math.sqrt(2.0)
  free_surface: float = 2.0
  hinge_km: float = 70.0
  q0: float = 180.0
  q_eta: float = 0.45
  qp_over_qs: float = 1.0 / 1.5
  kappa0_s: float = 0.035
  p_path_duration_per_km: float = 0.05
  duration_tau_ln: float = 0.3
  duration_phi_ln: float = 0.45
  site_sigma_ln: float = 0.4
  mw_sigma: float = 0.1
  scattering_g0_per_km: float = 0.02
  g0_sigma_ln: float = 0.5
  coda_q0: float = 100.0
  coda_n: float = 0.8
  coda_end_level: float = 0.02
  max_record_s: float = 400.0
  fc_p_over_fc_s: float = 1.5
  s_on_ud: float = 0.6
  p_on_ud: float = 1.0
  p_on_horizontal: float = 0.35
  p_site_power: float = 0.5
  p_ramp_s: float = 0.01
  p_eps: float = 0.05


DEFAULT_PARAMS = ModelParams()


def _check_magnitude(magnitude) -> float:
  lo, hi = MAGNITUDE_RANGE
  m = float(magnitude)
  if not (np.isfinite(m) and lo <= m <= hi):
    raise ValueError(f"magnitude must be in [{lo}, {hi}], got {magnitude!r}")
  return m


def _check_distance(dist_km) -> float:
  r = float(dist_km)
  if not (np.isfinite(r) and 0.0 < r <= _MAX_DIST_KM):
    raise ValueError(f"dist_km must be a distance in (0, {_MAX_DIST_KM:g}] km, got {dist_km!r}")
  return r


def check_rate(sampling_rate_hz, integer=False) -> float:
  """``sampling_rate_hz`` as a float in Hz (>= 10; a whole number if ``integer``), else ValueError."""
  fs = float(sampling_rate_hz)
  if not (np.isfinite(fs) and fs >= 10.0) or (integer and fs != round(fs)):
    kind = "an integer number of Hz" if integer else "a number of Hz"
    raise ValueError(f"sampling_rate_hz must be {kind} >= 10, got {sampling_rate_hz!r}")
  return fs


def _check_positive(name, value) -> float:
  v = float(value)
  if not (np.isfinite(v) and v > 0):
    raise ValueError(f"{name} must be a positive number, got {value!r}")
  return v


def seismic_moment(magnitude) -> np.ndarray:
  """Seismic moment in dyne-cm of moment magnitude ``magnitude`` (any shape)."""
  return 10.0 ** (1.5 * np.asarray(magnitude, np.float64) + 16.05)


def corner_frequency(magnitude, stress_bar=DEFAULT_PARAMS.stress_bar, beta_kms=DEFAULT_PARAMS.beta_kms) -> np.ndarray:
  """Brune corner frequency in Hz: ``4.906e6 beta (stress / M0)^(1/3)``.

  Args:
    magnitude: moment magnitude (any shape).
    stress_bar: stress drop in bar.
    beta_kms: shear velocity at the source in km/s.
  """
  return 4.906e6 * beta_kms * (stress_bar / seismic_moment(magnitude)) ** (1.0 / 3.0)


def effective_distance(magnitude, dist_km) -> np.ndarray:
  """``sqrt(R^2 + h(M)^2)`` in km, h(M) = 10**(-0.405 + 0.235 M) (Yenier & Atkinson 2015).

  The pseudo-depth h grows with magnitude so that amplitudes saturate near large
  faults (h ~ 30 km at M8) instead of growing without bound as R -> 0.
  """
  h = 10.0 ** (-0.405 + 0.235 * np.asarray(magnitude, np.float64))
  return np.hypot(np.asarray(dist_km, np.float64), h)


def _geometric_spreading(r_km, hinge_km):
  r = np.asarray(r_km, np.float64)
  return np.where(r <= hinge_km, 1.0 / r, (1.0 / hinge_km) * np.sqrt(hinge_km / np.maximum(r, hinge_km)))


def _site_amplification(f):
  logf = np.log(np.clip(f, _BJ97_ROCK[0, 0], _BJ97_ROCK[-1, 0]))
  return np.exp(np.interp(logf, np.log(_BJ97_ROCK[:, 0]), np.log(_BJ97_ROCK[:, 1])))


def double_corner(magnitude, stress_factor=1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Atkinson & Silva (2000) source corners ``(fa, fb, eps)`` in Hz, Hz and 1 (any shape).

  ``log10 fa = 2.181 - 0.496 M``, ``log10 fb = 2.41 - 0.408 M``, ``log10 eps =
  0.605 - 0.255 M``; both corners are multiplied by ``stress_factor^(1/3)``
  (an event's stress drop over the median: Brune's scaling of fc).
  """
  m = np.asarray(magnitude, np.float64)
  scale = np.asarray(stress_factor, np.float64) ** (1.0 / 3.0)
  return 10.0 ** (2.181 - 0.496 * m) * scale, 10.0 ** (2.41 - 0.408 * m) * scale, 10.0 ** (0.605 - 0.255 * m)


def _wave_terms(magnitude, dist_km, f, wave, stress_bar, kappa0_s, p: ModelParams):
  """(amplitude constant in m/s, source shape [F], positive path x site term [F])."""
  if wave == "S":
    rad, vel, part, q0, amp_power = p.rad_s, p.beta_kms, p.partition, p.q0, 1.0
    fa, fb, eps = (float(v) for v in double_corner(magnitude, stress_bar / p.stress_bar))
    shape = (1.0 - eps) / (1.0 + (f / fa) ** 2) + eps / (1.0 + (f / fb) ** 2)
  else:  # P: Brune, no horizontal partition, faster, higher corner, smaller site contrast.
    rad, vel, part, q0, amp_power = p.rad_p, p.vp_kms, 1.0, p.q0 * p.qp_over_qs, p.p_site_power
    fc = p.fc_p_over_fc_s * float(corner_frequency(magnitude, stress_bar, p.beta_kms))
    shape = 1.0 / (1.0 + (f / fc) ** 2)
  vel_cms = vel * 1e5
  const_cgs = rad * part * p.free_surface / (4.0 * np.pi * p.rho_gcc * vel_cms ** 3 * 1e5)
  const = 0.01 * const_cgs * float(seismic_moment(magnitude))  # cm -> m.
  r_eff = float(effective_distance(magnitude, dist_km))
  # f / Q(f) = f^(1 - eta) / q0, finite at f = 0.
  anelastic = np.exp(-np.pi * f ** (1.0 - p.q_eta) * r_eff / (q0 * vel))
  site = _site_amplification(f) ** amp_power * np.exp(-np.pi * kappa0_s * f)
  path_site = _geometric_spreading(r_eff, p.hinge_km) * anelastic * site
  return const, shape, path_site


def fourier_spectrum(magnitude, dist_km, freqs_hz, wave="S", stress_bar=None, kappa0_s=None,
                     params: ModelParams = DEFAULT_PARAMS) -> np.ndarray:
  """Target Fourier amplitude spectrum of acceleration on one component.

  Args:
    magnitude: moment magnitude.
    dist_km: hypocentral distance in km.
    freqs_hz: ``[F]`` frequencies in Hz (>= 0).
    wave: ``'S'`` (one horizontal component) or ``'P'`` (before the component
      factors ``p_on_ud`` / ``p_on_horizontal``).
    stress_bar, kappa0_s: override ``params``.
    params: model parameters.

  Returns:
    ``[F]`` float64 Fourier amplitude in m/s (m/s^2 x s).
  """
  m, r = _check_magnitude(magnitude), _check_distance(dist_km)
  if wave not in ("S", "P"):
    raise ValueError(f"wave must be 'S' or 'P', got {wave!r}")
  f = np.asarray(freqs_hz, np.float64)
  stress = params.stress_bar if stress_bar is None else _check_positive("stress_bar", stress_bar)
  kappa = params.kappa0_s if kappa0_s is None else float(kappa0_s)
  const, shape, path_site = _wave_terms(m, r, f, wave, stress, kappa, params)
  return const * (2 * np.pi * f) ** 2 * shape * path_site


def _min_phase(amplitude, nfft):
  """Minimum-phase spectrum with the given positive amplitude on the rfft grid (folded real cepstrum)."""
  cep = np.fft.irfft(np.log(amplitude), nfft)
  fold = np.zeros(nfft)
  fold[0] = cep[0]
  fold[1:nfft // 2] = 2.0 * cep[1:nfft // 2]
  fold[nfft // 2] = cep[nfft // 2]
  return np.exp(np.fft.rfft(fold))


def _causal_response(f, dt, nfft, const, shape, path_site):
  """Complex [nfft//2+1] response with |H| = target spectrum and a causal impulse response.

  The whole spectrum gets its minimum phase, the causal filter whose energy
  builds up fastest: attenuation then delays and broadens pulses as it does in
  the Earth instead of smearing energy symmetrically ahead of the onset (as
  Boore's zero-phase product would). The (2 pi f)^2 of acceleration, which has
  no logarithm at f = 0, is the causal double difference ((1 - e^{-2 pi i f dt})
  / dt)^2 times its smooth, positive correction (pi f dt / sin(pi f dt))^2,
  which goes to the cepstrum with the rest.
  """
  double_diff = ((1.0 - np.exp(-2j * np.pi * f * dt)) / dt) ** 2
  smooth = path_site * shape / np.sinc(f * dt) ** 2
  return const * double_diff * _min_phase(smooth, nfft)


def _instrument_noise(n, fs, rng, sigma_ms2):
  """[3, n] white sensor noise plus a weaker microseism band (0.1-0.5 Hz)."""
  white = sigma_ms2 * rng.standard_normal((3, n))
  f = np.fft.rfftfreq(n, 1.0 / fs)
  band = np.exp(-0.5 * (np.log(np.maximum(f, 1e-6) / 0.22) / 0.45) ** 2)
  spec = (rng.standard_normal((3, f.size)) + 1j * rng.standard_normal((3, f.size))) * band
  micro = np.fft.irfft(spec, n)
  micro *= 0.7 * sigma_ms2 / np.maximum(micro.std(axis=1, keepdims=True), 1e-300)
  return white + micro


def _record_length_s(pre_s, sp_s, travel_s, excitation_s, p: ModelParams):
  """Whole seconds: pre-event noise, S-P, the direct S, its coda until it has died down, 10 s more; >= 60 s.

  K-NET keeps recording for a while after the shaking falls below its trigger
  level; 60 s also leaves room for 30 s analysis windows starting at P.
  """
  coda = envelopes.coda_length_s(travel_s + excitation_s, p.coda_end_level, p.coda_q0, p.coda_n)
  return float(min(p.max_record_s, max(60, math.ceil(pre_s + sp_s + excitation_s + coda + 10.0))))


def _ground_motion(m, r, n, dt, tp, ts, stress, kappa, excitation_s, g0, rng, p: ModelParams):
  """[3, n] noise-free EW, NS, UD ground acceleration in m/s^2 (S with its coda + P)."""
  fc_s = float(corner_frequency(m, stress, p.beta_kms))
  t = np.arange(n) * dt
  # Zero padding (at least doubling) keeps the causal tails from wrapping around
  # into the pre-event part: the min-phase attenuation tail decays slowly
  # (Q ~ f^0.45 has a cusp at f = 0) and the source tail lasts a few 1/fc.
  fa = float(double_corner(m, stress / p.stress_bar)[0])
  nfft = scipy.fft.next_fast_len(n + int(max(n * dt, 4.0 / min(fa, fc_s)) / dt), real=True)
  nfft += nfft % 2
  f = np.fft.rfftfreq(nfft, dt)
  resp_s, resp_p = (_causal_response(f, dt, nfft, *_wave_terms(m, r, f, w, stress, kappa, p)) for w in ("S", "P"))
  # S on EW, NS, UD and P on EW, NS, UD, each from its own Gaussian noise (Boore 2003).
  noise = rng.standard_normal((6, n))
  # Direct S: Boore's window, its spectrum normalised to unit mean square, so
  # that it has the target spectrum.
  z_s = np.fft.rfft(noise[:3] * envelopes.saragoni_hart(t - ts, 2.0 * excitation_s), nfft, axis=1)
  norm = np.sqrt(np.mean(np.abs(z_s) ** 2, axis=1, keepdims=True))
  z_s /= norm
  # Coda: scattered energy on top, octave by octave (it decays faster at high
  # frequencies). Each band is stationary band-limited noise of its own, times
  # its envelope, which is 0 before the S onset: nothing arrives earlier.
  centres = envelopes.band_centres_hz(0.5 / dt)
  coda_env = envelopes.coda_envelopes(t, ts, r / p.beta_kms, excitation_s, centres, g0, p.beta_kms, p.coda_q0,
                                      p.coda_n)
  if g0 > 0:
    band_noise = np.fft.rfft(rng.standard_normal((centres.size, 3, n)), axis=-1)
    band_noise *= envelopes.band_weights(np.fft.rfftfreq(n, dt), centres)[:, None, :]
    coda = np.einsum("bct,bt->ct", np.fft.irfft(band_noise, n, axis=-1), coda_env)
    z_s += np.fft.rfft(coda, nfft, axis=1) / norm
  # P: one envelope, Boore's normalisation to unit mean square.
  t_eta_p = 2.0 * (1.0 / (p.fc_p_over_fc_s * fc_s) + p.p_path_duration_per_km * r)
  z_p = np.fft.rfft(noise[3:] * envelopes.p_envelope(t - tp, t_eta_p, p.p_ramp_s, p.p_eps), nfft, axis=1)
  z_p /= np.sqrt(np.mean(np.abs(z_p) ** 2, axis=1, keepdims=True))
  comp_s = np.array([1.0, 1.0, p.s_on_ud])[:, None]
  comp_p = np.array([p.p_on_horizontal, p.p_on_horizontal, p.p_on_ud])[:, None]
  z = z_s * comp_s * resp_s + z_p * comp_p * resp_p
  return np.fft.irfft(z, nfft, axis=1)[:, :n] / dt


def simulate_record(magnitude, dist_km, rng, sampling_rate_hz=100.0, *, stress_bar=None, kappa0_s=None,
                    duration_factor=1.0, scattering_g0_per_km=None, site_factor=1.0, pre_event_s=None,
                    noise_ms2=None, duration_s=None, params: ModelParams = DEFAULT_PARAMS) -> dict:
  """Simulate the three components of one station's record.

  Args:
    magnitude: moment magnitude in ``MAGNITUDE_RANGE``.
    dist_km: hypocentral distance in km, in (0, 1000].
    rng: ``numpy.random.Generator`` (an int seed is accepted too).
    sampling_rate_hz: samples per second (>= 10).
    stress_bar: stress drop in bar (default ``params.stress_bar``, the median).
    kappa0_s: site kappa in s (default ``params.kappa0_s``).
    duration_factor: multiplies the excitation duration (event and station terms).
    scattering_g0_per_km: coda scattering coefficient (default ``params.scattering_g0_per_km``; 0: no coda).
    site_factor: multiplies the ground motion (a site term).
    pre_event_s: seconds of noise before the P onset (default: uniform 3-15 s).
    noise_ms2: standard deviation of the white sensor noise in m/s^2 (default:
      log-uniform 2e-5 to 1e-4, i.e. ~3-16 counts of a 3920 gal K-NET sensor,
      plus a weaker 0.1-0.5 Hz microseism band); 0 gives noise-free motion.
    duration_s: record length in s (default: whole seconds until 10 s after the
      coda has died down, 60 s to ``params.max_record_s``).
    params: model parameters.

  Returns:
    dict with ``'EW'``, ``'NS'``, ``'UD'``: ``[time]`` float64 acceleration in
    m/s^2 (ground motion plus noise, no DC offset); ``'p_onset_s'``,
    ``'s_onset_s'``: onsets in s after the first sample (S - P = R (1/beta -
    1/Vp)); ``'sampling_rate_hz'``; ``'fc_hz'``: Brune corner (the P
    source's is 1.5 times it); ``'excitation_s'``: the S excitation duration;
    ``'stress_bar'``, ``'kappa0_s'``: the values used.

  Raises:
    ValueError: an argument is out of range (the message names it).
  """
  m, r = _check_magnitude(magnitude), _check_distance(dist_km)
  fs = check_rate(sampling_rate_hz)
  if not isinstance(rng, np.random.Generator):
    rng = np.random.default_rng(rng)
  p = params
  stress = p.stress_bar if stress_bar is None else _check_positive("stress_bar", stress_bar)
  kappa = p.kappa0_s if kappa0_s is None else _check_positive("kappa0_s", kappa0_s)
  tp = rng.uniform(3.0, 15.0) if pre_event_s is None else float(pre_event_s)
  if not (np.isfinite(tp) and tp >= 0):
    raise ValueError(f"pre_event_s must be >= 0 s, got {pre_event_s!r}")
  sigma = 10.0 ** rng.uniform(np.log10(2e-5), -4.0) if noise_ms2 is None else float(noise_ms2)
  if not (np.isfinite(sigma) and sigma >= 0):
    raise ValueError(f"noise_ms2 must be >= 0, got {noise_ms2!r}")
  fc_s = float(corner_frequency(m, stress, p.beta_kms))
  ts = tp + r / p.beta_kms - r / p.vp_kms
  fa, fb, _ = (float(v) for v in double_corner(m, stress / p.stress_bar))
  excitation = _check_positive("duration_factor", duration_factor) * float(
      envelopes.excitation_duration_s(0.5 / fa + 0.5 / fb, effective_distance(m, r)))
  if duration_s is None:
    duration_s = _record_length_s(tp, ts - tp, r / p.beta_kms, excitation, p)
  n = int(round(_check_positive("duration_s", duration_s) * fs))
  g0 = p.scattering_g0_per_km if scattering_g0_per_km is None else float(scattering_g0_per_km)
  if not (np.isfinite(g0) and g0 >= 0):
    raise ValueError(f"scattering_g0_per_km must be >= 0, got {scattering_g0_per_km!r}")
  accel = _check_positive("site_factor", site_factor) * _ground_motion(m, r, n, 1.0 / fs, tp, ts, stress, kappa,
                                                                       excitation, g0, rng, p)
  if sigma > 0:
    accel = accel + _instrument_noise(n, fs, rng, sigma)
  out = {c: accel[i] for i, c in enumerate(knet.COMPONENTS)}
  out.update(p_onset_s=tp, s_onset_s=ts, sampling_rate_hz=fs, fc_hz=fc_s, excitation_s=excitation, stress_bar=stress,
             kappa0_s=kappa)
  return out
