"""Waveform and condition units shared by training, generation and evaluation.

The model sees waveforms in *model units* ``x = accel_ms2 / scale`` (``[B, T, 1]``) and a
condition vector ``c`` (``[B, C]``) made from the response spectrum. Two choices, config
fields of ``config.model``:

* ``waveform_scale``: ``"peak"`` divides each record by its own PGA (the paper: the
  decoder ends in tanh); ``"psa0"`` divides by the PSA at the shortest period, which a
  target spectrum also gives, so generated records come back in m/s^2 without knowing
  a PGA (ours; PSA at 0.01 s equals the PGA within a few percent at 100 Hz).
* ``condition``: ``"peak_normalized"`` is the spectrum divided by its own peak (the
  paper); ``"log_standardized"`` is ``(log10 PSA - mean) / std`` per period with the
  training set's statistics, which keeps the absolute level and weights every period
  alike (ours).

``timing_conditions`` (``config.model``) appends measures of *when* the record shakes to the
condition, after the ``P`` spectral ordinates: any of ``TIMING_MEASURES`` (the Husid onset t5
and the significant durations D5-75 and D5-95, in s), each as ``ln(t + 1 s)``, not
standardised (it is O(1) already, and the timing decoder reads the seconds back from it: the
statistics' last ``K`` entries are mean 0, std 1). A spectrum does not fix
a duration (a small near event and a large far one can share it), so without them a
generator cannot know how long to shake; with them the user (or a scenario, or the training
set's records of similar spectra) says so.
"""

from __future__ import annotations

import numpy as np

from cvaegan_jax import intensity

__all__ = ["num_channels", "pair_energy", "pair_spectrum", "PAIR_SPECTRA", "spectrum_field", "waveform_scale",
           "to_model_units", "condition", "condition_stats", "features", "timing", "timing_features",
           "TIMING_MEASURES", "TINY"]

TINY = 1e-12  # Floor under spectra and scales before logs and divisions (m/s^2).
TIMING_MEASURES = {"t5": intensity.t5, "d5_75": intensity.d5_75, "d5_95": intensity.d5_95}
TIMING_OFFSET_S = 1.0  # Timing conditions are ln(t + 1 s): finite at t5 = 0.


# data.pair_spectrum -> (the example field it is, its RotD percentile).
PAIR_SPECTRA = {"rotd50": ("spectrum", 50.0), "rotd100": ("rotd100_spectrum", 100.0)}


def num_channels(data_config) -> int:
  """Channels of a record in model units: 2 for pairs (``data.pairs``), else 1."""
  return 2 if data_config.get("pairs", False) else 1


def pair_spectrum(data_config) -> str | None:
  """The spectrum a pair model is conditioned on, ``"rotd50"`` or ``"rotd100"``
  (``data.pair_spectrum``; configs written before the field: ``"rotd50"``), or None without
  ``data.pairs``.

  Raises:
    ValueError: an unknown ``data.pair_spectrum``.
  """
  if not data_config.get("pairs", False):
    return None
  kind = data_config.get("pair_spectrum", "rotd50")
  if kind not in PAIR_SPECTRA:
    raise ValueError(f"data.pair_spectrum must be one of {sorted(PAIR_SPECTRA)}, got {kind!r}")
  return kind


def spectrum_field(data_config) -> str:
  """The example field the condition is made of: ``"spectrum"`` (one component's PSA, or a
  pair's RotD50) or ``"rotd100_spectrum"`` (pairs with ``data.pair_spectrum = "rotd100"``).

  Raises:
    ValueError: an unknown ``data.pair_spectrum``.
  """
  kind = pair_spectrum(data_config)
  return "spectrum" if kind is None else PAIR_SPECTRA[kind][0]


def pair_energy(accel):
  """``[B, T]`` records as they are, or pairs ``[B, 2, T]`` as ``sqrt(a1^2 + a2^2)`` ``[B, T]``:
  a signal whose Husid curve (and Arias intensity) is the pair's, whatever the orientation.
  NumPy or JAX arrays (traceable: the timing step applies it inside the latent search's loss)."""
  accel = accel if hasattr(accel, "ndim") else np.asarray(accel)
  return (accel * accel).sum(axis=-2) ** 0.5 if accel.ndim == 3 else accel


def check_timing_names(names) -> tuple[str, ...]:
  """``names`` as a tuple, each one of ``TIMING_MEASURES`` (ValueError naming the bad one)."""
  names = tuple(names)
  for n in names:
    if n not in TIMING_MEASURES:
      raise ValueError(f"model.timing_conditions: unknown measure {n!r}; choose from {sorted(TIMING_MEASURES)}")
  return names


def timing(accel_ms2: np.ndarray, dt: float, names) -> np.ndarray:
  """Timing measures ``[B, K]`` (s) of ``accel_ms2 [B, T]`` (m/s^2) in the order of ``names``."""
  accel = np.asarray(accel_ms2, np.float64)
  return np.stack([TIMING_MEASURES[n](accel, dt) for n in check_timing_names(names)], axis=-1).astype(np.float32)


def timing_features(timing_s, xp=np):
  """``ln(t + 1 s)`` of timing measures ``[..., K]`` in s (the unstandardised conditions)."""
  return xp.log(xp.maximum(timing_s, 0.0) + TIMING_OFFSET_S)


