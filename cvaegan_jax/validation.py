"""Argument checks shared by the modules that take numbers from users (clear, named errors), and g."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["G_MS2", "positive_float", "non_negative_float", "check_dt", "check_records", "check_pairs"]

G_MS2 = 9.80665  # Standard gravity, m/s^2.


def _finite_float(value, name: str, what: str, accept) -> float:
  """``float(value)`` if it is finite and ``accept(v)``, else ``ValueError("{name} must be {what}, ...")``."""
  try:
    v = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be {what}, got {value!r}") from None
  if not (math.isfinite(v) and accept(v)):
    raise ValueError(f"{name} must be {what}, got {value!r}")
  return v


def positive_float(value, name: str, unit: str = "") -> float:
  """``value`` as a float, or a ValueError naming ``name`` (and its unit) and the value.

  Args:
    value: what the user passed.
    name: the argument's (or spec key's) name, as the user wrote it.
    unit: e.g. "seconds"; only used in the message.

  Raises:
    ValueError: not a number, NaN/inf, or <= 0.
  """
  what = f"a positive, finite number of {unit}" if unit else "a positive, finite number"
  return _finite_float(value, name, what, lambda v: v > 0)


def non_negative_float(value, name: str, unit: str = "") -> float:
  """``value`` as a float, or a ValueError naming ``name`` (and its unit) and the value.

  Args:
    value: what the user passed (0 allowed, e.g. a tolerance or a temperature).
    name: the argument's name, as the user wrote it.
    unit: e.g. "seconds"; only used in the message.

  Raises:
    ValueError: not a number, NaN/inf, or < 0.
  """
  what = f"a finite number >= 0 of {unit}" if unit else "a finite number >= 0"
  return _finite_float(value, name, what, lambda v: v >= 0)


def check_dt(dt) -> float:
  """A sampling interval ``dt`` in seconds as a float, or a ValueError naming ``dt``."""
  return positive_float(dt, "dt", "seconds")


def _real(accel_ms2, what: str) -> np.ndarray:
  """``accel_ms2`` as float32 (kept) or float64, or a TypeError naming ``what``."""
  arr = np.asarray(accel_ms2)
  if arr.dtype.kind not in "biuf":
    raise TypeError(f"{what} must be a real numeric array, got dtype {arr.dtype}")
  return arr if arr.dtype == np.float32 else arr.astype(np.float64)


def _finite(arr: np.ndarray, what: str) -> np.ndarray:
  """``arr``, or a ValueError naming ``what`` and the first NaN or inf's index."""
  if not np.all(np.isfinite(arr)):
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
    raise ValueError(f"{what} contains NaN or inf (first at index {bad})")
  return arr


def check_records(accel_ms2, what: str = "accel_ms2") -> np.ndarray:
  """``[T]`` or ``[N, T]`` real finite records -> ``[N, T]`` float32 (kept) or float64.

  Raises:
    TypeError: not a real numeric array.
    ValueError: another shape, an empty axis, or NaN/inf (naming ``what`` and the index).
  """
  arr = _real(accel_ms2, what)
  if arr.ndim == 1:
    arr = arr[None]
  if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 1:
    raise ValueError(f"{what} must be [T] or [N, T] with N, T >= 1, got shape {np.shape(accel_ms2)}")
  return _finite(arr, what)


def check_pairs(accel_ms2, what: str = "accel_ms2") -> np.ndarray:
  """``[N, 2, T]`` real finite pairs of horizontal components -> ``[N, 2, T]`` float32 (kept) or float64.

  Axis 1 holds the two components, index 0 = H1 and 1 = H2; values in m/s^2.

  Raises:
    TypeError: not a real numeric array.
    ValueError: not 3-D, axis 1 not 2, an empty axis, or NaN/inf (naming ``what`` and the index).
  """
  arr = _real(accel_ms2, what)
  if arr.ndim != 3 or arr.shape[1] != 2 or arr.shape[0] == 0 or arr.shape[2] < 1:
    raise ValueError(f"{what} as pairs of horizontal components must be [N, 2, T] (axis 1: H1, H2) "
                     f"with N, T >= 1, got shape {np.shape(accel_ms2)}")
  return _finite(arr, what)
