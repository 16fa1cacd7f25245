"""Catalogs of simulated Japanese earthquakes, written as genuine K-NET ASCII files.

Real K-NET data cannot be downloaded everywhere, so this module makes records
that go through exactly the same reader, picker and processing as real ones:
``simulate_dataset`` writes ``.EW/.NS/.UD`` files (JST header times, the 15 s
Record Time delay, integer counts with a DC offset and a real scale factor)
plus ``onsets.csv`` with the true P and S onsets. The physics of one record
(source, path, site, envelopes) is in :mod:`data_prep.stochastic`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt_lib
import math
import os
import time

import numpy as np
from tqdm import tqdm

from data_prep import knet
from data_prep import stochastic
from data_prep.stochastic import DEFAULT_PARAMS, ModelParams

__all__ = ["simulate_catalog", "station_record", "simulate_dataset", "main"]

# Prefecture codes of K-NET station names with rough prefecture centres
# (lat, lon); a simulated station takes the code of the nearest centre.
_PREFECTURES = (
    ("HKD", 43.4, 142.8), ("AOM", 40.8, 140.7), ("IWT", 39.6, 141.4), ("MYG", 38.4, 140.9),
    ("AKT", 39.7, 140.4), ("YMT", 38.4, 140.1), ("FKS", 37.4, 140.2), ("IBR", 36.3, 140.3),
    ("TCG", 36.7, 139.8), ("GNM", 36.5, 139.0), ("SIT", 36.0, 139.4), ("CHB", 35.5, 140.2),
    ("TKY", 35.7, 139.5), ("KNG", 35.4, 139.3), ("NIG", 37.5, 138.9), ("TYM", 36.6, 137.2),
    ("ISK", 36.8, 136.8), ("FKI", 35.9, 136.2), ("YMN", 35.6, 138.6), ("NGN", 36.1, 138.0),
    ("GIF", 35.8, 137.0), ("SZO", 35.0, 138.3), ("AIC", 35.0, 137.2), ("MIE", 34.5, 136.4),
    ("SIG", 35.2, 136.1), ("KYT", 35.2, 135.5), ("OSK", 34.6, 135.5), ("HYG", 35.0, 134.8),
    ("NAR", 34.3, 135.9), ("WKY", 33.9, 135.4), ("TTR", 35.4, 133.8), ("SMN", 35.1, 132.6),
    ("OKY", 34.9, 133.8), ("HRS", 34.5, 132.8), ("YMG", 34.2, 131.5), ("TKS", 33.9, 134.3),
    ("KGW", 34.2, 134.0), ("EHM", 33.6, 132.8), ("KOC", 33.5, 133.4), ("FKO", 33.5, 130.7),
    ("SAG", 33.3, 130.1), ("NGS", 32.9, 129.9), ("KMM", 32.6, 130.8), ("OIT", 33.2, 131.4),
    ("MYZ", 32.1, 131.3), ("KGS", 31.6, 130.6), ("OKN", 26.5, 127.9),
)


# ---------------------------------------------------------------------------
# Catalog and dataset.

# Magnitude strata: (low, high) on the 0.1 grid and their share of the events.
# Uniform within each stratum rather than Gutenberg-Richter: a generator
# conditioned on magnitude needs every range covered, not the natural ~10x drop
# per unit.
_MAG_STRATA = (((3.5, 4.4), 0.3), ((4.5, 7.5), 0.5), ((7.6, 8.0), 0.2))
_DIST_RANGE_KM = (10.0, 300.0)
_TIME_RANGE = (dt_lib.datetime(2000, 1, 1), dt_lib.datetime(2024, 1, 1))


def _stratum_counts(n):
  """Events per magnitude stratum (largest remainder; each >= 1 when n >= 3)."""
  shares = np.array([s for _, s in _MAG_STRATA])
  k = np.floor(shares * n).astype(int)
  for i in np.argsort(-(shares * n - k), kind="stable")[: n - k.sum()]:
    k[i] += 1
  if n >= len(k):
    while k.min() == 0:
      k[np.argmax(k)] -= 1
      k[np.argmin(k)] += 1
  return k


def _trigger_distance_km(magnitude):
  """Distance where the simulated median PGA falls to ~1 gal (M3.5: 37 km, M5: 117 km).

  K-NET only records what exceeds its trigger level, so small events are not
  recorded far away; beyond this distance a record would be mostly noise.
  """
  return 10.0 ** (0.40 + magnitude / 3.0)


def _destination(lat, lon, azimuth_deg, dist_km):
  """Point at great-circle ``dist_km`` and ``azimuth_deg`` from (lat, lon)."""
  p1, l1, th = np.radians(lat), np.radians(lon), np.radians(azimuth_deg)
  d = dist_km / 6371.0
  p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
  l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
  return float(np.degrees(p2)), float((np.degrees(l2) + 180.0) % 360.0 - 180.0)


def _prefecture(lat, lon):
  d = [(la - lat) ** 2 + ((lo - lon) * math.cos(math.radians(lat))) ** 2 for _, la, lo in _PREFECTURES]
  return _PREFECTURES[int(np.argmin(d))][0]


def _check_catalog_args(num_events, seed, stations_per_event):
  if isinstance(num_events, bool) or not isinstance(num_events, (int, np.integer)) or num_events < 1:
    raise ValueError(f"num_events must be an integer >= 1, got {num_events!r}")
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
  try:
    lo, hi = (int(v) for v in stations_per_event)
  except (TypeError, ValueError):
    raise ValueError(f"stations_per_event must be (min, max), got {stations_per_event!r}") from None
  if not 1 <= lo <= hi <= 999:
    raise ValueError(f"stations_per_event must be (min, max) with 1 <= min <= max <= 999, got {stations_per_event!r}")
  return int(num_events), int(seed), (lo, hi)


def simulate_catalog(num_events, seed, stations_per_event=(3, 8), params: ModelParams = DEFAULT_PARAMS) -> list[dict]:
  """Events and stations, with every value rounded as the K-NET header writes it.

  Magnitudes (on the 0.1 grid) are stratified: 30% uniform in 3.5-4.4, 50% in
  4.5-7.5, 20% in 7.6-8.0, each stratum getting at least one event when
  ``num_events >= 3``; strata are shuffled over the events. Epicentres are
  uniform in 30-45 N, 130-145 E, depths uniform 5-60 km, origin times uniform
  in 2000-2023 on distinct minutes (so file names never collide), stress drops
  log-normal (median ``params.stress_bar``, sigma log10 = 0.2). Stations
  lie at random azimuths and log-uniform hypocentral distances from 10 km (or
  just below the hypocentre) to 300 km, or less for small events: like a
  triggered network, only where the median PGA exceeds ~1 gal (37 km at M3.5,
  117 km at M5, 300 km from M6.3 on). Each station gets a kappa0 scattered
  log-normally (sigma ln = 0.2) about ``params.kappa0_s``, factors on its
  excitation duration and its amplitude (sigma ln ``params.duration_phi_ln``,
  ``params.site_sigma_ln``); each event a factor on its excitation duration
  (sigma ln ``params.duration_tau_ln``) and a scattering coefficient
  (median ``params.scattering_g0_per_km``, sigma ln ``params.g0_sigma_ln``);
  its moment magnitude is the header's magnitude plus a normal scatter
  (sigma ``params.mw_sigma``), as JMA and moment magnitudes differ. A
  record's ``dist_km`` is recomputed from the rounded header values with
  ``knet.hypocentral_distance_km``, so it equals what a reader gets back.

  Args:
    num_events: number of events, >= 1.
    seed: non-negative integer. Event ``i`` draws from ``SeedSequence([seed, 1, i])``,
      its station ``j`` from ``SeedSequence([seed, 2, i, j])`` and that record's
      waveforms from ``SeedSequence([seed, 3, i, j])``, so nothing depends on the
      order in which they are generated.
    stations_per_event: (min, max) stations per event, inclusive.
    params: model parameters (medians of stress drop and kappa0).

  Returns:
    list of event dicts (``event_id``, ``origin_time`` (naive UTC datetime),
    ``lat``, ``lon``, ``depth_km``, ``magnitude`` (the header's),
    ``moment_magnitude`` (the physics'), ``stress_bar``, ``duration_factor``,
    ``scattering_g0_per_km``, ``stations``: list of dicts ``station``, ``lat``,
    ``lon``, ``height_m``, ``dist_km``, ``kappa0_s``,
    ``duration_factor``, ``site_factor``, ``seed`` (a SeedSequence for the record)).
  """
  n, seed, (lo, hi) = _check_catalog_args(num_events, seed, stations_per_event)
  crng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
  strata = np.repeat(np.arange(len(_MAG_STRATA)), _stratum_counts(n))
  strata = strata[crng.permutation(n)]
  minutes = int((_TIME_RANGE[1] - _TIME_RANGE[0]).total_seconds() // 60)
  event_minutes = crng.choice(minutes, size=n, replace=False)
  width = max(5, len(str(n - 1)))
  return [_event(seed, i, f"sim{i:0{width}d}", _MAG_STRATA[strata[i]][0], int(event_minutes[i]), (lo, hi), params)
          for i in range(n)]


def _event(seed, i, event_id, mag_range, minute, stations_per_event, params):
  """Event ``i`` of the catalog, with its stations."""
  rng = np.random.default_rng(np.random.SeedSequence([seed, 1, i]))
  m_lo, m_hi = (int(round(10 * m)) for m in mag_range)
  ev = dict(event_id=event_id, magnitude=round(int(rng.integers(m_lo, m_hi + 1)) / 10.0, 1),
            origin_time=_TIME_RANGE[0] + dt_lib.timedelta(minutes=minute, seconds=int(rng.integers(60))),
            lat=round(rng.uniform(30.0, 45.0), 3), lon=round(rng.uniform(130.0, 145.0), 3),
            depth_km=float(rng.integers(5, 61)),
            stress_bar=params.stress_bar * 10.0 ** (0.2 * rng.standard_normal()),
            duration_factor=math.exp(params.duration_tau_ln * rng.standard_normal()),
            scattering_g0_per_km=params.scattering_g0_per_km * math.exp(params.g0_sigma_ln * rng.standard_normal()))
  ev["moment_magnitude"] = ev["magnitude"] + params.mw_sigma * rng.standard_normal()
  n_sta = int(rng.integers(stations_per_event[0], stations_per_event[1] + 1))
  numbers = rng.choice(np.arange(1, 1000), size=n_sta, replace=False)  # Distinct codes within the event.
  ev["stations"] = [_station(seed, i, j, ev, int(numbers[j]), params) for j in range(n_sta)]
  return ev


def _station(seed, i, j, ev, number, params):
  """Station ``j`` of event ``i``: position, header-rounded values, distance, kappa0, record seed."""
  rng = np.random.default_rng(np.random.SeedSequence([seed, 2, i, j]))
  height = float(rng.integers(0, 301))
  vert = ev["depth_km"] + height / 1000.0
  lo = max(_DIST_RANGE_KM[0] + 0.05, vert + 0.5)
  hi = min(_DIST_RANGE_KM[1] - 0.05, max(lo + 20.0, _trigger_distance_km(ev["magnitude"])))
  r = math.exp(rng.uniform(math.log(lo), math.log(hi)))
  lat, lon = _destination(ev["lat"], ev["lon"], rng.uniform(0.0, 360.0), math.sqrt(r * r - vert * vert))
  lat, lon = round(lat, 4), round(lon, 4)
  dist = knet.hypocentral_distance_km(ev["lat"], ev["lon"], ev["depth_km"], lat, lon, height)
  kappa = params.kappa0_s * math.exp(0.2 * rng.standard_normal())
  duration_factor = math.exp(params.duration_phi_ln * rng.standard_normal())
  site_factor = math.exp(params.site_sigma_ln * rng.standard_normal())
  return dict(station=f"{_prefecture(lat, lon)}{number:03d}", lat=lat, lon=lon, height_m=height,
              dist_km=dist, kappa0_s=kappa, duration_factor=duration_factor, site_factor=site_factor,
              seed=np.random.SeedSequence([seed, 3, i, j]))


_CSV_COLUMNS = ("file", "event_id", "station", "component", "magnitude", "dist_km", "p_onset_s", "s_onset_s",
                "p_time_utc")


def station_record(ev, sta, sampling_rate_hz=100.0, params: ModelParams = DEFAULT_PARAMS) -> dict:
  """The three components one catalog station records, exactly as :func:`simulate_dataset` writes them.

  Args:
    ev: an event of :func:`simulate_catalog`.
    sta: one of its ``ev["stations"]``.
    sampling_rate_hz: samples per second.
    params: model parameters.

  Returns:
    :func:`data_prep.stochastic.simulate_record`'s dict, each component with
    its sensor's DC offset added (``[time]`` m/s^2, before quantisation), plus
    ``record_start_utc`` (naive UTC datetime of the first sample, on a whole
    second) and ``p_time_utc`` (of the P onset).
  """
  rng = np.random.default_rng(sta["seed"])
  p_delay = sta["dist_km"] / params.vp_kms
  # Record Time holds whole seconds: start on a second, 3-15 s (plus the
  # fraction) before the P wave.
  start_offset = math.floor(p_delay - rng.uniform(3.0, 15.0))
  rec = stochastic.simulate_record(ev["moment_magnitude"], sta["dist_km"], rng, sampling_rate_hz,
                                   stress_bar=ev["stress_bar"], kappa0_s=sta["kappa0_s"],
                                   duration_factor=ev["duration_factor"] * sta["duration_factor"],
                                   scattering_g0_per_km=ev["scattering_g0_per_km"], site_factor=sta["site_factor"],
                                   pre_event_s=p_delay - start_offset, params=params)
  for comp in knet.COMPONENTS:
    # DC offset like real sensors: a few to ~15 thousand counts, i.e. up to ~0.1 m/s^2.
    rec[comp] = rec[comp] + rng.uniform(-0.1, 0.1)
  rec["record_start_utc"] = ev["origin_time"] + dt_lib.timedelta(seconds=start_offset)
  rec["p_time_utc"] = ev["origin_time"] + dt_lib.timedelta(seconds=p_delay)
  return rec


def _write_record(out_dir, ev, sta, sampling_rate_hz, params) -> list[list]:
  """Simulate and write one station's three files; their onsets.csv rows."""
  rec = station_record(ev, sta, sampling_rate_hz, params)
  rows = []
  for comp in knet.COMPONENTS:
    rel = f"{ev['event_id']}/{knet.knet_file_name(sta['station'], ev['origin_time'], comp)}"
    knet.write_knet_file(os.path.join(out_dir, rel), rec[comp], sampling_rate_hz, ev["origin_time"],
                         ev["lat"], ev["lon"], ev["depth_km"], ev["magnitude"], sta["station"], sta["lat"], sta["lon"],
                         sta["height_m"], comp, rec["record_start_utc"])
    rows.append([rel, ev["event_id"], sta["station"], comp, f"{ev['magnitude']:.1f}", f"{sta['dist_km']:.4f}",
                 f"{rec['p_onset_s']:.6f}", f"{rec['s_onset_s']:.6f}",
                 rec["p_time_utc"].isoformat(timespec="microseconds") + "Z"])
  return rows


def simulate_dataset(out_dir, num_events, seed, stations_per_event=(3, 8), sampling_rate_hz=100.0,
                     show_progress=True, params: ModelParams = DEFAULT_PARAMS) -> str:
  """Simulate a catalog and write it as K-NET files plus the true onsets.

  Writes ``<out_dir>/<event_id>/<station><yymmddhhmm>.EW/.NS/.UD`` (times in the
  name and header in JST) and ``<out_dir>/onsets.csv`` with one row per file:
  ``file`` (relative to out_dir), ``event_id``, ``station``, ``component``,
  ``magnitude``, ``dist_km`` (hypocentral, as ``knet.read_knet_file`` computes
  it), ``p_onset_s``, ``s_onset_s`` (s after the first sample, i.e. after the
  reader's ``start_time``), ``p_time_utc`` (ISO 8601, UTC).

  Args:
    out_dir: output folder (created if missing; existing files are overwritten).
    num_events: number of events, >= 1 (see :func:`simulate_catalog`).
    seed: non-negative integer; the same seed gives byte-identical files.
    stations_per_event: (min, max) stations per event.
    sampling_rate_hz: integer samples per second of every station.
    show_progress: show a tqdm bar (records done, rate, ETA).
    params: model parameters.

  Returns:
    The path of ``onsets.csv``.
  """
  fs = stochastic.check_rate(sampling_rate_hz, integer=True)
  events = simulate_catalog(num_events, seed, stations_per_event, params)
  out_dir = os.fspath(out_dir)
  jobs = [(ev, sta) for ev in events for sta in ev["stations"]]
  rows = []
  for ev in events:
    os.makedirs(os.path.join(out_dir, ev["event_id"]), exist_ok=True)
  for ev, sta in tqdm(jobs, desc="simulate", unit="record", disable=not show_progress):
    rows.extend(_write_record(out_dir, ev, sta, fs, params))
  csv_path = os.path.join(out_dir, "onsets.csv")
  with open(csv_path, "w", newline="", encoding="ascii") as fh:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    writer.writerows(rows)
  return csv_path


def main(argv=None) -> None:
  """CLI: ``python -m data_prep.simulate --out_dir=DIR --num_events=N --seed=S``."""
  ap = argparse.ArgumentParser(prog="python -m data_prep.simulate", description=__doc__.splitlines()[0])
  ap.add_argument("--out_dir", required=True, help="output folder")
  ap.add_argument("--num_events", type=int, required=True, help="number of events (>= 1)")
  ap.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
  ap.add_argument("--min_stations", type=int, default=3, help="fewest stations per event")
  ap.add_argument("--max_stations", type=int, default=8, help="most stations per event")
  ap.add_argument("--sampling_rate_hz", type=int, default=100, help="samples per second")
  ap.add_argument("--no_progress", action="store_true", help="hide the progress bar")
  args = ap.parse_args(argv)
  t0 = time.perf_counter()
  try:
    csv_path = simulate_dataset(args.out_dir, args.num_events, args.seed, (args.min_stations, args.max_stations),
                                args.sampling_rate_hz, show_progress=not args.no_progress)
  except ValueError as e:
    ap.error(str(e))
  with open(csv_path) as fh:
    n_files = sum(1 for _ in fh) - 1
  print(f"simulated {args.num_events} events, {n_files // 3} records, {n_files} K-NET files in "
        f"{args.out_dir} ({time.perf_counter() - t0:.1f} s); onsets: {csv_path}")


if __name__ == "__main__":
  main()
