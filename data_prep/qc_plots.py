"""QC figures of a prepared data set: magnitude-distance, PGA-distance, window D5-95, windows with picks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plot_qc(kept: Sequence[dict], samples: Sequence[tuple], path: str) -> None:
  """Write one PNG with three kinds of panel.

  Args:
    kept: dicts with magnitude, dist_km (km), pga_ms2 (m/s^2), d5_95_s (s, of the window), split.
    samples: up to 6 (window [time] m/s^2, sampling rate Hz, pick offset s, label).
    path: PNG path.
  """
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig = plt.figure(figsize=(13, 9))
  grid = fig.add_gridspec(3, 6)
  ax_md = fig.add_subplot(grid[0, :2])
  ax_pd = fig.add_subplot(grid[0, 2:4])
  ax_dd = fig.add_subplot(grid[0, 4:])
  splits = sorted({k["split"] for k in kept})
  for s in splits:
    m = np.array([k["magnitude"] for k in kept if k["split"] == s])
    d = np.array([k["dist_km"] for k in kept if k["split"] == s])
    p = np.array([k["pga_ms2"] for k in kept if k["split"] == s])
    d95 = np.array([k["d5_95_s"] for k in kept if k["split"] == s])
    ax_md.scatter(d, m, s=8, label=f"{s} ({m.size})")
    ax_pd.scatter(d, p, s=8, label=s)
    ax_dd.scatter(d, d95, s=8, label=f"{s}: median {np.median(d95):.1f} s")
  ax_md.set(xscale="log", xlabel="hypocentral distance (km)", ylabel="magnitude", title="kept records")
  ax_pd.set(xscale="log", yscale="log", xlabel="hypocentral distance (km)", ylabel="PGA of window (m/s$^2$)",
            title="PGA against distance")
  ax_dd.set(xscale="log", xlabel="hypocentral distance (km)", ylabel="D5-95 of window (s)",
            title="significant duration of the windows")
  ax_md.legend(fontsize=7)
  ax_dd.legend(fontsize=7)
  for i, (w, fs, pick, label) in enumerate(samples[:6]):
    col = 2 * (i % 3)
    ax = fig.add_subplot(grid[1 + i // 3, col:col + 2])
    t = np.arange(w.size) / fs
    ax.plot(t, w, lw=0.5, color="k")
    ax.axvline(pick, color="r", lw=1, label="P pick")
    ax.set(title=label, xlabel="s", ylabel="m/s$^2$")
    ax.title.set_fontsize(8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
