"""A trained generator: load its EMA weights, condition on target spectra, sample (and refine).

:class:`Generator` loads a training workdir (its ``config.json`` and the latest Orbax
checkpoint; the EMA generator weights). :meth:`Generator.generate` turns a
:class:`cvaegan_jax.targets.Target` into ``num`` records:

1. the target is interpolated (log-log) onto the model's periods and becomes the
   condition ``c``; prior samples ``z ~ N(0, I)`` are decoded and brought to m/s^2 with
   the target's PSA at the shortest period (the model's waveform scale); ``temperature``
   multiplies ``z`` (below 1: closer to the target, samples of one target more alike);
2. ``refine="scale"``: each record multiplied by the one factor that fits its spectrum to
   the target in least squares (weighted as the refinement's misfit, see ``band_s``):
   linear amplitude scaling, the practice for recorded motions, exact because an
   oscillator's response is linear in its input; nothing else of the record changes;
3. ``refine="latent"`` (or ``"both"``): Adam steps on ``z`` through the decoder, its
   calibration, the timing step and the exact, differentiable response spectrum,
   minimising the mean squared log10 misfit plus a share of ``1 - R^2``; each latent keeps
   its norm, and the record stays the decoder's output (costly: every step runs the
   decoder backwards);
4. ``refine="waveform"`` (the default; ``"both"`` runs it after the latent steps):
   :func:`cvaegan_jax.refine.match`, frequency-domain passes (phases kept, each record's
   own t5, D5-75 and D5-95 restored every few passes), then Levenberg-Marquardt steps on
   an additive correction of each record built from the exact Jacobian of the spectrum:
   a sum of the oscillators' impulse responses ending at their peak times, the wavelets
   of time-domain spectral matching (Lilhanand & Tseng 1988), local and smooth, every
   iterate kept baseline-corrected (order 5); a record that ends above ``tol`` is counted
   in :meth:`Generation.summary`.
   With timing conditions (``model.timing_conditions``) the condition also holds the
   records' onset t5 and significant durations D5-75 and D5-95: given by the caller
   (``timing``), or by default each record takes those of one of the training set's
   records with the most similar spectra (``workdir/conditions.npz``), so a suite spreads
   in duration as recordings of such spectra do; each decoded record is then brought to
   the timing it was asked for by a smooth envelope gain (``timing_gain``,
   :func:`cvaegan_jax.refine.timing`), its geometric-mean PSA over the band kept, and all
   are high-passed at 0.1 Hz as the data were (``highpass_hz``);
5. baseline correction (final velocity and displacement zero; in refinement every
   iterate is kept corrected) and the final spectra and misfits
   (``generated / target - 1`` per period).

Refinement stops when every record's largest |misfit| inside ``band_s`` is below
``tol`` or after the step limit. All steps are jitted and batched over the records.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvaegan_jax import checkpoints, conditioning, fit, intensity, models, specs, spectra, train_state, validation
from cvaegan_jax import refine as refine_lib
from data_prep import processing

__all__ = ["Generator", "Generation", "TimingStep", "PRE_EVENT_S"]

# The data's windows open this long before the P pick (ProcessingConfig.pre_p_s): generated
# records are held quiet there (Generator.sample's pre_event_s).
PRE_EVENT_S = processing.ProcessingConfig().pre_p_s
# The timing gain of Generator.sample alternates with causal Fourier passes back to the
# decoder's own spectrum: this many rounds of that many passes (docs/experiments.md).
TIMING_ROUNDS = 2
TIMING_SPECTRUM_PASSES = 2
# The decoder's spectral calibration (Generator.calibration) is estimated on this many
# training records (evenly spaced through the training table), latents from this seed.
CALIBRATION_RECORDS = 256
CALIBRATION_SEED = 20260101
# Generator.generate and generate_pairs decode this many latents per record and keep the one
# whose raw spectrum fits best (Generator.sample's candidates; docs/experiments.md).
CANDIDATES = 8
# refine="latent" takes at most this many Adam steps on each record's latent (20: the 600-event
# model's test share 84.8% -> 99.0% from the best of 8; 30: 99.2%; docs/experiments.md).
LATENT_STEPS = 20


@dataclasses.dataclass(frozen=True)
class TimingStep:
  """The step that brings decoded records to their asked timing with the decoder's spectrum
  kept (:meth:`Generator.sample`'s ``timing_gain``), as a pure JAX function of the records.

  ``rounds`` times: the envelope gain (:func:`cvaegan_jax.refine.timing_gain`, at
  most ``max_gain``), then ``passes`` causal Fourier passes
  (:func:`cvaegan_jax.refine.prescale`) back to the PSA the records came with (not the
  target's: the decoder's fit is neither improved nor undone, only the gain's change of the
  spectral shape is); then the gain once more, so that each record takes the asked timing;
  finally each record is scaled so that its geometric-mean PSA over the band is what it was.
  Pairs ``[N, 2, T]``: one gain for both components, from their combined energy (the pair's
  timing), and one level factor per pair. Hashable (its fields are static), so the latent
  search can trace it inside its loss; the gradient treats the envelope gains and the level
  factors as constants.

  Fields: ``dt`` (s), ``periods`` (s), ``damping``; ``restore``: per period, whether the
  passes restore it (periods of at least ``2 dt``); ``max_gain`` (> 1); ``pre_event_s``: the
  window's first seconds held quiet (0: none); ``rounds``, ``passes`` (:meth:`Generator.sample`
  takes :data:`TIMING_ROUNDS` and :data:`TIMING_SPECTRUM_PASSES`).
  """
  dt: float
  periods: tuple
  damping: float
  restore: tuple
  max_gain: float
  pre_event_s: float
  rounds: int
  passes: int

  def __call__(self, x, timing_s, mask):
    """Records ``x [N, T]`` or pairs ``[N, 2, T]`` (m/s^2) brought to ``timing_s [N, 3]`` (t5,
    D5-75, D5-95, s); ``mask [P]`` the band whose geometric-mean PSA is kept. Same shape."""
    shape = x.shape
    rows = x.reshape((-1, shape[-1]))  # Every component a row.
    before = spectra.response_spectrum(rows, self.dt, np.asarray(self.periods), self.damping)
    log_before = jnp.log10(jnp.maximum(before, conditioning.TINY))
    restore = jnp.asarray(self.restore, rows.dtype)

    def gain(y):
      y = y.reshape(shape)
      g = jax.lax.stop_gradient(refine_lib.timing_gain(
          conditioning.pair_energy(y), timing_s, dt=self.dt, max_gain=self.max_gain,
          smooth_s=refine_lib.TIMING_SMOOTH_S, iterations=refine_lib.TIMING_ITERATIONS, pre_event_s=self.pre_event_s))
      return (y * (g[:, None, :] if len(shape) == 3 else g)).reshape(rows.shape)

    shaped = rows
    for _ in range(self.rounds):
      shaped = refine_lib.prescale(gain(shaped), log_before, restore, dt=self.dt, periods=self.periods,
                                   damping=self.damping, iterations=self.passes)
    shaped = gain(shaped)  # The gain last: the asked timing is what the record gets.
    after = spectra.response_spectrum(shaped, self.dt, np.asarray(self.periods), self.damping)
    log_ratio = jnp.sum(jnp.where(mask, jnp.log(before / after), 0.0), -1) / jnp.sum(mask)
    log_ratio = jnp.mean(log_ratio.reshape(shape[:-1]), axis=-1) if len(shape) == 3 else log_ratio
    level = jax.lax.stop_gradient(jnp.exp(log_ratio)).reshape((-1,) + (1,) * (len(shape) - 1))
    return shaped.reshape(shape) * level


@functools.partial(jax.jit, static_argnums=0)
def _take_timing(step: TimingStep, x, timing_s, mask):
  """``step(x, timing_s, mask)``, jitted (one compilation per step's fields and shapes)."""
  return step(x, timing_s, mask)


@dataclasses.dataclass
class Generation:
  """Records generated for one or more target spectra.

  Attributes:
    accel_ms2: ``[N, T]`` float32 accelerations in m/s^2, or ``[N, 2, T]`` for pairs of
      horizontal components (:meth:`Generator.generate_pairs`).
    dt: sampling interval, s.
    periods_s: ``[P]`` the model's periods, s.
    target_ms2: ``[N, P]`` target PSA of each record on ``periods_s``, m/s^2.
    psa_ms2: ``[N, P]`` PSA of the records (5% damping unless the config says otherwise);
      for pairs their RotDnn (``percentile``).
    misfit: ``[N, P]`` relative misfit ``psa / target - 1``.
    band_s: (shortest, longest) period over which refinement and summaries count.
    refine: the refinement mode used; steps: Adam steps taken (latent, waveform).
    target_name: the target's name.
    seed: the random seed.
    temperature: the prior's temperature (``z = temperature * N(0, I)``).
    scale_factors: ``[N]`` the factors of ``refine="scale"`` (dimensionless), else None.
    timing_names: the timing conditions (``model.timing_conditions``), in order.
    timing_s: ``[N, K]`` the timing each record was asked for, s (``K = 0``: none; pairs:
      ``[2N, K]``, each component's, H1 and H2 of pair 0 first).
    tol: the refinement's target largest |misfit| per record (None without refinement).
    percentile: for pairs, the RotDnn of ``psa_ms2`` and the target (100: maximum
      direction, 50: median); None for single components.
    candidates: latent samples decoded per record, of which the one whose raw spectrum fit
      the target best was kept (1: the model's first sample, no selection).
  """
  accel_ms2: np.ndarray
  dt: float
  periods_s: np.ndarray
  target_ms2: np.ndarray
  psa_ms2: np.ndarray
  misfit: np.ndarray
  band_s: tuple
  refine: str
  steps: tuple
  target_name: str = ""
  seed: int = 0
  temperature: float = 1.0
  scale_factors: np.ndarray | None = None
  timing_names: tuple = ()
  timing_s: np.ndarray | None = None
  tol: float | None = None
  percentile: float | None = None
  candidates: int = 1

  @property
  def components(self) -> np.ndarray:
    """``[N * C, T]`` every component as its own record (C = 2 for pairs, else 1)."""
    return self.accel_ms2.reshape((-1, self.accel_ms2.shape[-1]))

  @property
  def band_misfit(self) -> np.ndarray:
    """``[N, P_band]`` misfits inside ``band_s``."""
    return self.misfit[:, spectra.band_mask(self.periods_s, self.band_s)]

  def summary(self) -> dict:
    """Mean and max |misfit| over the band (all records), in the unit of a ratio, the
    largest correlation over time between two records (``max_pair_correlation``, None for
    one record: distinct records of one spectrum are near 0, copies 1), and each record's
    onset t5 and significant durations D5-75 and D5-95 (``timing``, s: what the records
    got, and with timing conditions what they were asked for), each record's largest
    |misfit| in the band (``record_max_abs_misfit``) and, after a refinement, how many
    records it left above its ``tol`` (``missed_tol``; the refinement stops at its step limit
    whether or not ``tol`` was reached). For pairs, ``timing`` and ``max_pair_correlation``
    are over the ``2N`` components (H1, H2 of pair 0, then pair 1 ...), the misfits are of
    the RotDnn, and ``component_correlation`` gives each pair's correlation of its H1 and
    H2 (real pairs: near 0; ASCE 4 asks below 0.3). ``fourier_roughness`` is each record's
    (component's) :func:`cvaegan_jax.intensity.fourier_roughness`, log10: random-phase and
    real records near 0.28, records with spectral lines (a ringing refinement) above."""
    m = np.abs(self.band_misfit)
    n = int(self.accel_ms2.shape[0])
    got = {name: [round(float(v), 2) for v in conditioning.TIMING_MEASURES[name](self.components, self.dt)]
           for name in conditioning.TIMING_MEASURES}
    asked = ({name: [round(float(v), 2) for v in self.timing_s[:, i]] for i, name in enumerate(self.timing_names)}
             if self.timing_s is not None and self.timing_names else None)
    worst = m.max(axis=-1)
    return {"num": n, "mean_abs_misfit": float(m.mean()), "timing": {"got": got, "asked": asked},
            "record_max_abs_misfit": [float(v) for v in worst], "tol": self.tol,
            "missed_tol": None if self.tol is None else int(np.sum(worst > self.tol)),
            "max_abs_misfit": float(m.max()), "refine": self.refine, "steps": list(self.steps),
            "band_s": list(self.band_s), "temperature": self.temperature, "candidates": self.candidates,
            "scale_factors": None if self.scale_factors is None else [float(v) for v in self.scale_factors],
            "max_pair_correlation": (float(fit.pair_correlations(self.components).max())
                                     if len(self.components) > 1 else None),
            "percentile": self.percentile,
            "fourier_roughness": [round(float(v), 4) for v in
                                  intensity.fourier_roughness(np.asarray(self.components, np.float64), self.dt)],
            "component_correlation": (fit.component_correlation(self.accel_ms2).tolist()
                                      if self.accel_ms2.ndim == 3 else None)}


def highpass(accel_ms2: np.ndarray, dt: float, corner_hz: float, taper_s: float = 1.0) -> np.ndarray:
  """Records ``[N, T]`` (m/s^2) processed as the training windows were: a half-cosine taper of
  ``taper_s`` at both ends, then a zero-phase 4-pole Butterworth high-pass at ``corner_hz``
  (``data_prep.processing``). ``corner_hz = 0`` returns the records unchanged (float64)."""
  a = np.asarray(accel_ms2, np.float64)
  if not corner_hz:
    return a
  fs = 1.0 / dt
  return np.stack([processing.bandpass(processing.taper(r, fs, taper_s), fs, corner_hz, fs / 2) for r in a])


def candidate_misfit(psa_ms2, target_ms2, weights) -> np.ndarray:
  """``[N]`` how far each spectrum ``psa_ms2 [N, P]`` lies from its target ``target_ms2 [N, P]``
  (both m/s^2): the RMS over periods of ``log10(psa / target)`` weighted by ``weights [P]`` (1
  inside the band, ``outside_weight`` outside, as the refinement weighs them), dimensionless;
  0 for a spectrum equal to its target, 0.1 for one off by a factor 10**0.1 = 1.26 everywhere.
  What :meth:`Generator.sample` ranks its candidates by."""
  w = np.asarray(weights, np.float64)
  ratio = np.log10(np.maximum(np.asarray(psa_ms2, np.float64), conditioning.TINY)
                   / np.maximum(np.asarray(target_ms2, np.float64), conditioning.TINY))
  return np.sqrt(np.sum(w * ratio ** 2, axis=-1) / np.sum(w))


def check_candidates(candidates) -> int:
  """``candidates`` as an int >= 1, else ValueError naming it."""
  try:
    ok = not isinstance(candidates, bool) and float(candidates).is_integer() and int(candidates) >= 1
  except (TypeError, ValueError):
    ok = False
  if not ok:
    raise ValueError(f"candidates must be an integer >= 1 (latent samples per record), got {candidates!r}")
  return int(candidates)


@functools.partial(jax.jit, static_argnames=("model",))
def _decode(model, variables, z, c):
  """Decoded prior samples ``[N, T]`` (model units; a pair model's ``[N, 2, T]``) of latents
  ``z [N, L]`` under ``c [N, C]``."""
  x = model.apply(variables, z, c, method=models.CVAEGAN.generate)
  return x[..., 0] if x.shape[-1] == 1 else jnp.moveaxis(x, -1, 1)


class Generator:
  """A trained generator: config, EMA weights and condition statistics of a workdir.

  Attributes:
    config: the training config (``ml_collections.ConfigDict``).
    periods_s: ``[P]`` the model's condition periods, s.
    dt: the model's sampling interval, s.
    num_samples: samples per record.
    strong_phase_end_s: the latest t5 + D5-95 a timing request may reach, s (the window
      less 1 s).
    step: the training step of the loaded checkpoint.
  """

  def __init__(self, config, variables, cond_stats: dict, step: int = 0, conditions: dict | None = None):
    """``conditions``: the training set's ``psa [N, P]`` (m/s^2) and ``timing [N, K]`` (s),
    from which timing conditions are drawn when none are given (needed with timing
    conditions, see :meth:`draw_timing`)."""
    self.config = config
    self.timing_names = conditioning.check_timing_names(config.model.timing_conditions)
    self.conditions = conditions
    self.channels = conditioning.num_channels(config.data)
    # A pair model's condition is its pairs' RotD50 or RotD100 (data.pair_spectrum).
    kind = conditioning.pair_spectrum(config.data)
    self.model_percentile = None if kind is None else conditioning.PAIR_SPECTRA[kind][1]
    self.model, _ = models.build(config.model, config.data.num_samples, 1.0 / float(config.data.sampling_rate_hz),
                                 self.channels)
    self.variables = variables
    self.cond_stats = {k: np.asarray(v, np.float32) for k, v in cond_stats.items()}
    self.periods = tuple(float(t) for t in spectra.log_periods(config.data.t_min_s, config.data.t_max_s,
                                                               config.data.num_periods))
    self.periods_s = np.asarray(self.periods)
    self.dt = 1.0 / float(config.data.sampling_rate_hz)
    self.num_samples = int(config.data.num_samples)
    # The latest end of the strong phase (t5 + D5-95) a request may ask: 1 s before the window's
    # end, the high-pass taper's length (complete_timing).
    self.strong_phase_end_s = self.num_samples * self.dt - 1.0
    self.damping = float(config.data.damping)
    self.step = step
    # Periods of at least 2 dt: below, PSA follows the PGA and holds no energy of its own.
    self._own_energy = self.periods_s >= 2 * self.dt
    self._calibration = None

  @classmethod
  def from_workdir(cls, workdir: str, config=None) -> "Generator":
    """Load ``workdir/config.json`` and its latest checkpoint (EMA generator weights).

    Args:
      workdir: a training workdir (written by ``cvaegan_jax.train``).
      config: optional config the caller expects; it must describe the same model.

    Raises:
      FileNotFoundError: ``workdir`` is not a training workdir or holds no checkpoint.
      checkpoints.ConfigMismatchError: ``config`` or the checkpoint's shapes differ from
        the workdir's config.
    """
    saved = checkpoints.load_config(workdir)
    if config is not None:
      checkpoints.check_config(workdir, config)
    ckpt_dir = os.path.join(workdir, checkpoints.CHECKPOINT_DIR)
    if not os.path.isdir(ckpt_dir):
      raise FileNotFoundError(f"{workdir} has no {checkpoints.CHECKPOINT_DIR}/: train it first "
                              f"(python -m cvaegan_jax.main --config=... --workdir={workdir})")
    manager = checkpoints.make_manager(workdir, keep=1, async_save=False)
    if manager.latest_step() is None:
      raise FileNotFoundError(f"{ckpt_dir} holds no checkpoint: train first or point --workdir elsewhere")
    try:
      state = checkpoints.restore_latest(manager, train_state.abstract(train_state.make_static(saved)))
    except (ValueError, KeyError, TypeError) as e:
      raise checkpoints.ConfigMismatchError(
          f"the checkpoint in {ckpt_dir} does not fit {workdir}/config.json (another config wrote it?): {e}") from e
    variables = {"params": state.ema_params, "batch_stats": state.gen_batch_stats}
    logging.info("loaded %s at step %d", ckpt_dir, int(state.step))
    conditions = None
    path = os.path.join(workdir, checkpoints.CONDITIONS_FILE)
    if saved.model.timing_conditions and os.path.exists(path):
      with np.load(path) as f:  # Arrays only (allow_pickle stays False).
        conditions = {"psa": f["psa"], "timing": f["timing"]}
        if "partner" in f:  # Written since pairs of components (older workdirs: pairs share one timing).
          conditions["partner"] = f["partner"]
        if "rotd100_over_rotd50" in f:  # Pair models.
          conditions["rotd100_over_rotd50"] = f["rotd100_over_rotd50"]
    return cls(saved, variables, {"mean": state.cond_mean, "std": state.cond_std}, int(state.step), conditions)

  # -------------------------------------------------------------------------

  def condition(self, psa_ms2: np.ndarray, timing_s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Condition ``c [N, C]`` and waveform scale ``[N]`` (m/s^2) for targets ``psa_ms2 [N, P]``
    and, with timing conditions, ``timing_s [N, K]`` (s)."""
    psa = np.asarray(psa_ms2, np.float32)
    c = conditioning.condition(psa, self.config.model.condition, self.cond_stats,
                               timing_s=timing_s if self.timing_names else None).astype(np.float32)
    return c, np.maximum(psa[:, 0], conditioning.TINY).astype(np.float32)

  def draw_timing(self, psa_ms2: np.ndarray, seed: int = 0, neighbours: int = 10) -> np.ndarray:
    """Timing conditions ``[N, K]`` (s) for targets ``psa_ms2 [N, P]`` (m/s^2): each row
    those of a training record drawn at random among the ``neighbours`` whose log10 spectra
    are nearest the target's (Euclidean over the periods), so durations follow the
    training set's joint distribution with the spectrum. A target asked ``c`` times (a
    suite) draws without replacement among its ``max(neighbours, c)`` nearest: its records
    take ``c`` different training records' timing (repeated only when the table is shorter).

    Raises:
      ValueError: the model has timing conditions but no table of training conditions
        (``workdir/conditions.npz``, written by training).
    """
    if not self.timing_names:
      return np.zeros((np.shape(psa_ms2)[0], 0), np.float32)
    if self.conditions is None:
      raise ValueError(f"this model is conditioned on {self.timing_names} and its workdir has no "
                       f"{checkpoints.CONDITIONS_FILE} to draw them from: give all of them "
                       "(--config.generate.t5_s, d5_75_s, d5_95_s) or retrain to write it")
    return self.conditions["timing"][self._neighbour(psa_ms2, seed, neighbours)].astype(np.float32)

  def _neighbour(self, psa_ms2: np.ndarray, seed: int, neighbours: int = 10) -> np.ndarray:
    """``[N]`` rows of the training conditions drawn as :meth:`draw_timing` draws them."""
    table = np.log10(np.maximum(self.conditions["psa"], conditioning.TINY))
    log = np.log10(np.maximum(np.asarray(psa_ms2, np.float64), conditioning.TINY))
    rng = np.random.default_rng(seed)
    # Rows of one target (a suite) draw without replacement: no two share a duration.
    _, group, counts = np.unique(log, axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    out = np.empty(log.shape[0], np.int64)
    for g in range(counts.size):
      rows = np.flatnonzero(group == g)
      k = min(max(neighbours, rows.size), table.shape[0])
      nearest = np.argsort(((log[rows[0]] - table) ** 2).sum(-1))[:k]
      out[rows] = nearest[np.resize(rng.permutation(k), rows.size)]
    return out

  def partner_timing(self, psa_ms2: np.ndarray, timing_s: np.ndarray, seed: int = 0) -> np.ndarray:
    """The second component's timing ``[N, K]`` (s) of pairs whose first takes ``timing_s
    [N, K]``: the two components of a training recording of similar spectrum (drawn as
    :meth:`draw_timing` draws, same ``seed``: a drawn timing and this one are that record's
    two components) differ by a ratio of their durations and a shift of their t5; the same
    ratio and shift are applied to ``timing_s``, kept inside the window as
    :meth:`complete_timing` keeps it. Without that table (a workdir trained before pairs, or
    no record with two components) both components take ``timing_s``."""
    timing_s = np.asarray(timing_s, np.float32)
    partner = None if self.conditions is None else self.conditions.get("partner")
    if not self.timing_names or partner is None or not np.any(partner >= 0):
      return timing_s.copy()
    rows = self._neighbour(psa_ms2, seed)
    ok = partner[rows] >= 0
    mine, other = self.conditions["timing"][rows], self.conditions["timing"][np.where(ok, partner[rows], rows)]
    out = timing_s.astype(np.float64).copy()
    for k, name in enumerate(self.timing_names):
      if name == "t5":
        out[:, k] = np.maximum(out[:, k] + other[:, k] - mine[:, k], 0.0)
      else:
        out[:, k] *= other[:, k] / np.maximum(mine[:, k], 1e-3)
    if "t5" in self.timing_names and "d5_95" in self.timing_names:
      i5, i95 = self.timing_names.index("t5"), self.timing_names.index("d5_95")
      out[:, i95] = np.minimum(out[:, i95], self.strong_phase_end_s - 1.0)
      out[:, i5] = np.minimum(out[:, i5], self.strong_phase_end_s - out[:, i95])
    return out.astype(np.float32)

  def complete_timing(self, psa_ms2: np.ndarray, timing: dict | None, seed: int = 0) -> np.ndarray:
    """Timing conditions ``[N, K]`` (s) from a partial request ``timing`` (name -> s, a
    number or ``[N]``; names from ``model.timing_conditions``): what is not given comes
    from :meth:`draw_timing`, and when only one of D5-75 and D5-95 is given the other is the
    drawn one times the same ratio (so D5-75 < D5-95 holds). The strong phase ends at least
    1 s before the window does: a drawn t5 moves earlier, or drawn durations shrink.

    Raises:
      ValueError: a name that is not a timing condition of the model, a value that is
        not a positive number of seconds (t5 may be 0), or a D5-95 (with an asked t5:
        t5 + D5-95) longer than the window less 1 s.
    """
    timing = dict(timing or {})
    n = np.shape(psa_ms2)[0]
    # With every measure given nothing is drawn (a workdir without conditions.npz works too).
    drawn = (np.zeros((n, len(self.timing_names)), np.float32) if set(self.timing_names) <= set(timing)
             else self.draw_timing(psa_ms2, seed))
    if not self.timing_names and timing:
      raise ValueError(f"this model has no timing conditions; cannot ask for {sorted(timing)}")
    for name in timing:
      if name not in self.timing_names:
        raise ValueError(f"timing {name!r} is not a condition of this model (it has {self.timing_names})")
    out = drawn.copy()
    for name, v in timing.items():
      v = np.broadcast_to(np.asarray(v, np.float64), (n,))
      if not np.all(np.isfinite(v)) or np.any(v < 0) or (name != "t5" and np.any(v <= 0)):
        raise ValueError(f"timing {name}={v.tolist()}: expected finite seconds, > 0 (t5: >= 0)")
      out[:, self.timing_names.index(name)] = v
    for given, other in (("d5_95", "d5_75"), ("d5_75", "d5_95")):
      if given in timing and other not in timing and other in self.timing_names:
        i, j = self.timing_names.index(given), self.timing_names.index(other)
        out[:, j] = drawn[:, j] * out[:, i] / np.maximum(drawn[:, i], 1e-3)
    if "t5" in self.timing_names and "d5_95" in self.timing_names:
      # The strong phase must end inside the window (1 s before its end, the taper): a drawn
      # onset moves earlier to make room for a long asked duration.
      i5, i95 = self.timing_names.index("t5"), self.timing_names.index("d5_95")
      room = self.strong_phase_end_s
      if np.any(out[:, i95] > room):
        raise ValueError(f"timing d5_95={out[:, i95].max():.1f} s does not fit the model's "
                         f"{self.num_samples * self.dt:g} s window (at most {room:g} s)")
      late = out[:, i5] + out[:, i95] > room
      if "t5" in timing and "d5_95" in timing and np.any(late):
        raise ValueError(f"timing t5 + d5_95 = {(out[:, i5] + out[:, i95]).max():.1f} s ends after the model's "
                         f"window ({room:g} s of {self.num_samples * self.dt:g} s usable): ask for an earlier t5")
      if "t5" in timing and np.any(out[:, i5] > room - 1.0):
        raise ValueError(f"timing t5={out[:, i5].max():.1f} s leaves no room for shaking in the model's "
                         f"{self.num_samples * self.dt:g} s window (at most {room - 1.0:g} s)")
      if "t5" in timing:  # Drawn durations shrink to fit after the asked onset.
        shrink = np.where(late, (room - out[:, i5]) / out[:, i95], 1.0)
        out[:, [k for k, name in enumerate(self.timing_names) if name != "t5"]] *= shrink[:, None]
      else:
        out[:, i5] = np.where(late, room - out[:, i95], out[:, i5])
    return out.astype(np.float32)

  def sample(self, psa_ms2: np.ndarray, seed: int = 0, refine: str = "none", tol: float = 0.02,
             band_s=(0.05, 4.0), max_latent_steps: int = LATENT_STEPS, max_waveform_steps: int = 20,
             baseline: bool = True, outside_weight: float = refine_lib.OUTSIDE_WEIGHT,
             temperature: float = 1.0,
             timing_s: np.ndarray | None = None, highpass_hz: float = 0.1, timing_gain: float = 4.0,
             pre_event_s: float = PRE_EVENT_S, prescale_steps: int = refine_lib.PRESCALE_STEPS,
             calibrate: bool = True, smoothing: float = refine_lib.SMOOTHING, candidates: int = 1) -> Generation:
    """One record per row of ``psa_ms2 [N, P]`` (targets on the model's periods, m/s^2).

    Args:
      psa_ms2: target PSA on :attr:`periods_s`.
      seed: latent samples are ``temperature * N(0, I)`` from ``PRNGKey(seed)``.
      refine: "none", "scale" (each record times its least-squares factor), "latent"
        (Adam on z), "waveform" (Levenberg-Marquardt on an additive correction of each
        record) or "both" (latent, then waveform).
      tol: target largest |misfit| inside ``band_s`` per record (refinement stops there).
      band_s: period band (s) where the misfit counts fully; outside it counts with
        ``outside_weight``.
      max_latent_steps: Adam step limit of ``refine="latent"`` (:func:`cvaegan_jax.refine.latent`:
        the latent searched on the prior's shell, through the calibration and the timing step,
        until the record's raw spectrum is within ``tol``; the record stays the decoder's output).
      max_waveform_steps: Levenberg-Marquardt step limit of ``refine="waveform"``.
      prescale_steps: frequency-domain passes before those steps (``refine="waveform"``,
        :func:`cvaegan_jax.refine.match`; 0: none).
      smoothing: >= 0, the smoothing of the first passes' gain, ln frequency (``match``'s;
        0 reaches ``tol`` more often on jagged, recorded targets, and leaves lines).
      baseline: baseline-correct the output (final velocity and displacement zero).
      outside_weight: weight of the misfit outside ``band_s`` (inside: 1).
      temperature: >= 0, the prior's standard deviation. 1 samples the model as trained;
        below 1 the records fit the target better and resemble each other more (0: every
        record of one target is the same); above 1 the reverse.
      timing_s: ``[N, K]`` timing conditions, s (models with ``timing_conditions``); by
        default drawn from training records of similar spectra (:meth:`draw_timing`).
      highpass_hz: the decoded records are tapered and high-passed at this corner (Hz)
        before refinement, as the training windows were (:func:`highpass`; 0: off). Without
        it the raw records' PGD was 4.4 times the real ones' (0.91 times with it, spectra
        within 0.05-4 s unchanged; docs/experiments.md).
      timing_gain: with timing conditions t5, D5-75 and D5-95, each decoded record is
        brought to the timing it was asked for by a smooth envelope gain of at most this
        factor (:func:`cvaegan_jax.refine.timing`; 1: off): the decoder alone keeps an
        asked D5-95 within 20% for about two records in three. The decoder's spectrum is
        kept through the gain (causal Fourier passes back to it, not to the target).
      pre_event_s: with ``timing_gain``, the first seconds held quiet (``PRE_EVENT_LEVEL``
        of the rest), as the data's windows open on noise before the P pick (``pre_p_s`` of
        ``data_prep.processing.ProcessingConfig``); 0: off.
      calibrate: each decoded record goes through the decoder's fixed spectral calibration,
        estimated on training records (:meth:`calibration`; models without a table of
        training conditions have none). The same filter for every record and target: part
        of the model, not a matching to the target.
      candidates: >= 1, latent samples decoded per record (each through the whole raw
        pipeline above, under the same target and timing); the one whose raw spectrum fits
        the target best (:func:`candidate_misfit`) is kept, as an engineer picks records from a
        database, then refined. Every kept record is the model's output unchanged; 1 (no
        selection) gives the records of earlier versions. Costs ``candidates`` times the raw
        generation.

    Returns:
      :class:`Generation`.

    Raises:
      ValueError: an unknown ``refine``, a negative or non-finite ``temperature``,
        ``candidates`` below 1, or ``psa_ms2`` of the wrong shape or not finite and positive.
    """
    if refine not in refine_lib.REFINE_MODES:
      raise ValueError(f"refine must be one of {refine_lib.REFINE_MODES}, got {refine!r}")
    if self.channels != 1:
      raise ValueError("this model makes pairs of horizontal components (data.pairs): use sample_pairs / "
                       "generate_pairs (--config.generate.components=2)")
    temperature = validation.non_negative_float(temperature, "temperature")
    candidates = check_candidates(candidates)
    psa = np.asarray(psa_ms2, np.float32)
    mask_np = spectra.band_mask(self.periods_s, band_s)
    timing_s, c, scale, z = self._prior_inputs(psa, seed, timing_s, temperature)
    log_target = jnp.log10(psa)
    weights_np = np.where(mask_np, 1.0, outside_weight)
    weights = jnp.asarray(weights_np, jnp.float32)
    mask = jnp.asarray(mask_np)
    statics = dict(dt=self.dt, periods=self.periods, damping=self.damping)
    raw = functools.partial(self._raw, mask=mask, calibrate=calibrate, timing_gain=timing_gain,
                            pre_event_s=pre_event_s, highpass_hz=highpass_hz)
    x = None
    if candidates > 1:
      z, x = self._select(z, c, scale, timing_s, psa, weights_np, seed, temperature, candidates, raw, baseline)
    steps = (0, 0)
    if refine in ("latent", "both") and max_latent_steps:
      gain = self.calibration() if calibrate else None
      post, post_args = None, ()
      if self._takes_timing(timing_gain):  # The search scores the record after the timing step.
        post = self._timing_step(timing_gain, pre_event_s)
        post_args = (jnp.asarray(timing_s[:, self._timing_order], jnp.float32), mask)
      z, s = refine_lib.latent(self.model, self.variables, z, c, scale, log_target, weights, mask,
                               max_steps=int(max_latent_steps), tol=float(tol), log10_gain=gain, post=post,
                               post_args=post_args, **statics)
      steps, x = (int(s), 0), None
    if x is None:
      x = raw(z, c, scale, timing_s)
    if refine in ("waveform", "both") and (max_waveform_steps or prescale_steps):
      matched = refine_lib.match(np.asarray(x), self.dt, self.periods_s, psa, damping=self.damping, band_s=band_s,
                                 outside_weight=outside_weight, tol=tol, prescale_steps=int(prescale_steps),
                                 max_steps=int(max_waveform_steps), smoothing=smoothing)
      x = matched.accel_ms2
      steps = (steps[0], matched.steps)
    x = np.asarray(x, np.float64)
    if baseline:
      x = intensity.baseline_correct(x, self.dt)
    x = x.astype(np.float32)
    out = np.asarray(spectra.response_spectrum(x, self.dt, self.periods_s, self.damping))
    factors = None
    if refine == "scale":
      factors = refine_lib.least_squares_scale(out, psa, weights_np)
      x = (x * factors[:, None]).astype(np.float32)
      out = (out * factors[:, None]).astype(np.float32)  # Exact: PSA(k a) = k PSA(a).
    return Generation(accel_ms2=x, dt=self.dt, periods_s=self.periods_s, target_ms2=psa, psa_ms2=out,
                      misfit=out / psa - 1.0, band_s=tuple(band_s), refine=refine, steps=steps, seed=seed,
                      temperature=temperature, scale_factors=factors, timing_names=self.timing_names,
                      timing_s=timing_s if self.timing_names else None,
                      tol=float(tol) if refine in ("latent", "waveform", "both") else None, candidates=candidates)

  def _raw(self, z, c, scale, timing_s, mask, calibrate: bool, timing_gain: float, pre_event_s: float,
           highpass_hz: float):
    """Raw records ``[N, T]`` (m/s^2; pair models ``[N, 2, T]``) of latents ``z`` under
    conditions ``c [N, C]``, waveform scales ``[N]`` (m/s^2) and timing ``[N, K]`` (s): decoded,
    calibrated, brought to the timing and high-passed as :meth:`sample` describes; no baseline."""
    x = _decode(self.model, self.variables, z, c)
    x = x * jnp.asarray(scale).reshape((-1,) + (1,) * (x.ndim - 1))
    if calibrate:
      x = self._calibrate(x)
    if self._takes_timing(timing_gain):
      x = _take_timing(self._timing_step(timing_gain, pre_event_s), jnp.asarray(x, jnp.float32),
                       jnp.asarray(timing_s[:, self._timing_order], jnp.float32), jnp.asarray(mask))
    if highpass_hz:
      x = np.asarray(x, np.float64)
      x = highpass(x.reshape((-1, x.shape[-1])), self.dt, highpass_hz).reshape(x.shape)
    return jnp.asarray(x, jnp.float32)

  def _select(self, z, c, scale, timing_s, psa: np.ndarray, weights: np.ndarray, seed: int, temperature: float,
              candidates: int, raw, baseline: bool):
    """``(z, x)`` of the best of ``candidates`` latent samples per target ``psa [N, P]``
    (m/s^2): the first is ``z``, the ``j``-th ``temperature * N(0, I)`` from
    ``fold_in(PRNGKey(seed), j)``; each is made a raw record by ``raw(z, c, scale, timing_s)``
    and scored by :func:`candidate_misfit` (of its spectrum after a baseline correction when
    ``baseline``; pairs: the geometric mean of their components' PSA against the targets
    changed to RotD50)."""
    n = psa.shape[0]
    key = jax.random.PRNGKey(seed)
    zs = jnp.concatenate([z] + [temperature * jax.random.normal(jax.random.fold_in(key, j), z.shape)
                                for j in range(1, candidates)])  # Candidate-major: row j * n + i.

    def tile(a):
      return None if a is None else np.tile(np.asarray(a), (candidates,) + (1,) * (np.ndim(a) - 1))

    xs = raw(zs, tile(c), tile(scale), tile(timing_s))
    scored = np.asarray(xs, np.float64)
    if baseline:
      scored = intensity.baseline_correct(scored.reshape((-1, scored.shape[-1])), self.dt).reshape(scored.shape)
    # Pairs: the geometric mean of the components, RotD50 within a few percent (Boore 2010).
    spectrum = spectra.geometric_mean_spectrum if self.channels == 2 else spectra.response_spectrum
    psa_got = np.asarray(spectrum(scored.astype(np.float32), self.dt, self.periods_s, self.damping))
    err = candidate_misfit(psa_got, tile(psa), weights).reshape((candidates, n))
    rows = np.argmin(err, axis=0) * n + np.arange(n)
    return zs[rows], xs[rows]

  def _prior_inputs(self, psa: np.ndarray, seed: int, timing_s, temperature: float):
    """``(timing_s [N, K] s, c [N, C], scale [N] m/s^2, z)`` for targets ``psa [N, P]`` (m/s^2,
    checked): the timing given or drawn (:meth:`draw_timing`), the condition and latents
    ``temperature * N(0, I)`` from ``PRNGKey(seed)``."""
    if psa.ndim != 2 or psa.shape[1] != self.periods_s.size:
      raise ValueError(f"psa_ms2 must be [N, {self.periods_s.size}] on the model's periods, got {psa.shape}")
    if not np.all(np.isfinite(psa)) or np.any(psa <= 0):
      raise ValueError("psa_ms2 must be finite and positive")
    n = psa.shape[0]
    if self.timing_names:
      timing_s = self.draw_timing(psa, seed) if timing_s is None else np.asarray(timing_s, np.float32)
      if timing_s.shape != (n, len(self.timing_names)):
        raise ValueError(f"timing_s must be [N, {len(self.timing_names)}] ({self.timing_names}), got {timing_s.shape}")
    c, scale = self.condition(psa, timing_s)
    z = temperature * jax.random.normal(jax.random.PRNGKey(seed),
                                        (n,) + models.latent_shape(self.config.model, self.num_samples))
    return timing_s, c, scale, z

  def rotd_factor(self, percentile: float) -> np.ndarray:
    """``[P]`` factors from a RotD``percentile`` spectrum to this pair model's own condition
    (RotD50 or RotD100): ``r ** ((model - percentile) / 50)`` with ``r`` the training pairs'
    median RotD100 / RotD50 per period (``conditions.npz``; 1 without it, and for
    single-component models)."""
    ratio = None if self.conditions is None else self.conditions.get("rotd100_over_rotd50")
    if self.channels != 2 or ratio is None:
      return np.ones(self.periods_s.size, np.float32)
    return (np.asarray(ratio, np.float64) ** ((self.model_percentile - float(percentile)) / 50.0)).astype(np.float32)

  def _decode_pairs(self, psa: np.ndarray, seed: int, percentile: float, timing_s, band_s, temperature: float = 1.0,
                    baseline: bool = True, highpass_hz: float = 0.1, timing_gain: float = 4.0,
                    pre_event_s: float = PRE_EVENT_S, calibrate: bool = True, candidates: int = 1,
                    outside_weight: float = refine_lib.OUTSIDE_WEIGHT):
    """A pair model's raw pairs ``[N, 2, T]`` (m/s^2) for RotD``percentile`` targets ``psa
    [N, P]``, the timing asked of each component ``[2N, K]`` (each pair's, twice) and the
    temperature: the steps of :meth:`sample` (latents, calibration, the timing gain of the
    pair's combined energy, high-pass, the best of ``candidates``, baseline), with both
    components alike."""
    temperature = validation.non_negative_float(temperature, "temperature")
    candidates = check_candidates(candidates)
    n = psa.shape[0]
    timing_s, c, scale, z = self._prior_inputs(psa * self.rotd_factor(percentile)[None, :], seed, timing_s, temperature)
    mask_np = spectra.band_mask(self.periods_s, band_s)
    raw = functools.partial(self._raw, mask=jnp.asarray(mask_np), calibrate=calibrate, timing_gain=timing_gain,
                            pre_event_s=pre_event_s, highpass_hz=highpass_hz)
    if candidates > 1:  # Scored against the targets as RotD50 (the components' geometric mean).
      rotd50 = psa * (self.rotd_factor(percentile) / self.rotd_factor(50.0))[None, :]
      x = self._select(z, c, scale, timing_s, rotd50, np.where(mask_np, 1.0, outside_weight), seed, temperature,
                       candidates, raw, baseline)[1]
    else:
      x = raw(z, c, scale, timing_s)
    x = np.asarray(x, np.float64).reshape((2 * n, self.num_samples))
    if baseline:
      x = intensity.baseline_correct(x, self.dt)
    both_timing = np.repeat(timing_s, 2, axis=0) if self.timing_names else None
    return x.reshape((n, 2, self.num_samples)).astype(np.float32), both_timing, temperature

  def calibration(self) -> np.ndarray | None:
    """The decoder's spectral calibration, ``[P]`` log10 gains on :attr:`periods_s`, or None
    (no table of training conditions, ``workdir/conditions.npz``).

    Decoded records (no timing gain, high-pass or baseline) of :data:`CALIBRATION_RECORDS`
    training records' spectra and timing, one latent each: minus the median over those
    records of ``log10(PSA / target)`` at each period of at least ``2 dt`` (0 below). The
    trained decoder's spectra run systematically off at some periods (about 0.09 low at
    1-4 s for the 600-event model; docs/experiments.md); :meth:`sample` removes that with
    one fixed causal filter (:meth:`_calibrate`). Estimated once per generator, on
    training data only.
    """
    if self.conditions is None or not len(self.conditions["psa"]):
      return None
    if self._calibration is None:
      table = self.conditions["psa"]
      rows = np.unique(np.linspace(0, len(table) - 1, min(CALIBRATION_RECORDS, len(table))).astype(int))
      psa = table[rows].astype(np.float32)
      c, scale = self.condition(psa, self.conditions["timing"][rows] if self.timing_names else None)
      z = jax.random.normal(jax.random.PRNGKey(CALIBRATION_SEED),
                            (rows.size,) + models.latent_shape(self.config.model, self.num_samples))
      x = np.concatenate([np.asarray(_decode(self.model, self.variables, z[i:i + 128], c[i:i + 128]))
                          for i in range(0, rows.size, 128)])
      x = x * scale.reshape((-1,) + (1,) * (x.ndim - 1))
      got = (np.asarray(spectra.response_spectrum(x, self.dt, self.periods_s, self.damping)) if self.channels == 1
             else np.asarray(refine_lib.pair_spectrum(x, self.dt, self.periods_s, self.damping, self.model_percentile)))
      bias = np.median(np.log10(np.maximum(got, conditioning.TINY) / psa), axis=0)
      self._calibration = np.where(self._own_energy, -bias, 0.0).astype(np.float32)
    return self._calibration

  def _calibrate(self, x) -> jnp.ndarray:
    """Decoded records ``x [N, T]`` (m/s^2; pairs ``[N, 2, T]``, both components alike) through
    the fixed causal filter of log10 gain :meth:`calibration` at frequency 1 / T
    (:func:`cvaegan_jax.refine.fourier_gain`); unchanged without a calibration."""
    gain = self.calibration()
    if gain is None:
      return x
    flat = jnp.asarray(x, jnp.float32).reshape((-1, np.shape(x)[-1]))
    out = refine_lib.fourier_gain(flat, jnp.asarray(gain), dt=self.dt, periods=self.periods)
    return out.reshape(np.shape(x))

  def _timing_step(self, max_gain: float, pre_event_s: float) -> "TimingStep":
    """The :class:`TimingStep` of this model with ``max_gain`` and ``pre_event_s``."""
    return TimingStep(dt=self.dt, periods=self.periods, damping=self.damping,
                      restore=tuple(bool(v) for v in self._own_energy), max_gain=float(max_gain),
                      pre_event_s=float(pre_event_s), rounds=TIMING_ROUNDS, passes=TIMING_SPECTRUM_PASSES)

  def _takes_timing(self, timing_gain: float) -> bool:
    """Whether the raw records take their asked timing (a gain above 1, and the conditions
    t5, D5-75 and D5-95)."""
    return timing_gain > 1 and set(self.timing_names) == set(refine_lib.TIMING_ORDER)

  @property
  def _timing_order(self) -> list[int]:
    """Columns of the timing conditions in :data:`cvaegan_jax.refine.TIMING_ORDER`."""
    return [self.timing_names.index(name) for name in refine_lib.TIMING_ORDER]

  def generate(self, target, num: int = 11, seed: int = 0, refine: str = "waveform",
               extrapolate: bool = False, timing: dict | None = None, candidates: int = CANDIDATES,
               **kwargs) -> Generation:
    """``num`` records for one target spectrum.

    Args:
      target: a :class:`cvaegan_jax.targets.Target` (or a spec string such as
        ``"ec8:type=1,ground=B,ag=0.3g"``, see :func:`cvaegan_jax.specs.parse`).
      num: records to generate (>= 1).
      seed: random seed (same seed, same records).
      refine: "none", "scale", "latent", "waveform" or "both" (see :meth:`sample`).
      extrapolate: allow a target that does not cover the model's periods
        (log-log extrapolation of its end segments).
      timing: asked timing, name -> s (one number, or ``[num]``), e.g. ``{"d5_95": 12.0}``;
        the rest is drawn (:meth:`complete_timing`). Models without timing conditions
        accept only None.
      candidates: latents decoded per record, the best-fitting raw one kept
        (:meth:`sample`; 1: each record the model's first sample).
      **kwargs: passed to :meth:`sample` (tol, band_s, step limits, baseline, temperature).

    Returns:
      :class:`Generation` with ``accel_ms2 [num, T]`` in m/s^2.

    Raises:
      ValueError: ``num < 1``, or a target not covering the model's periods.
    """
    if isinstance(target, str):
      target = specs.parse(target, periods_s=self.periods_s)
    if int(num) < 1:
      raise ValueError(f"num must be >= 1, got {num}")
    on_grid = target.at(self.periods_s, extrapolate=extrapolate)
    psa = np.broadcast_to(on_grid.sa_ms2.astype(np.float32), (int(num), self.periods_s.size))
    timing_s = self.complete_timing(psa, timing, seed) if (self.timing_names or timing) else None
    result = self.sample(psa, seed=seed, refine=refine, timing_s=timing_s, candidates=candidates, **kwargs)
    result.target_name = target.name
    return result

  def generate_pairs(self, target, num: int = 11, seed: int = 0, refine: str = "waveform",
                     percentile: float = 100.0, extrapolate: bool = False, timing: dict | None = None,
                     candidates: int = CANDIDATES, **kwargs) -> Generation:
    """``num`` pairs of horizontal components for one RotDnn target spectrum (ASCE 7's
    maximum-direction RotD100 by default, or the median RotD50): :meth:`sample_pairs` for
    ``target`` (a :class:`cvaegan_jax.targets.Target` or a spec string) with each pair's
    timing drawn or asked as for :meth:`generate` (``timing``, shared by both components),
    each pair the best of ``candidates`` (:meth:`sample_pairs`).

    Returns:
      :class:`Generation` with ``accel_ms2 [num, 2, T]`` (m/s^2; axis 1: H1, H2),
      ``psa_ms2`` the pairs' RotDnn and ``percentile`` set.

    Raises:
      ValueError: ``num < 1``, and the errors of :meth:`generate` and :meth:`sample_pairs`.
    """
    if isinstance(target, str):
      target = specs.parse(target, periods_s=self.periods_s)
    if int(num) < 1:
      raise ValueError(f"num must be >= 1, got {num}")
    psa = np.broadcast_to(target.at(self.periods_s, extrapolate=extrapolate).sa_ms2.astype(np.float32),
                          (int(num), self.periods_s.size))
    # Drawn from training records of similar spectra: a pair model's table holds its own RotDnn.
    timing_s = (self.complete_timing(psa * self.rotd_factor(percentile)[None, :], timing, seed)
                if (self.timing_names or timing) else None)
    result = self.sample_pairs(psa, seed=seed, refine=refine, percentile=percentile, timing_s=timing_s,
                               candidates=candidates, **kwargs)
    result.target_name = target.name
    return result

  def sample_pairs(self, psa_ms2: np.ndarray, seed: int = 0, refine: str = "waveform", percentile: float = 100.0,
                   timing_s: np.ndarray | None = None, tol: float = 0.02, band_s=(0.05, 4.0),
                   max_waveform_steps: int = 20, prescale_steps: int = refine_lib.PRESCALE_STEPS,
                   outside_weight: float = refine_lib.OUTSIDE_WEIGHT, smoothing: float = refine_lib.SMOOTHING,
                   candidates: int = 1, **kwargs) -> Generation:
    """One pair of horizontal components per row of ``psa_ms2 [N, P]`` (RotDnn targets on the
    model's periods, m/s^2).

    A pair model (``data.pairs``) decodes both components at once under the target (changed
    to the model's own RotD50 or RotD100 by the training pairs' median RotD100 / RotD50,
    :meth:`rotd_factor`) and one timing of the pair's combined energy (:meth:`_decode_pairs`).
    With a single-component model, the two components of a pair are two records of it decoded
    from independent latents under the same target spectrum and, with timing conditions,
    nearly one timing (t5, D5-75, D5-95): the first component takes ``timing_s``, the
    second the same changed as the two components of a training recording of similar
    spectrum differ (:meth:`partner_timing`), as the two components of one recording share
    the event, path and site and so nearly their arrivals and durations, while their phases
    differ (correlation near 0). Then, by ``refine``:

    * ``"none"``: the pairs as decoded; their RotD100 lies above a target the components
      were conditioned on (by about 1.2, Boore 2010), their RotD50 near it;
    * ``"scale"``: each pair times the one factor that fits its RotDnn to the target in
      least squares (both components alike: amplitude scaling, ASCE 7 §16.2.3.2);
    * ``"waveform"``: :func:`cvaegan_jax.refine.match_pairs`, the pair's RotDnn matched to the
      target (both components corrected together, exact Jacobian, phases kept).

    Args:
      psa_ms2: ``[N, P]`` RotDnn targets.
      seed: random seed (same seed, same pairs).
      refine: "none", "scale" or "waveform".
      percentile: the RotDnn the targets are, in (0, 100] (100: RotD100, 50: RotD50).
      timing_s: ``[N, K]`` each pair's timing conditions, s (default: drawn, :meth:`draw_timing`).
      tol, band_s, max_waveform_steps, prescale_steps, outside_weight, smoothing: as :meth:`sample`.
      candidates: each pair the best of that many latents, scored on its components'
        geometric-mean PSA for a pair model, each component on its own PSA for a
        single-component model (:meth:`sample`).
      **kwargs: passed to :meth:`sample` for the decoding (temperature, baseline,
        highpass_hz, timing_gain, pre_event_s).

    Returns:
      :class:`Generation` with ``accel_ms2 [N, 2, T]`` (m/s^2; axis 1: H1, H2),
      ``psa_ms2`` the pairs' RotDnn and ``percentile`` set.

    Raises:
      ValueError: ``refine`` not one of "none", "scale", "waveform", a percentile outside
        (0, 100], and the errors of :meth:`sample`.
    """
    if refine not in ("none", "scale", "waveform"):
      raise ValueError(f"refine for pairs must be 'none', 'scale' or 'waveform', got {refine!r}")
    if not 0 < float(percentile) <= 100:
      raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    psa = np.asarray(psa_ms2, np.float32)
    num = psa.shape[0]
    both_timing = None
    if self.channels == 2:
      pairs, both_timing, temperature = self._decode_pairs(psa, seed, float(percentile), timing_s, band_s,
                                                           outside_weight=outside_weight, candidates=candidates,
                                                           **kwargs)
    else:
      if self.timing_names:
        timing_s = self.draw_timing(psa, seed) if timing_s is None else np.asarray(timing_s, np.float32)
        both_timing = np.stack([timing_s, self.partner_timing(psa, timing_s, seed)], axis=1).reshape((2 * num, -1))
      both = self.sample(np.repeat(psa, 2, axis=0), seed=seed, refine="none", band_s=band_s, timing_s=both_timing,
                         outside_weight=outside_weight, candidates=candidates, **kwargs)
      pairs, temperature = both.accel_ms2.reshape((num, 2, self.num_samples)), both.temperature
    mask_np = spectra.band_mask(self.periods_s, band_s)
    weights_np = np.where(mask_np, 1.0, outside_weight)
    steps = (0, 0)
    if refine == "waveform":
      matched = refine_lib.match_pairs(pairs, self.dt, self.periods_s, psa, percentile=percentile,
                                       damping=self.damping, band_s=band_s, outside_weight=outside_weight,
                                       tol=tol, prescale_steps=int(prescale_steps), max_steps=int(max_waveform_steps),
                                       smoothing=smoothing)
      pairs, out, steps = matched.accel_ms2, matched.psa_ms2, (0, matched.steps)
    else:
      out = np.asarray(refine_lib.pair_spectrum(pairs, self.dt, self.periods_s, self.damping, float(percentile)))
    factors = None
    if refine == "scale":
      factors = refine_lib.least_squares_scale(out, psa, weights_np)
      pairs = (pairs * factors[:, None, None]).astype(np.float32)
      out = (out * factors[:, None]).astype(np.float32)  # Exact: RotDnn(k a) = k RotDnn(a).
    out = np.asarray(out, np.float32)
    return Generation(accel_ms2=np.asarray(pairs, np.float32), dt=self.dt, periods_s=self.periods_s, target_ms2=psa,
                      psa_ms2=out, misfit=out / psa - 1.0, band_s=tuple(band_s), refine=refine, steps=steps,
                      seed=seed, temperature=temperature, scale_factors=factors,
                      timing_names=self.timing_names, timing_s=both_timing,
                      tol=float(tol) if refine == "waveform" else None, percentile=float(percentile),
                      candidates=int(candidates))  # Checked by the decoding above.
