"""Data-preparation throughput: read + pick + process + spectra, one core.

Run:
  python benchmarks/data_prep.py                 # 60 simulated events
  python benchmarks/data_prep.py --num_events=200

Simulates a catalog into a temp dir (timed separately), then runs exactly what the
`knet_spectra` builder runs per station (read every component with ObsPy, pick P on
the vertical, process and window each horizontal, compute its 100-period spectrum) in
one process, pinned to one core where the OS allows. Prints files read per second and
examples (processed horizontal components, kept or skipped by QC) per second, the
split of time between the stages, and the ratio to the target of 100 records/s per core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

# This file is named like the package it measures: keep its folder off the import path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--num_events", type=int, default=60)
  ap.add_argument("--seed", type=int, default=0)
  args = ap.parse_args()
  if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

  from cvaegan_jax import spectra
  from data_prep import aic_picker, picking, pipeline, processing, simulate

  with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    simulate.simulate_dataset(tmp, args.num_events, args.seed, show_progress=False)
    t_sim = time.perf_counter() - t0
    groups, _ = pipeline.discover(tmp)
    cfg = processing.ProcessingConfig()
    periods = spectra.DEFAULT_PERIODS
    picker = aic_picker.AicPicker()
    horizontal = lambda r: r.component in ("EW", "NS")
    # Warm-up: compile the spectrum for batches of 1 and 2 windows.
    for b in (1, 2):
      spectra.response_spectrum(np.zeros((b, cfg.num_samples), np.float32), 0.01, periods).block_until_ready()

    t_read = t_pick = t_proc = t_spec = 0.0
    files = examples = kept = 0
    for g in groups:
      t0 = time.perf_counter()
      recs, _ = pipeline.read_group(g)
      t1 = time.perf_counter()
      try:
        pick = picker.pick(recs)
      except picking.PickError:
        pick = None
      t2 = time.perf_counter()
      wins = []
      for r in filter(horizontal, recs):
        examples += 1
        if pick is None:
          continue
        try:
          wins.append(processing.process_record(r.accel_ms2, r.sampling_rate_hz, float(pick.time - r.start_time), cfg))
        except processing.QCError:
          pass
      t3 = time.perf_counter()
      if wins:
        batch = np.stack([w.accel_ms2 for w in wins]).astype(np.float32)
        np.asarray(spectra.response_spectrum(batch, 1 / cfg.sampling_rate_hz, periods))
      t4 = time.perf_counter()
      files += len(recs)
      kept += len(wins)
      t_read += t1 - t0
      t_pick += t2 - t1
      t_proc += t3 - t2
      t_spec += t4 - t3

  total = t_read + t_pick + t_proc + t_spec
  print(f"{args.num_events} simulated events: {len(groups)} stations, {files} files, {examples} horizontal "
        f"components ({kept} kept by QC); simulation took {t_sim:.1f} s (not counted)")
  print(f"one core: {total:.2f} s -> {files / total:.0f} files/s, {examples / total:.0f} records/s "
        f"(target 100 records/s per core: {examples / total / 100:.2f}x)")
  for name, t in [("read (ObsPy KNET)", t_read), ("pick (AIC)", t_pick), ("process", t_proc), ("spectra", t_spec)]:
    print(f"  {name:<18} {t:7.2f} s  {100 * t / total:5.1f}%  {1e3 * t / max(examples, 1):6.2f} ms/record")


if __name__ == "__main__":
  main()