def waveform_scale(accel_ms2: np.ndarray, psa_ms2: np.ndarray, kind: str) -> np.ndarray:
  """Per-record scale ``[B]`` in m/s^2 from ``accel_ms2 [B, T]`` (or pairs ``[B, 2, T]``: the
  larger peak of the two) and ``psa_ms2 [B, P]``."""
  if kind == "peak":
    s = np.max(np.abs(accel_ms2).reshape(accel_ms2.shape[0], -1), axis=-1)
  elif kind == "psa0":
    s = psa_ms2[..., 0]
  else:
    raise ValueError(f"model.waveform_scale must be 'peak' or 'psa0', got {kind!r}")
  return np.maximum(s, TINY).astype(np.float32)


def to_model_units(accel_ms2: np.ndarray, scale: np.ndarray) -> np.ndarray:
  """``[B, T]`` m/s^2 -> ``[B, T, 1]`` model units; pairs ``[B, 2, T]`` -> ``[B, T, 2]``."""
  if accel_ms2.ndim == 3:
    return np.swapaxes(accel_ms2 / scale[:, None, None], 1, 2).astype(np.float32)
  return (accel_ms2 / scale[:, None])[..., None].astype(np.float32)


def condition_stats(psa_ms2: np.ndarray, timing_s: np.ndarray | None = None) -> dict:
  """Mean and standard deviation per entry of the condition: log10 PSA per period over
  ``psa_ms2 [N, P]``, then, with ``timing_s [N, K]`` (s), 0 and 1 for the ``K`` timing
  measures (used as ``ln(t + 1 s)``, unstandardised). Returns ``{"mean": [P + K], "std": [P + K]}``."""
  log = np.log10(np.maximum(psa_ms2, TINY))
  mean, std = log.mean(axis=0), np.maximum(log.std(axis=0), 1e-3)
  k = 0 if timing_s is None else np.shape(timing_s)[-1]
  return {"mean": np.concatenate([mean, np.zeros(k)]).astype(np.float32),
          "std": np.concatenate([std, np.ones(k)]).astype(np.float32)}


def condition(psa_ms2, kind: str, stats: dict | None = None, xp=np, timing_s=None):
  """Condition ``[B, P + K]`` from PSA ``[B, P]`` in m/s^2 and optional timing measures
  ``timing_s [B, K]`` in s (``xp``: numpy or jax.numpy).

  Raises:
    ValueError: an unknown ``kind``; statistics missing or of the wrong length (they must
      cover the ``P`` periods and the ``K`` timing measures).
  """
  p = psa_ms2.shape[-1]
  k = 0 if timing_s is None else timing_s.shape[-1]
  if stats is not None and np.shape(stats["mean"])[-1] != p + k:
    raise ValueError(f"the condition statistics have {np.shape(stats['mean'])[-1]} entries; this condition has "
                     f"{p} periods and {k} timing measures (a model trained with other timing_conditions?)")
  if kind == "peak_normalized":
    spec = psa_ms2 / xp.maximum(xp.max(psa_ms2, axis=-1, keepdims=True), TINY)
  elif kind == "log_standardized":
    if stats is None:
      raise ValueError("condition 'log_standardized' needs the training set's stats")
    spec = (xp.log10(xp.maximum(psa_ms2, TINY)) - stats["mean"][:p]) / stats["std"][:p]
  else:
    raise ValueError(f"model.condition must be 'peak_normalized' or 'log_standardized', got {kind!r}")
  if not k:
    return spec
  if stats is None:
    raise ValueError("timing conditions need the training set's stats")
  tim = (timing_features(timing_s, xp) - stats["mean"][p:]) / stats["std"][p:]
  return xp.concatenate([spec, tim.astype(spec.dtype)], axis=-1)


def features(batch: dict, model_config, stats: dict | None, dt: float | None = None,
             field: str = "spectrum") -> dict:
  """Numpy batch from the data set -> model inputs.

  Args:
    batch: ``waveform [B, T]`` (m/s^2) and ``spectrum [B, P]`` (PSA, m/s^2); pairs:
      ``waveform [B, 2, T]``, the pair's spectra (``field``) and ``component_spectra
      [B, 2, P]``.
    model_config: ``config.model`` (fields ``waveform_scale``, ``condition``,
      ``timing_conditions``).
    stats: condition statistics (see :func:`condition_stats`).
    dt: sampling interval, s (needed with ``timing_conditions``).
    field: the spectrum the condition is made of (:func:`spectrum_field`).

  Returns:
    ``x [B, T, 1]`` (pairs: ``[B, T, 2]``) model units, ``c [B, P + K]``, ``log_psa [B, P]``
    (log10 of PSA / scale, the spectral-loss target; pairs: the mean of the components'),
    ``scale [B]`` m/s^2, ``psa [B, P]`` m/s^2 (the condition's spectrum) and ``timing [B, K]``
    (s, the record's own measures, of :func:`pair_energy`; ``K = 0`` without timing conditions).
  """
  accel = np.asarray(batch["waveform"], np.float32)
  psa = np.asarray(batch[field], np.float32)
  scale = waveform_scale(accel, psa, model_config.waveform_scale)
  names = check_timing_names(model_config.timing_conditions)
  if names and dt is None:
    raise ValueError("conditioning.features needs dt (s) to measure the timing conditions")
  tim = timing(pair_energy(accel), dt, names) if names else np.zeros((accel.shape[0], 0), np.float32)
  own = psa  # Pairs: the geometric mean of the components' PSA.
  if accel.ndim == 3:
    own = 10.0 ** np.mean(np.log10(np.maximum(np.asarray(batch["component_spectra"], np.float32), TINY)), axis=1)
  return {
      "x": to_model_units(accel, scale),
      "c": condition(psa, model_config.condition, stats, timing_s=tim if names else None).astype(np.float32),
      "log_psa": np.log10(np.maximum(own, TINY) / scale[:, None]).astype(np.float32),
      "scale": scale,
      "psa": psa,
      "timing": tim,
  }
