"""The QC summary and figure of a data set report the windows' significant duration D5-95."""

import json
import types

import numpy as np
import pytest

from data_prep import pipeline


def _window(start_s, end_s, fs=100.0, n=3000):
  """A window of constant |a| = 0.1 m/s^2 between start_s and end_s: D5-95 = 0.9 (end - start)."""
  a = np.zeros(n)
  i0, i1 = int(start_s * fs), min(int(end_s * fs), n)
  a[i0:i1] = 0.1 * (-1.0) ** np.arange(i1 - i0)
  return types.SimpleNamespace(accel_ms2=a, sampling_rate_hz=fs, pga_ms2=0.1, pick_offset_s=1.0)


def _record(event, station, component="EW"):
  return types.SimpleNamespace(magnitude=5.0, dist_km=50.0, station=station, component=component, event_id=event)


def test_summary_and_figure_report_window_d5_95(tmp_path):
  qc = pipeline.QcCollector()
  qc.add("train", [(_record("e1", "S1"), _window(2.0, 22.0), None), (_record("e1", "S2"), _window(2.0, 12.0), None),
                   (_record("e2", "S1"), _window(1.0, 31.0), None)], [])
  qc.add("test", [(_record("e3", "S1"), _window(5.0, 15.0), None)], [])
  d95 = qc.summary()["window_d5_95_s"]
  # 0.9 x 20, 10 and 29 s (the last window is cut at 30 s): median 18 s.
  assert d95["train"]["median"] == pytest.approx(18.0, abs=0.02)
  assert d95["train"]["p10"] == pytest.approx(9.0 + 0.2 * 9.0, abs=0.02)
  assert d95["test"]["median"] == pytest.approx(9.0, abs=0.02)
  path = qc.write(tmp_path)
  assert json.loads(open(path).read())["window_d5_95_s"]["test"]["p90"] == pytest.approx(9.0, abs=0.02)
  assert (tmp_path / "qc_figures.png").stat().st_size > 20_000
