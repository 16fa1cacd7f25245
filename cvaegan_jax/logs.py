"""What a person reads from a run: metrics on the console (steps/s, examples/s, ETA), in JSONL
and TensorBoard, and a command's errors as one line (:func:`cli_errors`)."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time

import numpy as np
from absl import flags

__all__ = ["MetricLogger", "cli_errors", "USER_ERRORS"]

# What a person's input can cause (bad files, values, paths); other exceptions are bugs.
USER_ERRORS = (ValueError, OSError)


def cli_errors(main):
  """Wrap a command's ``main(argv)``: an error of the user's input (:data:`USER_ERRORS`)
  prints one line, ``error: <message>``, to stderr and exits with status 1; with
  ``--verbosity=1`` (or higher) the traceback is shown as well. Library calls keep raising."""

  @functools.wraps(main)
  def wrapped(*args, **kwargs):
    try:
      return main(*args, **kwargs)
    except USER_ERRORS as e:
      if flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].value >= 1:
        raise
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)

  return wrapped


def _drop_rows_after(path: str, step: int) -> None:
  """Keep only the rows of a ``metrics.jsonl`` whose step is at most ``step`` (no file: nothing)."""
  if not os.path.exists(path):
    return
  with open(path) as f:
    rows = f.readlines()
  kept = [r for r in rows if r.strip() and json.loads(r).get("step", 0) <= step]
  if len(kept) != len(rows):
    with open(path, "w") as f:
      f.writelines(kept)


class MetricLogger:
  """Writes scalar metrics to the console, ``metrics.jsonl`` and TensorBoard event files.

  TensorBoard files are written with tensorboardX (no TensorFlow needed); view them with
  ``tensorboard --logdir WORKDIR/tensorboard``.
  """

  def __init__(self, workdir: str, total_steps: int, global_batch_size: int, enabled: bool = True,
               start_step: int = 0):
    """``start_step``: the step the run starts (or resumes) from. Rows of ``metrics.jsonl`` past
    it, written by a run that stopped before its next checkpoint, are dropped (they are logged
    again), and TensorBoard is told to purge its events past it, so both stay monotonic."""
    self.total_steps = total_steps
    self.batch = global_batch_size
    self.enabled = enabled
    self._jsonl = None
    self._tb = None
    if enabled:
      os.makedirs(workdir, exist_ok=True)
      path = os.path.join(workdir, "metrics.jsonl")
      _drop_rows_after(path, start_step)
      self._jsonl = open(path, "a")
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=start_step + 1 if start_step else None)
    self._t0 = None
    self._s0 = None

  def start(self, step: int) -> None:
    """Mark the clock at ``step`` (after compilation) for rates and the ETA."""
    self._t0, self._s0 = time.perf_counter(), step

  def rates(self, step: int) -> dict:
    """steps/s, examples/s and ETA in seconds since :meth:`start`."""
    if self._t0 is None or step <= self._s0:
      return {}
    dt = time.perf_counter() - self._t0
    sps = (step - self._s0) / dt
    return {"steps_per_s": sps, "examples_per_s": sps * self.batch, "eta_s": (self.total_steps - step) / sps}

  def write(self, step: int, metrics: dict, prefix: str = "train") -> dict:
    """Log scalars for ``step``; returns what was written (floats)."""
    values = {k: float(np.asarray(v)) for k, v in metrics.items()}
    if prefix == "train":
      values.update(self.rates(step))
    if not self.enabled:
      return values
    self._jsonl.write(json.dumps({"step": step, "split": prefix, **values}) + "\n")
    self._jsonl.flush()
    for k, v in values.items():
      self._tb.add_scalar(f"{prefix}/{k}", v, step)
    self._tb.flush()
    logging.info("%s", self.format(step, values, prefix))
    return values

  def format(self, step: int, values: dict, prefix: str) -> str:
    eta = values.get("eta_s")
    eta_s = f" ETA {int(eta) // 60}m{int(eta) % 60:02d}s" if eta is not None else ""
    keys = [k for k in values if k not in ("steps_per_s", "examples_per_s", "eta_s", "finite")]
    body = " ".join(f"{k}={values[k]:.4g}" for k in keys)
    rate = f" {values['steps_per_s']:.2f} steps/s {values['examples_per_s']:.0f} ex/s" if "steps_per_s" in values else ""
    return f"[{prefix} {step}/{self.total_steps}]{rate}{eta_s} {body}"

  def close(self) -> None:
    if self._jsonl:
      self._jsonl.close()
    if self._tb:
      self._tb.close()
