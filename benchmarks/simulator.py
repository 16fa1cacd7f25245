"""Simulated records against real Japanese records and published models: durations, PSA, variability.

Run (pygmm comes with the `test` and `bench` extras):
  python benchmarks/simulator.py                    # 60 events, seed 0 (make quickstart's catalog)
  python benchmarks/simulator.py --num_events=200 --seed=1

For the horizontal components of a simulated catalog (exactly the records
``data_prep.simulate.simulate_dataset`` writes, before quantisation) and of the
real K-NET/KiK-net surface records in ``tests/data``, each processed as a whole
record (mean removed, 1 s cosine taper, 0.1-25 Hz zero-phase Butterworth), prints

* mean and std of ln(D5-75 / AS16) and ln(D5-95 / AS16): Afshari & Stewart
  (2016) medians for strike-slip, rupture distance = hypocentral distance, Vs30
  620 m/s (the simulator's generic rock) or 400 m/s (the real sites); and the
  mean per magnitude and per distance bin;
* PSA residuals ln(PSA / BSSA14) at 0.1, 0.3, 1 and 3 s: Boore, Stewart, Seyhan
  & Atkinson (2014) with region 'japan', unspecified mechanism, R_JB =
  epicentral distance (a point source), the same Vs30; PSA of the geometric mean
  of the two horizontals; mean, between-event tau, within-event phi and total
  sigma (random-effects fit, Abrahamson & Youngs 1992), over M 4-7.5 and
  10-200 km for the simulated records, over all records for the real ones;
* the same PSA residuals for all hypocentral depths (the catalog draws 5-60 km)
  against BSSA14 for hypocentres to 20 km and, deeper, Abrahamson, Gregor & Addo
  (2016, AGA16, the BC Hydro subduction model) for interface events (rupture
  distance = hypocentral distance, no backarc term): the simulator's deep events
  have the crustal median stress drop (100 bar), like interface events and
  unlike intraslab ones; printed for reference, the deep events against AGA16's
  intraslab model (hypocentral distance and depth) and all events against
  Chiou & Youngs (2014, CY14, japan, rupture distance = hypocentral distance,
  R_JB = epicentral distance, depth to top of rupture = hypocentral depth
  capped at 20 km, the top of CY14's range).

The functions are what ``tests/simulator_check_test.py`` asserts on.

References:
  Abrahamson, N. A. & Youngs, R. R. (1992). A stable algorithm for regression
  analyses using the random effects model. BSSA 82, 505-510.
  Abrahamson, N., Gregor, N. & Addo, K. (2016). BC Hydro ground motion
  prediction equations for subduction earthquakes. Earthquake Spectra 32, 23-44.
  Afshari, K. & Stewart, J. P. (2016). Physically parameterized prediction
  equations for significant duration in active crustal regions. Earthquake
  Spectra 32, 2057-2081.
  Boore, D. M., Stewart, J. P., Seyhan, E. & Atkinson, G. M. (2014). NGA-West2
  equations for predicting PGA, PGV, and 5% damped PSA for shallow crustal
  earthquakes. Earthquake Spectra 30, 1057-1085.
  Chiou, B. S.-J. & Youngs, R. R. (2014). Update of the Chiou and Youngs NGA
  model for the average horizontal component of peak ground motion and response
  spectra. Earthquake Spectra 30, 1117-1153.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import pathlib
import sys
import time
import warnings

# benchmarks/data_prep.py would shadow the package: keep this folder off the import path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import pygmm  # noqa: E402

from cvaegan_jax import intensity, validation  # noqa: E402
from cvaegan_jax import spectra  # noqa: E402
from data_prep import knet  # noqa: E402
from data_prep import processing  # noqa: E402
from data_prep import simulate  # noqa: E402
from data_prep import stochastic  # noqa: E402

PERIODS_S = (0.1, 0.3, 1.0, 3.0)
SIM_VS30_MS = 620.0  # Boore & Joyner (1997) generic rock of the simulator.
REAL_VS30_MS = 400.0  # A typical K-NET/KiK-net surface site.
M_BINS = (2.0, 4.5, 5.5, 6.5, 7.5, 9.0)
R_BINS_KM = (0.0, 30.0, 60.0, 100.0, 150.0, 300.0)
# Where the PSA residuals are averaged: BSSA14's shallow crustal domain (hypocentres to 20 km).
PSA_RANGE = dict(magnitude=(4.0, 7.5), dist_km=(10.0, 200.0), depth_km=(0.0, 20.0))
# The model each PSA residual is taken against (``psa_residuals``'s ``model``): BSSA14 for every record,
# or the depth split BSSA14 (hypocentres to PSA_RANGE's 20 km) + AGA16 interface (deeper), or one of the
# reference models (AGA16's interface or intraslab model, CY14 japan) for every record.
PSA_MODELS = ("BSSA14", "BSSA14+AGA16-interface", "AGA16-interface", "AGA16-intraslab", "CY14")
_REAL_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"


@dataclasses.dataclass
class Records:
  """Horizontal components and their metadata.

  Attributes:
    event_id: ``[N]`` event of each component.
    station: ``[N]`` station of each component (two components a station).
    magnitude, dist_km, epi_km, depth_km: ``[N]`` magnitude, hypocentral and
      epicentral distance, hypocentral depth in km.
    d5_75_s, d5_95_s: ``[N]`` significant durations in s.
    psa_ms2: ``[N, len(PERIODS_S)]`` PSA (5% damping) in m/s^2.
  """
  event_id: np.ndarray
  station: np.ndarray
  magnitude: np.ndarray
  dist_km: np.ndarray
  epi_km: np.ndarray
  depth_km: np.ndarray
  d5_75_s: np.ndarray
  d5_95_s: np.ndarray
  psa_ms2: np.ndarray


def process(accel_ms2, sampling_rate_hz) -> np.ndarray:
  """A whole record as the checks measure it: mean removed, 1 s taper, 0.1-25 Hz band-pass; ``[time]`` m/s^2."""
  a = np.asarray(accel_ms2, np.float64)
  a = processing.taper(a - a.mean(), sampling_rate_hz, 1.0)
  return processing.bandpass(a, sampling_rate_hz, 0.1, 25.0)


def _measure(rows, periods=PERIODS_S) -> Records:
  """rows of (event_id, station, magnitude, dist_km, epi_km, depth_km, processed accel, fs) -> Records."""
  d75 = np.array([float(intensity.d5_75(a, 1.0 / fs)) for *_, a, fs in rows])
  d95 = np.array([float(intensity.d5_95(a, 1.0 / fs)) for *_, a, fs in rows])
  psa = np.zeros((len(rows), len(periods)))
  # Zero-padded to whole blocks so that only a few lengths compile.
  by_shape = {}
  for i, (*_, a, fs) in enumerate(rows):
    n = -(-a.size // 4096) * 4096
    by_shape.setdefault((n, fs), []).append(i)
  for (n, fs), idx in by_shape.items():
    x = np.zeros((len(idx), n), np.float32)
    for k, i in enumerate(idx):
      x[k, :rows[i][6].size] = rows[i][6]
    psa[idx] = np.asarray(spectra.response_spectrum(x, 1.0 / fs, np.asarray(periods, float)))
  col = lambda j: np.array([r[j] for r in rows])
  return Records(col(0), col(1), *(col(j).astype(float) for j in (2, 3, 4, 5)), d75, d95, psa)


def simulated_records(num_events, seed, params=stochastic.DEFAULT_PARAMS, stations_per_event=(3, 8)) -> Records:
  """Measure the horizontal components of ``simulate_catalog(num_events, seed)``."""
  rows = []
  for ev in simulate.simulate_catalog(num_events, seed, stations_per_event, params):
    for sta in ev["stations"]:
      rec = simulate.station_record(ev, sta, 100.0, params)
      epi = math.sqrt(max(sta["dist_km"] ** 2 - (ev["depth_km"] + sta["height_m"] / 1000.0) ** 2, 0.0))
      for c in ("EW", "NS"):
        rows.append((ev["event_id"], sta["station"], ev["magnitude"], sta["dist_km"], epi, ev["depth_km"],
                     process(rec[c], 100.0), 100.0))
  return _measure(rows)


def real_records(data_dir=_REAL_DIR) -> Records:
  """Measure the horizontal surface components of the real records in ``data_dir`` (K-NET EW/NS, KiK-net EW2/NS2)."""
  rows = []
  for p in sorted(pathlib.Path(data_dir).rglob("*")):
    if p.suffix not in (".EW", ".NS", ".EW2", ".NS2"):
      continue
    r = knet.read_knet_file(p)
    epi = math.sqrt(max(r.dist_km ** 2 - (r.depth_km + r.station_height_m / 1000.0) ** 2, 0.0))
    rows.append((r.event_id, r.station, r.magnitude, r.dist_km, epi, r.depth_km,
                 process(r.accel_ms2, r.sampling_rate_hz), r.sampling_rate_hz))
  return _measure(rows)


def as16_medians(magnitude, dist_km, vs30_ms) -> tuple[np.ndarray, np.ndarray]:
  """Afshari & Stewart (2016) median D5-75 and D5-95 in s, ``[N]`` each (strike-slip, R_rup = ``dist_km``)."""
  d75, d95 = [], []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pygmm warns outside M 3-7.9, R 0-200 km; the formula extrapolates smoothly.
    for m, r in zip(np.atleast_1d(magnitude), np.atleast_1d(dist_km)):
      d = pygmm.AfshariStewart2016(pygmm.Scenario(mag=float(m), dist_rup=float(r), v_s30=vs30_ms,
                                                  mechanism="SS")).duration
      d75.append(float(d.D_5t75))
      d95.append(float(d.D_5t95))
  return np.array(d75), np.array(d95)


def bssa14_medians_ms2(magnitude, dist_jb_km, vs30_ms, periods=PERIODS_S) -> np.ndarray:
  """BSSA14 (region 'japan', unspecified mechanism) median PSA in m/s^2, ``[N, len(periods)]``."""
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for m, r in zip(np.atleast_1d(magnitude), np.atleast_1d(dist_jb_km)):
      gmm = pygmm.BooreStewartSeyhanAtkinson2014(pygmm.Scenario(mag=float(m), dist_jb=float(r), v_s30=vs30_ms,
                                                                mechanism="U", region="japan"))
      out.append(gmm.interp_spec_accels(np.asarray(periods, float)) * validation.G_MS2)
  return np.array(out)


def aga16_medians_ms2(magnitude, dist_km, depth_km, vs30_ms, event_type="interface",
                      periods=PERIODS_S) -> np.ndarray:
  """AGA16 (BC Hydro) median PSA in m/s^2, ``[N, len(periods)]``: ``event_type`` 'interface' or 'intraslab'.

  A point source: rupture distance = hypocentral distance = ``dist_km``; ``depth_km`` is the
  hypocentral depth (used by the intraslab model only); no backarc term.
  """
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for m, r, z in zip(np.atleast_1d(magnitude), np.atleast_1d(dist_km), np.atleast_1d(depth_km)):
      gmm = pygmm.AbrahamsonGregorAddo2016(pygmm.Scenario(mag=float(m), dist_rup=float(r), dist_hyp=float(r),
                                                          depth_hyp=float(z), v_s30=vs30_ms, event_type=event_type))
      out.append(gmm.interp_spec_accels(np.asarray(periods, float)) * validation.G_MS2)
  return np.array(out)


def cy14_medians_ms2(magnitude, dist_km, dist_jb_km, depth_km, vs30_ms, periods=PERIODS_S) -> np.ndarray:
  """CY14 (region 'japan', unspecified mechanism) median PSA in m/s^2, ``[N, len(periods)]``.

  A point source: rupture distance = hypocentral distance ``dist_km``, R_JB = ``dist_jb_km``,
  depth to top of rupture = hypocentral depth capped at 20 km (CY14's range; its depth term is
  linear and would add ~1.5 ln units at 60 km), vertical fault, footwall.
  """
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for m, r, rjb, z in zip(*(np.atleast_1d(v) for v in (magnitude, dist_km, dist_jb_km, depth_km))):
      gmm = pygmm.ChiouYoungs2014(pygmm.Scenario(
          mag=float(m), dist_rup=float(r), dist_jb=float(rjb), dist_x=-float(rjb), dip=90.0, v_s30=vs30_ms,
          depth_tor=min(float(z), 20.0), mechanism="U", region="japan", on_hanging_wall=False))
      out.append(gmm.interp_spec_accels(np.asarray(periods, float)) * validation.G_MS2)
  return np.array(out)


def psa_medians_ms2(model, magnitude, dist_km, epi_km, depth_km, vs30_ms) -> np.ndarray:
  """Median PSA in m/s^2, ``[N, len(PERIODS_S)]``, of one of ``PSA_MODELS`` for point sources."""
  magnitude, dist_km, epi_km, depth_km = (np.atleast_1d(np.asarray(v, float))
                                          for v in (magnitude, dist_km, epi_km, depth_km))
  if model == "BSSA14":
    return bssa14_medians_ms2(magnitude, epi_km, vs30_ms)
  if model in ("AGA16-interface", "AGA16-intraslab"):
    return aga16_medians_ms2(magnitude, dist_km, depth_km, vs30_ms, model.split("-")[1])
  if model == "CY14":
    return cy14_medians_ms2(magnitude, dist_km, epi_km, depth_km, vs30_ms)
  if model == "BSSA14+AGA16-interface":
    out = np.zeros((magnitude.size, len(PERIODS_S)))
    shallow = depth_km <= PSA_RANGE["depth_km"][1]
    for mask, sub in ((shallow, "BSSA14"), (~shallow, "AGA16-interface")):
      if mask.any():
        out[mask] = psa_medians_ms2(sub, magnitude[mask], dist_km[mask], epi_km[mask], depth_km[mask], vs30_ms)
    return out
  raise ValueError(f"model must be one of {PSA_MODELS}, got {model!r}")


def random_effects(residual, group, iterations=50) -> tuple[float, float, float]:
  """(mean, tau, phi) of ``residual [N]`` = mean + event term (std tau) + within-event term (std phi).

  Abrahamson & Youngs (1992): alternately the event terms as the shrunken
  means ``tau^2 sum(r - mean) / (n tau^2 + phi^2)`` of each group, and the
  three parameters from them (with the variance the shrinkage hides).
  """
  r = np.asarray(residual, np.float64)
  groups, idx = np.unique(np.asarray(group), return_inverse=True)
  n = np.bincount(idx)
  mean, tau2, phi2 = r.mean(), 0.5 * r.var(), 0.5 * r.var()
  for _ in range(iterations):
    s = np.bincount(idx, r - mean)
    eta = tau2 * s / (n * tau2 + phi2)
    var_eta = tau2 * phi2 / (n * tau2 + phi2)  # Posterior variance of each event term.
    mean = float(np.mean(r - eta[idx]))
    e = r - mean - eta[idx]
    phi2 = float(np.mean(e ** 2 + var_eta[idx]))
    tau2 = max(float(np.mean(eta ** 2 + var_eta)), 1e-12)
  return mean, math.sqrt(tau2), math.sqrt(phi2)


def duration_residuals(rec: Records, vs30_ms) -> dict[str, np.ndarray]:
  """{'D5-75', 'D5-95'}: ``[N]`` ln(observed / AS16 median)."""
  m75, m95 = as16_medians(rec.magnitude, rec.dist_km, vs30_ms)
  return {"D5-75": np.log(rec.d5_75_s / m75), "D5-95": np.log(rec.d5_95_s / m95)}


def psa_residuals(rec: Records, vs30_ms, select=None, model="BSSA14") -> tuple[np.ndarray, np.ndarray]:
  """(``[S, len(PERIODS_S)]`` ln(geometric-mean PSA / model median), ``[S]`` event ids) per station.

  ``select``: optional ``[N]`` mask of components to use; ``model``: one of ``PSA_MODELS``.
  """
  keep = np.ones(rec.magnitude.size, bool) if select is None else np.asarray(select)
  key = np.char.add(np.char.add(rec.event_id.astype(str), "/"), rec.station.astype(str))
  stations, first, idx = np.unique(key[keep], return_index=True, return_inverse=True)
  ln_psa = np.log(rec.psa_ms2[keep])
  geo = np.stack([np.bincount(idx, ln_psa[:, j]) / np.bincount(idx) for j in range(ln_psa.shape[1])], axis=1)
  where = np.flatnonzero(keep)[first]
  med = psa_medians_ms2(model, rec.magnitude[where], rec.dist_km[where], rec.epi_km[where], rec.depth_km[where],
                        vs30_ms)
  return geo - np.log(med), rec.event_id[where]


def in_psa_range(rec: Records, depth_km=PSA_RANGE["depth_km"]) -> np.ndarray:
  """``[N]`` mask of M 4-7.5, 10-200 km and hypocentres within ``depth_km`` (min, max)."""
  (m0, m1), (r0, r1), (z0, z1) = PSA_RANGE["magnitude"], PSA_RANGE["dist_km"], depth_km
  return ((rec.magnitude >= m0) & (rec.magnitude <= m1) & (rec.dist_km >= r0) & (rec.dist_km <= r1)
          & (rec.depth_km >= z0) & (rec.depth_km <= z1))


def _bin_means(values, x, edges):
  out = []
  for lo, hi in zip(edges[:-1], edges[1:]):
    sel = (x >= lo) & (x < hi)
    out.append(f"{values[sel].mean():+.2f} ({sel.sum()})" if sel.any() else "  -  (0)")
  return out


def report(name, rec: Records, vs30_ms, psa_select) -> None:
  """Print the duration and PSA tables of one set of records.

  ``psa_select``: (label, ``[N]`` mask) or (label, ``[N]`` mask, model) tuples; model BSSA14 if not given.
  """
  res = duration_residuals(rec, vs30_ms)
  n_ev = np.unique(rec.event_id).size
  print(f"\n{name}: {rec.magnitude.size} horizontal components, {n_ev} events, Vs30 {vs30_ms:g} m/s")
  print("  duration      mean ln(obs/AS16)  std   median obs (s)")
  for k, v in res.items():
    obs = rec.d5_75_s if k == "D5-75" else rec.d5_95_s
    print(f"  {k:<12}  {v.mean():+17.2f}  {v.std():4.2f}  {np.median(obs):8.1f}")
  print("  mean ln(D5-95/AS16) per M bin:  " + "  ".join(
      f"M{lo:g}-{hi:g}: {s}" for lo, hi, s in zip(M_BINS[:-1], M_BINS[1:], _bin_means(res["D5-95"], rec.magnitude,
                                                                                       M_BINS))))
  print("  mean ln(D5-95/AS16) per R bin:  " + "  ".join(
      f"{lo:g}-{hi:g} km: {s}" for lo, hi, s in zip(R_BINS_KM[:-1], R_BINS_KM[1:], _bin_means(res["D5-95"],
                                                                                              rec.dist_km,
                                                                                              R_BINS_KM))))
  names = {"BSSA14": "BSSA14 (japan)", "BSSA14+AGA16-interface": "BSSA14 (japan) to 20 km + AGA16 interface deeper",
           "AGA16-interface": "AGA16 interface", "AGA16-intraslab": "AGA16 intraslab",
           "CY14": "CY14 (japan, ztor = min(depth, 20 km))"}
  for label, select, *model in psa_select:
    model = model[0] if model else "BSSA14"
    res_psa, ev = psa_residuals(rec, vs30_ms, select, model)
    print(f"  PSA vs {names[model]}, {label}: {res_psa.shape[0]} stations of {np.unique(ev).size} events")
    print("  period (s)   mean    tau    phi  sigma")
    for j, t in enumerate(PERIODS_S):
      mean, tau, phi = random_effects(res_psa[:, j], ev)
      print(f"  {t:10.1f}  {mean:+5.2f}  {tau:5.2f}  {phi:5.2f}  {math.hypot(tau, phi):5.2f}")


def main(argv=None) -> None:
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--num_events", type=int, default=60)
  ap.add_argument("--seed", type=int, default=0)
  args = ap.parse_args(argv)
  t0 = time.perf_counter()
  sim = simulated_records(args.num_events, args.seed)
  t_sim = time.perf_counter() - t0
  (m0, m1), (r0, r1), (_, z1) = PSA_RANGE["magnitude"], PSA_RANGE["dist_km"], PSA_RANGE["depth_km"]
  report(f"simulated (simulate_catalog({args.num_events}, seed={args.seed}))", sim, SIM_VS30_MS, [
      (f"M {m0:g}-{m1:g}, {r0:g}-{r1:g} km, depth <= {z1:g} km", in_psa_range(sim)),
      (f"same, depth > {z1:g} km (not BSSA14's domain)", in_psa_range(sim, (z1 + 1e-9, np.inf))),
      (f"M {m0:g}-{m1:g}, {r0:g}-{r1:g} km, all depths (the issue's bar)", in_psa_range(sim, (0.0, np.inf)),
       "BSSA14+AGA16-interface"),
      (f"same, depth > {z1:g} km only", in_psa_range(sim, (z1 + 1e-9, np.inf)), "AGA16-interface"),
      (f"same, depth > {z1:g} km, for reference (the simulator has no slab stress drops)",
       in_psa_range(sim, (z1 + 1e-9, np.inf)), "AGA16-intraslab"),
      (f"M {m0:g}-{m1:g}, {r0:g}-{r1:g} km, all depths, for reference", in_psa_range(sim, (0.0, np.inf)), "CY14")])
  real = real_records()
  report("real K-NET/KiK-net (tests/data)", real, REAL_VS30_MS, [("all", np.ones(real.magnitude.size, bool))])
  print(f"\n({t_sim:.0f} s to simulate and measure the catalog, {time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
  main()
