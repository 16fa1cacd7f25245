"""Argument checks shared by the modules that take numbers from users (clear, named errors)."""

from __future__ import annotations

import math

__all__ = ["positive_float", "non_negative_float"]


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


def non_negative_float(value, name: str) -> float:
  """``value`` as a float, or a ValueError naming ``name`` and the value.

  Args:
    value: what the user passed (0 allowed, e.g. a tolerance or a temperature).
    name: the argument's name, as the user wrote it.

  Raises:
    ValueError: not a number, NaN/inf, or < 0.
  """
  return _finite_float(value, name, "a finite number >= 0", lambda v: v >= 0)
