"""Exact, fast and differentiable linear-oscillator response spectra.

The response of a damped single-degree-of-freedom (SDOF) oscillator to a ground
acceleration ``a(t)``::

    u'' + 2 zeta omega u' + omega^2 u = -a(t)

is integrated with the exact solution for piecewise-linear excitation (Nigam &
Jennings 1969): between two samples the input is a straight line, so the state
``x = (u, v)`` obeys the exact linear recurrence::

    x[k+1] = Phi x[k] + G0 a[k] + G1 a[k+1]

with ``Phi = expm(F dt)`` and ``G0``, ``G1`` the first-order-hold input matrices.
The coefficients are computed once per (dt, periods, damping) on the host in
float64 from an augmented matrix exponential (Van Loan 1978), so no closed-form
cancellation hurts long periods.

Speed comes from blocking the recurrence in time: a block of ``K`` samples is
advanced in one step, every intermediate displacement being written directly as a
linear function of the block's initial state and its ``K + 1`` input samples
(``x[k+m] = Phi^m x[k] + sum_j W[m, j] a[k+j]``). The block has no serial
dependency inside, so XLA fuses it into one vectorised loop over
records x periods (periods on the fast axis); the scan runs over ``n / K``
blocks. Coefficients are kept in "delta" form (``Phi^m - I``) so that float32
keeps its precision at long periods where ``Phi`` is close to the identity.

Gradients: ``spectral_displacement`` carries a custom VJP. The peak
``max_k |u[k]|`` depends on the input only through the sample where it is
reached, and ``u[m]`` is a fixed linear combination of the inputs (the discrete
impulse response of the recurrence), so the gradient is exact, needs no stored
time history, and costs one gather per (record, period, sample).

Units: ``accel`` in any unit (m/s^2 throughout the project); displacements come
out in that unit times s^2, velocities times s. Periods in seconds, dt in seconds.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from cvaegan_jax import validation

__all__ = [
    "band_mask",
    "DEFAULT_PERIODS",
    "DEFAULT_DAMPING",
    "log_periods",
    "oscillator_coefficients",
    "response_spectrum",
    "spectral_displacement",
    "pseudo_spectral_velocity",
    "sdof_response",
    "displacement_history",
    "SdofResponse",
    "rotd_spectrum",
    "rotated_peaks",
    "max_direction_spectrum",
    "geometric_mean_spectrum",
    "ROTD_PERCENTILES",
]

DEFAULT_DAMPING = 0.05

# Time steps advanced per scan iteration by the blocked kernels (see module doc;
# benchmarks/spectra.py measures 1, 2, 4, 8 and 16 at several batch sizes). XLA:CPU runs small
# blocks faster on small batches, as the refinement's (2026-12-06, 3000 samples, 100 periods:
# peaks 3-8x faster with 2 than 8 for 2-64 records, 8 fastest from 128 records on). The
# spectra take the small block only when asked (``small_batch=True``): the kernel's block
# changes the float32 rounding, and a data-parallel training step must round as on one device.
_BLOCK = 8  # Peak kernels by default.
_SMALL_BLOCK = 2  # With small_batch, on records x periods within the two bounds below.
_SMALL_BATCH_MIN_OSCILLATORS, _SMALL_BATCH_OSCILLATORS = 200, 6400
_HISTORY_BLOCK = 1  # Histories driven by one record per row (stored samples: the write dominates).
_HISTORY_BLOCK_PER_OSCILLATOR = 2  # Histories driven per oscillator (the refinement's transposed passes).


def _peak_block(rows: int, num_periods: int, small_batch: bool) -> int:
  """The block size of the peak kernels for ``rows`` records x ``num_periods`` oscillators
  (``small_batch`` False: always :data:`_BLOCK`)."""
  if not small_batch:
    return _BLOCK
  return _SMALL_BLOCK if _SMALL_BATCH_MIN_OSCILLATORS <= rows * num_periods <= _SMALL_BATCH_OSCILLATORS else _BLOCK


def log_periods(t_min: float, t_max: float, n: int) -> np.ndarray:
  """Logarithmically spaced oscillator periods.

  Args:
    t_min: shortest period in seconds, > 0.
    t_max: longest period in seconds, > t_min.
    n: number of periods, >= 2.

  Returns:
    float64 array ``[n]`` of periods in seconds, ``t_min`` and ``t_max`` included.
  """
  if not (np.isfinite(t_min) and t_min > 0):
    raise ValueError(f"log_periods: t_min must be a positive number of seconds, got {t_min!r}")
  if not (np.isfinite(t_max) and t_max > t_min):
    raise ValueError(f"log_periods: t_max must be finite and > t_min={t_min}, got {t_max!r}")
  if int(n) != n or n < 2:
    raise ValueError(f"log_periods: n must be an integer >= 2, got {n!r}")
  return np.geomspace(float(t_min), float(t_max), int(n))


# The project-wide period grid: 100 log-spaced periods from 0.01 s to 10 s.
DEFAULT_PERIODS = log_periods(0.01, 10.0, 100)


def band_mask(periods_s: np.ndarray, band_s) -> np.ndarray:
  """Boolean ``[P]``: periods inside ``band_s = (t_min, t_max)`` (inclusive, 1e-9 slack)."""
  lo, hi = band_s
  if not 0 < lo < hi:
    raise ValueError(f"band_s must be (t_min, t_max) with 0 < t_min < t_max, got {band_s}")
  periods_s = np.asarray(periods_s)
  mask = (periods_s >= lo * (1 - 1e-9)) & (periods_s <= hi * (1 + 1e-9))
  if not mask.any():
    raise ValueError(f"band_s {band_s} holds none of the periods {periods_s.min():.3g}-{periods_s.max():.3g} s")
  return mask


# ---------------------------------------------------------------------------
# Argument checks (each names the argument at fault).


def _check_dt(dt) -> float:
  if isinstance(dt, jax.core.Tracer):
    raise TypeError(
        "dt must be a concrete number (a Python float or NumPy scalar), not a traced "
        "JAX value: the oscillator coefficients are computed on the host. Close over dt "
        "instead of passing it as a jit argument.")
  try:
    dt = float(dt)
  except (TypeError, ValueError):
    raise TypeError(f"dt must be a number of seconds, got {dt!r}") from None
  return validation.positive_float(dt, "dt", "seconds")


def _check_periods(periods) -> np.ndarray:
  if isinstance(periods, jax.core.Tracer):
    raise TypeError("periods must be concrete (NumPy array or list), not a traced JAX value")
  periods = np.asarray(periods, dtype=np.float64)
  if periods.ndim != 1 or periods.size == 0:
    raise ValueError(f"periods must be a non-empty 1-D array of seconds, got shape {periods.shape}")
  if not np.all(np.isfinite(periods)):
    raise ValueError("periods must be finite; found NaN or inf")
  if np.any(periods < 0):
    raise ValueError(f"periods must be >= 0 seconds (0 gives the PGA); found {periods[periods < 0][0]}")
  return periods


def _check_damping(damping) -> float:
  if isinstance(damping, jax.core.Tracer):
    raise TypeError("damping must be a concrete number, not a traced JAX value")
  damping = float(damping)
  # 0 is the undamped oscillator; 1 and above do not oscillate.
  if not (0.0 <= damping < 1.0):
    raise ValueError(f"damping must lie in [0, 1) (a ratio of critical, e.g. 0.05), got {damping!r}")
  return damping


def _check_accel(accel) -> jax.Array:
  if not isinstance(accel, jax.core.Tracer):
    arr = np.asarray(accel)
    if arr.dtype.kind not in "biuf":
      raise TypeError(f"accel must be a real numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
      bad = np.argwhere(~np.isfinite(arr))[0]
      raise ValueError(f"accel contains NaN or inf (first at index {tuple(int(i) for i in bad)})")
  accel = jnp.asarray(accel)
  if not jnp.issubdtype(accel.dtype, jnp.floating):
    accel = accel.astype(jnp.result_type(float))
  if accel.ndim < 1 or accel.shape[-1] < 2:
    raise ValueError(f"accel must be [..., time] with at least 2 samples, got shape {accel.shape}")
  return accel


# ---------------------------------------------------------------------------
# Coefficients (host, float64, cached).


class OscillatorCoefficients(NamedTuple):
  """Exact one-step recurrence ``x[k+1] = phi x[k] + g0 a[k] + g1 a[k+1]``.

  Shapes: ``phi [P, 2, 2]``, ``g0 [P, 2]``, ``g1 [P, 2]`` (float64), state
  ``x = (u, v)``; ``omega [P]`` in rad/s.
  """
  phi: np.ndarray
  g0: np.ndarray
  g1: np.ndarray
  omega: np.ndarray


def oscillator_coefficients(dt: float, periods, damping: float = DEFAULT_DAMPING) -> OscillatorCoefficients:
  """Exact first-order-hold recurrence coefficients for each period.

  Args:
    dt: sampling interval in seconds.
    periods: ``[P]`` positive periods in seconds.
    damping: ratio of critical damping, in [0, 1).

  Returns:
    ``OscillatorCoefficients`` in float64 (see its docstring for shapes).
  """
  dt = _check_dt(dt)
  periods = _check_periods(periods)
  damping = _check_damping(damping)
  if np.any(periods <= 0):
    raise ValueError("oscillator_coefficients: periods must be > 0")
  return _coefficients(dt, tuple(periods.tolist()), damping)


@functools.lru_cache(maxsize=64)
def _coefficients(dt: float, periods: tuple, damping: float) -> OscillatorCoefficients:
  omega = 2.0 * np.pi / np.asarray(periods)
  n_p = omega.size
  # Augmented state (u, v, a, da/dt): u' = v, v' = -w^2 u - 2 zeta w v - a,
  # a' = da/dt, (da/dt)' = 0 -- exact for piecewise-linear a.
  m = np.zeros((n_p, 4, 4))
  m[:, 0, 1] = 1.0
  m[:, 1, 0] = -omega**2
  m[:, 1, 1] = -2.0 * damping * omega
  m[:, 1, 2] = -1.0
  m[:, 2, 3] = 1.0
  e = scipy.linalg.expm(m * dt)
  phi = e[:, :2, :2]
  g1 = e[:, :2, 3] / dt
  g0 = e[:, :2, 2] - g1
  return OscillatorCoefficients(phi, g0, g1, omega)


class _BlockTables(NamedTuple):
  delta: np.ndarray  # [K+1, P, 2, 2]: Phi^m - I
  w: np.ndarray      # [K+1, K+1, P, 2]: input weights W[m, j]


@functools.lru_cache(maxsize=64)
def _block_tables(dt: float, periods: tuple, damping: float, block: int) -> _BlockTables:
  c = _coefficients(dt, periods, damping)
  n_p = len(periods)
  powers = np.zeros((block + 1, n_p, 2, 2))
  w = np.zeros((block + 1, block + 1, n_p, 2))
  powers[0] = np.eye(2)
  for m in range(1, block + 1):
    powers[m] = c.phi @ powers[m - 1]
    w[m, :m] = np.einsum("pij,mpj->mpi", c.phi, w[m - 1, :m])
    w[m, m - 1] += c.g0
    w[m, m] += c.g1
  # Phi^m - I computed from the float64 powers: exact enough, and the small
  # deviation from identity survives the cast to float32.
  return _BlockTables(powers - np.eye(2), w)


@functools.lru_cache(maxsize=16)
def _impulse_tables(dt: float, periods: tuple, damping: float, n: int):
  """Discrete displacement response to each input sample.

  ``u[m] = sum_{j>=1} h[m - j] a[j] + h0[m] a[0]`` with ``h [P, n]`` (``h[0] = g1_u``,
  ``h[l] = (Phi^(l-1) (Phi g1 + g0))_u``) and ``h0 [P, n]`` (``h0[0] = 0``,
  ``h0[m] = (Phi^(m-1) g0)_u``): the first sample has no left neighbour.
  """
  c = _coefficients(dt, periods, damping)
  n_p = len(periods)
  h = np.zeros((n_p, n))
  h0 = np.zeros((n_p, n))
  h[:, 0] = c.g1[:, 0]
  x = np.einsum("pij,pj->pi", c.phi, c.g1) + c.g0
  x0 = c.g0.copy()
  for lag in range(1, n):
    h[:, lag] = x[:, 0]
    h0[:, lag] = x0[:, 0]
    x = np.einsum("pij,pj->pi", c.phi, x)
    x0 = np.einsum("pij,pj->pi", c.phi, x0)
  return h, h0


# ---------------------------------------------------------------------------
# Kernels (device).


def _block_step(u, v, inputs, size: int, delta: jax.Array, w: jax.Array):
  """One block of the recurrence from state ``u, v [B, P]``: the displacements at its
  ``size`` samples (a list of ``[B, P]``) and the state at its end. ``inputs``: the block's
  ``size + 1`` input samples, each broadcasting to ``[B, P]``."""
  outs = []
  for m in range(1, size + 1):
    um = u + delta[m, :, 0, 0] * u + delta[m, :, 0, 1] * v
    for j in range(m + 1):
      um = um + w[m, j, :, 0] * inputs[j]
    outs.append(um)
  ends = []
  for s in range(2):
    r = (u if s == 0 else v) + delta[size, :, s, 0] * u + delta[size, :, s, 1] * v
    for j in range(size + 1):
      r = r + w[size, j, :, s] * inputs[j]
    ends.append(r)
  return outs, ends[0], ends[1]


def _peak_kernel(a2d: jax.Array, delta: jax.Array, w: jax.Array, with_argmax: bool, orbit: bool = False):
  """Peak |u| over time for ``a2d [B, n]``; tables cast to a2d's dtype.

  Returns ``peak [B, P]`` and, if ``with_argmax``, the sample index of the peak
  ``[B, P]`` (int32) and its sign. With ``orbit`` (and not ``with_argmax``) the rows are
  pairs, the first halves' components 1 and the second halves' components 2, and the
  peak is that of the squared orbit ``u_1^2 + u_2^2``, ``[B / 2, P]``.
  """
  b, n = a2d.shape
  block = w.shape[0] - 1
  n_p = delta.shape[1]
  n_blocks = (n - 1) // block
  tail = (n - 1) - n_blocks * block

  def advance(carry, a_blk, k0, size):
    # a_blk: [size + 1, B]; k0: index of the block's first sample.
    u, v, peak, idx = carry
    outs, un, vn = _block_step(u, v, [a_blk[j][:, None] for j in range(size + 1)], size, delta, w)
    for m, um in enumerate(outs, start=1):
      absu = jnp.abs(um)
      if with_argmax:
        better = absu > jnp.abs(peak)
        idx = jnp.where(better, k0 + m, idx)
        peak = jnp.where(better, um, peak)
      elif orbit:
        peak = jnp.maximum(peak, um[:b // 2] ** 2 + um[b // 2:] ** 2)
      else:
        peak = jnp.maximum(peak, absu)
    return un, vn, peak, idx

  zeros = jnp.zeros((b, n_p), a2d.dtype)
  carry = (zeros, zeros, zeros[:b // 2] if orbit else zeros, jnp.zeros((b, n_p), jnp.int32))
  at = a2d.T  # [n, B]: records on the fast axis of each input row.
  if n_blocks:
    rows = np.arange(n_blocks)[:, None] * block + np.arange(block + 1)[None]
    blocks = at[rows]  # [n_blocks, K+1, B]
    starts = jnp.arange(n_blocks, dtype=jnp.int32) * block

    def body(carry, xs):
      a_blk, k0 = xs
      return advance(carry, a_blk, k0, block), None

    carry, _ = jax.lax.scan(body, carry, (blocks, starts))
  if tail:
    carry = advance(carry, at[n - 1 - tail:], n - 1 - tail, tail)
  _, _, peak, idx = carry
  if with_argmax:
    return jnp.abs(peak), idx, jnp.sign(peak)
  return peak


def _peak_grad(cot, idx, sign, h, h0, n):
  """Exact gradient of peak |u| wrt the input, ``[B, n]``.

  cot, idx, sign: ``[B, P]``; h, h0: ``[P, n]``.
  """
  weight = cot * sign  # [B, P]
  j = jnp.arange(n)
  lag = idx[..., None] - j  # [B, P, n]
  p_idx = jnp.arange(h.shape[0])[None, :, None]
  vals = jnp.where(lag >= 0, h[p_idx, jnp.clip(lag, 0, n - 1)], 0.0)
  grad = jnp.einsum("bp,bpn->bn", weight, vals[..., 1:])
  first = jnp.einsum("bp,bp->b", weight, h0[p_idx[..., 0], idx])
  return jnp.concatenate([first[:, None], grad], axis=-1)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3, 4))
def _peak_displacement(a2d, dt, periods, damping, small_batch=False):
  t = _block_tables(dt, periods, damping, _peak_block(a2d.shape[0], len(periods), small_batch))
  return _peak_kernel(a2d, jnp.asarray(t.delta, a2d.dtype), jnp.asarray(t.w, a2d.dtype), False)


def _peak_displacement_fwd(a2d, dt, periods, damping, small_batch=False):
  # The gradient's peak samples come from one block size whatever is asked: where two samples
  # are equally high, float32 rounding picks one.
  del small_batch
  t = _block_tables(dt, periods, damping, _BLOCK)
  peak, idx, sign = _peak_kernel(a2d, jnp.asarray(t.delta, a2d.dtype), jnp.asarray(t.w, a2d.dtype), True)
  return peak, (idx, sign, a2d.shape[-1])


def _peak_displacement_bwd(dt, periods, damping, small_batch, res, cot):
  idx, sign, n = res
  h, h0 = _impulse_tables(dt, periods, damping, n)
  return (_peak_grad(cot, idx, sign, jnp.asarray(h, cot.dtype), jnp.asarray(h0, cot.dtype), n),)


_peak_displacement.defvjp(_peak_displacement_fwd, _peak_displacement_bwd)

# Compiled once per (shape, dtype, dt, periods, damping), so eager calls (data
# preparation, evaluation) reuse the executable; under an outer jit it is inlined.
_peak_displacement_jit = jax.jit(_peak_displacement, static_argnums=(1, 2, 3, 4))


def _history_kernel(drive: jax.Array, delta: jax.Array, w: jax.Array, time_major: bool = False) -> jax.Array:
  """Displacement ``u [B, P, n]`` for ``drive [B, n]`` (all oscillators) or ``[B, P, n]`` (one each);
  with ``time_major``, ``u [n, B, P]`` for ``drive [n, B]`` or ``[n, B, P]`` (no transposes).

  The blocked recurrence of :func:`_peak_kernel`, every intermediate displacement kept.
  """
  per_osc = drive.ndim == 3
  b, n = (drive.shape[1], drive.shape[0]) if time_major else (drive.shape[0], drive.shape[-1])
  block = w.shape[0] - 1
  n_p = delta.shape[1]
  n_blocks = (n - 1) // block
  tail = (n - 1) - n_blocks * block

  def advance(u, v, a_blk, size):
    # a_blk: [size + 1, B] (one input for all oscillators) or [size + 1, B, P].
    inputs = [a_blk[j] if per_osc else a_blk[j][:, None] for j in range(size + 1)]
    outs, un, vn = _block_step(u, v, inputs, size, delta, w)
    return un, vn, jnp.stack(outs)

  at = drive if time_major else jnp.moveaxis(drive, -1, 0)  # [n, B(, P)]
  zeros = jnp.zeros((b, n_p), drive.dtype)
  pieces = [zeros[None]]
  carry = (zeros, zeros)
  if n_blocks:
    rows = np.arange(n_blocks)[:, None] * block + np.arange(block + 1)[None]

    def body(c, a_blk):
      u, v, out = advance(c[0], c[1], a_blk, block)
      return (u, v), out

    carry, outs = jax.lax.scan(body, carry, at[rows])
    pieces.append(outs.reshape((-1, b, n_p)))
  if tail:
    pieces.append(advance(carry[0], carry[1], at[n - 1 - tail:], tail)[2])
  u = jnp.concatenate(pieces, 0)
  return u if time_major else jnp.moveaxis(u, 0, -1)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _history_jit(drive, dt, periods, damping, time_major=False):
  """:func:`_history_kernel` on the tables of (dt, periods, damping), compiled once per shape
  for eager calls (inlined under an outer jit)."""
  block = _HISTORY_BLOCK_PER_OSCILLATOR if drive.ndim == 3 else _HISTORY_BLOCK
  t = _block_tables(dt, periods, damping, block)
  return _history_kernel(drive, jnp.asarray(t.delta, drive.dtype), jnp.asarray(t.w, drive.dtype), time_major)


# ---------------------------------------------------------------------------
# Public API.


def spectral_displacement(accel, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING, *,
                          small_batch: bool = False) -> jax.Array:
  """Spectral displacement SD(T) = max_t |u(t)| over the samples.

  Args:
    accel: ``[..., time]`` ground acceleration (float32 or float64; integers are
      cast to the default float type), e.g. m/s^2.
    dt: sampling interval in seconds (concrete, not traced).
    periods: ``[P]`` periods in seconds, >= 0; a period of 0 gives SD = 0.
    damping: ratio of critical damping in [0, 1).
    small_batch: a batch of at most ~64 records (times 100 periods), as the refinement's: the
      kernel advances 2 samples a scan step instead of 8, 3-8 times as fast on XLA:CPU; the
      same values to float32 rounding (~1e-6).

  Returns:
    ``[..., P]`` spectral displacement in accel's unit x s^2, accel's dtype.
    Differentiable with respect to ``accel`` (reverse mode, exact subgradient);
    works under ``jax.jit`` and ``jax.vmap``.

  Raises:
    ValueError / TypeError naming the argument for a non-positive dt, negative
    or non-finite periods, damping outside [0, 1), NaN in accel (checked when
    accel is concrete), or fewer than 2 samples.
  """
  accel = _check_accel(accel)
  dt = _check_dt(dt)
  periods = _check_periods(periods)
  damping = _check_damping(damping)
  lead = accel.shape[:-1]
  a2d = accel.reshape((-1, accel.shape[-1]))
  positive = periods > 0
  out = jnp.zeros((a2d.shape[0], periods.size), a2d.dtype)
  if np.any(positive):
    sd = _peak_displacement_jit(a2d, dt, tuple(periods[positive].tolist()), damping, bool(small_batch))
    out = out.at[:, np.flatnonzero(positive)].set(sd) if not np.all(positive) else sd
  return out.reshape(lead + (periods.size,))


def response_spectrum(accel, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING, *,
                      small_batch: bool = False) -> jax.Array:
  """Pseudo-spectral acceleration PSA(T) = omega^2 SD(T), the response spectrum.

  Args:
    accel: ``[..., time]`` ground acceleration, e.g. m/s^2.
    dt: sampling interval in seconds.
    periods: ``[P]`` periods in seconds, >= 0; a period of 0 gives the PGA
      (``max |accel|``).
    damping: ratio of critical damping in [0, 1), 0.05 by default.
    small_batch: as :func:`spectral_displacement`.

  Returns:
    ``[..., P]`` PSA in accel's unit. Same guarantees and errors as
    :func:`spectral_displacement`.
  """
  accel = _check_accel(accel)
  periods = _check_periods(periods)
  sd = spectral_displacement(accel, dt, periods, damping, small_batch=small_batch)
  safe = np.where(periods > 0, periods, 1.0)
  omega2 = jnp.asarray((2.0 * np.pi / safe) ** 2, sd.dtype)
  psa = sd * omega2
  if np.any(periods == 0):
    pga = jnp.max(jnp.abs(accel), axis=-1, keepdims=True)
    psa = jnp.where(jnp.asarray(periods == 0), pga, psa)
  return psa


def displacement_history(drive, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING,
                         time_major: bool = False) -> jax.Array:
  """Relative displacement histories ``u [B, P, time]`` of the oscillators, fast (blocked).

  The recurrence of :func:`spectral_displacement` with every sample kept: the same numbers
  as :func:`sdof_response`'s ``disp`` (to float rounding) at a fraction of the time, for
  the refinement's Jacobians. The map is linear; its transpose is
  ``displacement_history(q[..., ::-1])[..., ::-1]`` for per-oscillator ``q [B, P, time]``
  (up to the first sample's own weight).

  Args:
    drive: ``[B, time]`` ground acceleration (every oscillator shaken by the same record)
      or ``[B, P, time]`` (oscillator ``p`` shaken by ``drive[:, p]``), e.g. m/s^2.
    dt: sampling interval in seconds.
    periods: ``[P]`` periods in seconds, > 0.
    damping: ratio of critical damping in [0, 1).
    time_major: time on the first axis instead: ``drive [time, B]`` or ``[time, B, P]``,
      output ``[time, B, P]`` (the recurrence's own layout: no transposes, for callers that
      work along time, as the refinement's Jacobians do).

  Returns:
    ``[B, P, time]`` displacement in drive's unit x s^2 (``u[..., 0] = 0``), drive's dtype
    (``[time, B, P]`` with ``time_major``).

  Raises:
    ValueError: drive not 2-D or 3-D with ``P`` rows, fewer than 2 samples, a period <= 0,
      or the errors of :func:`spectral_displacement`'s arguments.
  """
  drive = jnp.asarray(drive)
  if not jnp.issubdtype(drive.dtype, jnp.floating):
    drive = drive.astype(jnp.float32)
  dt = _check_dt(dt)
  periods = _check_periods(periods)
  damping = _check_damping(damping)
  if np.any(periods <= 0):
    raise ValueError("displacement_history: periods must be > 0 seconds")
  p_axis, t_axis = (2, 0) if time_major else (1, -1)
  if (drive.ndim not in (2, 3) or (drive.ndim == 3 and drive.shape[p_axis] != periods.size)
      or drive.shape[t_axis] < 2):
    layout = f"[time, B] or [time, B, {periods.size}]" if time_major else f"[B, time] or [B, {periods.size}, time]"
    raise ValueError(f"displacement_history: drive must be {layout} with time >= 2, got {drive.shape}")
  return _history_jit(drive, dt, tuple(periods.tolist()), damping, bool(time_major))


def pseudo_spectral_velocity(accel, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING) -> jax.Array:
  """Pseudo-spectral velocity PSV(T) = omega SD(T), ``[..., P]`` in accel's unit x s.

  Arguments as :func:`spectral_displacement`; a period of 0 gives 0.
  """
  periods = _check_periods(periods)
  sd = spectral_displacement(accel, dt, periods, damping)
  safe = np.where(periods > 0, periods, 1.0)
  return sd * jnp.asarray(np.where(periods > 0, 2.0 * np.pi / safe, 0.0), sd.dtype)


ROTD_PERCENTILES = (0.0, 50.0, 100.0)  # RotD0, RotD50, RotD100.


def _check_pair(accel_pair) -> jax.Array:
  """``accel_pair`` checked as :func:`_check_accel` does, and as ``[..., 2, time]``."""
  accel_pair = _check_accel(accel_pair)
  if accel_pair.ndim < 2 or accel_pair.shape[-2] != 2:
    raise ValueError(f"accel_pair must be [..., 2, time] (two horizontal components), got {accel_pair.shape}")
  return accel_pair


def _rotations(num_angles: int) -> np.ndarray:
  """``[A, 2]`` (cos, sin) of ``theta_k = k * 180 / num_angles`` degrees, ``k = 0 .. A - 1``."""
  theta = np.pi * np.arange(num_angles) / num_angles
  return np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def rotd_spectrum(accel_pair, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING,
                  percentiles=(50.0,), num_angles: int = 180, angle_chunk: int = 30) -> jax.Array:
  """Orientation-independent response spectra of a pair of horizontal components:
  RotDnn (Boore 2010), the ``nn``-th percentile over rotation angles of the PSA of the
  rotated motion.

  For each angle ``theta_k = k * 180 / num_angles`` degrees (``k = 0 .. num_angles - 1``:
  0-179 degrees at 1 degree by default, as Boore 2010 and pyrotd) the pair is rotated,
  ``a_theta = cos(theta) a_1 + sin(theta) a_2``, and its PSA taken with
  :func:`response_spectrum` (the oscillator is linear, so this is the peak of the rotated
  oscillator response: exact at the samples, differentiable through the same custom VJP);
  then the percentiles over the angles (linear interpolation, as ``numpy.percentile``).
  RotD100 is the maximum-direction spectrum of ASCE 7-16 §16.2, RotD50 the median one of
  the NGA-West2 models. Angles go in chunks of ``angle_chunk`` to bound memory.

  Args:
    accel_pair: ``[..., 2, time]`` two orthogonal horizontal components, e.g. m/s^2.
    dt: sampling interval, s.
    periods: ``[P]`` periods, s (> 0).
    damping: ratio of critical damping in [0, 1).
    percentiles: ``[Q]`` percentiles in [0, 100] (0: RotD0, 50: RotD50, 100: RotD100).
    num_angles: rotation angles over 180 degrees (>= 2).
    angle_chunk: angles per chunk (memory: records x chunk x time).

  Returns:
    ``[..., Q, P]`` PSA in accel's unit.

  Raises:
    ValueError: a pair axis other than 2, percentiles outside [0, 100], fewer than 2
      angles, non-positive periods, or the errors of :func:`response_spectrum`.
  """
  accel_pair = _check_pair(accel_pair)
  q = np.atleast_1d(np.asarray(percentiles, np.float64))
  if q.ndim != 1 or not np.all((q >= 0) & (q <= 100)):
    raise ValueError(f"percentiles must lie in [0, 100], got {percentiles!r}")
  if int(num_angles) < 2 or int(angle_chunk) < 1:
    raise ValueError(f"num_angles must be >= 2 and angle_chunk >= 1, got {num_angles!r}, {angle_chunk!r}")
  periods = _check_periods(periods)
  if np.any(periods <= 0):
    raise ValueError("rotd_spectrum: periods must be > 0 seconds")
  rot = _rotations(int(num_angles))
  peaks = []
  for start in range(0, rot.shape[0], int(angle_chunk)):
    r = jnp.asarray(rot[start:start + int(angle_chunk)], accel_pair.dtype)
    rotated = jnp.einsum("ac,...ct->...at", r, accel_pair)  # [..., A_chunk, time]
    peaks.append(response_spectrum(rotated, dt, periods, damping))
  peaks = jnp.concatenate(peaks, axis=-2)  # [..., A, P]
  return jnp.moveaxis(jnp.percentile(peaks, jnp.asarray(q, peaks.dtype), axis=-2), 0, -2)


def rotated_peaks(accel_pair, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING,
                  num_angles: int = 180) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Peak displacement of each oscillator under a pair rotated to each angle, with when and
  which way it peaks: the pieces of :func:`rotd_spectrum` that a RotDnn's gradient needs.

  For ``theta_k = k * 180 / num_angles`` degrees the record ``cos(theta) a_1 + sin(theta) a_2``
  drives the oscillators (one blocked pass per angle, as :func:`response_spectrum`).

  Args:
    accel_pair: ``[N, 2, time]`` two orthogonal horizontal components, e.g. m/s^2.
    dt: sampling interval, s.
    periods: ``[P]`` periods, s (> 0).
    damping: ratio of critical damping in [0, 1).
    num_angles: rotation angles over 180 degrees (>= 2).

  Returns:
    ``(peak [N, A, P], index [N, A, P] int32, sign [N, A, P])``: the largest |u| (accel's
    unit x s^2; times ``omega^2`` it is the PSA of the rotated record), the sample at which
    it first occurs and the sign of ``u`` there. Not differentiable (use
    :func:`rotd_spectrum` for gradients).

  Raises:
    ValueError: a pair not ``[N, 2, time]``, fewer than 2 angles, non-positive periods, or the
      errors of :func:`response_spectrum`'s arguments.
  """
  accel_pair = _check_pair(accel_pair)
  periods = _check_periods(periods)
  if accel_pair.ndim != 3 or int(num_angles) < 2 or np.any(periods <= 0):
    raise ValueError(f"rotated_peaks: accel_pair must be [N, 2, time], num_angles >= 2 and periods > 0, got "
                     f"{accel_pair.shape}, {num_angles!r}")
  return _rotated_peaks_jit(accel_pair, _check_dt(dt), tuple(periods.tolist()), _check_damping(damping),
                            int(num_angles))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _rotated_peaks_jit(accel_pair, dt, periods, damping, num_angles):
  """:func:`rotated_peaks` compiled once per shape (inlined under an outer jit)."""
  rot = jnp.asarray(_rotations(num_angles), accel_pair.dtype)
  n, _, num = accel_pair.shape
  rotated = jnp.einsum("ac,nct->nat", rot, accel_pair).reshape((n * num_angles, num))
  t = _block_tables(dt, periods, damping, _BLOCK)  # Peak samples: one block size, as _peak_displacement_fwd.
  peak, idx, sign = _peak_kernel(rotated, jnp.asarray(t.delta, rotated.dtype), jnp.asarray(t.w, rotated.dtype), True)
  shape = (n, num_angles, len(periods))
  return peak.reshape(shape), idx.reshape(shape), sign.reshape(shape)


def max_direction_spectrum(accel_pair, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING, *,
                           small_batch: bool = False) -> jax.Array:
  """Maximum-direction spectrum (RotD100 over every angle, not a grid of them) of pairs.

  The oscillator is linear, so the response to the pair rotated by ``theta`` is
  ``u_theta(t) = cos(theta) u_1(t) + sin(theta) u_2(t)``, and its largest value over all
  angles at one instant is the length of the orbit ``sqrt(u_1^2 + u_2^2)``. RotD100 is
  therefore ``omega^2 max_t sqrt(u_1(t)^2 + u_2(t)^2)``: exact at the samples for every
  angle at once, one oscillator pass per component instead of one per angle, keeping only
  the running peak of the orbit (the blocked kernel of :func:`response_spectrum`).
  :func:`rotd_spectrum` with ``percentiles=(100,)`` takes the largest of 180 angles 1
  degree apart and so lies below this by at most ``1 - cos(0.5 deg) = 4e-5`` (relative).

  Args:
    accel_pair: ``[..., 2, time]`` two orthogonal horizontal components, e.g. m/s^2.
    dt: sampling interval, s.
    periods: ``[P]`` periods, s (> 0).
    damping: ratio of critical damping in [0, 1).
    small_batch: as :func:`spectral_displacement`.

  Returns:
    ``[..., P]`` RotD100 PSA in accel's unit; differentiable (reverse mode).

  Raises:
    ValueError: a pair axis other than 2, non-positive periods, or the errors of
      :func:`response_spectrum`'s arguments.
  """
  accel_pair = _check_pair(accel_pair)
  periods = _check_periods(periods)
  if np.any(periods <= 0):
    raise ValueError("max_direction_spectrum: periods must be > 0 seconds")
  lead, n = accel_pair.shape[:-2], accel_pair.shape[-1]
  flat = accel_pair.reshape((-1, 2, n))
  radius2 = _orbit_peak_jit(jnp.concatenate([flat[:, 0], flat[:, 1]], axis=0), _check_dt(dt),
                            tuple(periods.tolist()), _check_damping(damping), bool(small_batch))  # [N, P]
  omega2 = jnp.asarray((2.0 * np.pi / periods) ** 2, accel_pair.dtype)
  return (jnp.sqrt(radius2) * omega2).reshape(lead + (periods.size,))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _orbit_peak_jit(a2d, dt, periods, damping, small_batch=False):
  """Peak of the squared orbit ``[N, P]`` of ``a2d [2N, n]`` (components 1, then 2): the
  blocked recurrence keeping only the running peak (:func:`_peak_kernel`)."""
  t = _block_tables(dt, periods, damping, _peak_block(a2d.shape[0], len(periods), small_batch))
  return _peak_kernel(a2d, jnp.asarray(t.delta, a2d.dtype), jnp.asarray(t.w, a2d.dtype), False, orbit=True)


def geometric_mean_spectrum(accel_pair, dt: float, periods=DEFAULT_PERIODS,
                            damping: float = DEFAULT_DAMPING) -> jax.Array:
  """``sqrt(PSA_1 PSA_2)`` of a pair ``[..., 2, time]`` as recorded (orientation-dependent,
  the GMRotI50 predecessor): ``[..., P]`` in accel's unit."""
  accel_pair = _check_pair(accel_pair)
  psa = response_spectrum(accel_pair, dt, periods, damping)
  return jnp.sqrt(psa[..., 0, :] * psa[..., 1, :])


class SdofResponse(NamedTuple):
  """Oscillator time histories, each ``[..., P, time]`` in accel's dtype.

  disp: relative displacement u (accel unit x s^2); vel: relative velocity
  (accel unit x s); abs_accel: absolute acceleration u'' + a (accel unit).
  """
  disp: jax.Array
  vel: jax.Array
  abs_accel: jax.Array


def sdof_response(accel, dt: float, periods=DEFAULT_PERIODS, damping: float = DEFAULT_DAMPING) -> SdofResponse:
  """Full time histories of the oscillators, for tests and plots.

  Args:
    accel: ``[..., time]`` ground acceleration.
    dt: sampling interval in seconds.
    periods: ``[P]`` periods in seconds, > 0.
    damping: ratio of critical damping in [0, 1).

  Returns:
    :class:`SdofResponse` with arrays ``[..., P, time]``; the oscillator starts at
    rest (``u[0] = v[0] = 0``). Memory grows as records x periods x time: use
    :func:`response_spectrum` for peaks.
  """
  accel = _check_accel(accel)
  dt = _check_dt(dt)
  periods = _check_periods(periods)
  damping = _check_damping(damping)
  if np.any(periods <= 0):
    raise ValueError("sdof_response: periods must be > 0 seconds")
  c = _coefficients(dt, tuple(periods.tolist()), damping)
  dtype = accel.dtype
  delta = jnp.asarray(c.phi - np.eye(2), dtype)
  g0 = jnp.asarray(c.g0, dtype)
  g1 = jnp.asarray(c.g1, dtype)
  omega = jnp.asarray(c.omega, dtype)
  lead = accel.shape[:-1]
  a2d = accel.reshape((-1, accel.shape[-1]))

  def step(x, ak):
    a0, a1 = ak
    dx = jnp.einsum("pij,bpj->bpi", delta, x) + g0 * a0[:, None, None] + g1 * a1[:, None, None]
    x = x + dx
    return x, x

  x0 = jnp.zeros((a2d.shape[0], periods.size, 2), dtype)
  _, xs = jax.lax.scan(step, x0, (a2d.T[:-1], a2d.T[1:]))
  xs = jnp.concatenate([x0[None], xs], axis=0)  # [n, B, P, 2]
  u = jnp.moveaxis(xs[..., 0], 0, -1)
  v = jnp.moveaxis(xs[..., 1], 0, -1)
  abs_acc = -(2.0 * damping * omega[:, None] * v + omega[:, None] ** 2 * u)
  shape = lead + (periods.size, a2d.shape[-1])
  return SdofResponse(u.reshape(shape), v.reshape(shape), abs_acc.reshape(shape))
