"""Batches of `knet_spectra` examples: TFDS array_record shards read by grain.

A split is opened as a random-access source (`open_split`, through
``tfds.data_source``; no TensorFlow needed). `BatchLoader` turns it into training
batches that are a pure function of ``(seed, step)``::

  source = input_pipeline.open_split(data_dir, "simulated", "train")
  loader = input_pipeline.BatchLoader(source, global_batch_size=128, seed=0,
                                      transform=my_transform, sharding=batch_sharding)
  for step, batch in loader.iterate(start_step):   # or loader.batch(step)
    state, metrics = train_step(state, batch)

Order: every epoch is a fresh permutation of the split, drawn from the seed and the
epoch; the last ``len(source) % global_batch_size`` examples of each permuted epoch
are dropped, so epoch ``e = step // steps_per_epoch`` holds ``steps_per_epoch``
full batches with no example twice. Asking for step ``k`` directly (a resumed run)
gives exactly the batch an uninterrupted run saw at step ``k``.

Built on grain's ``MapDataset`` (random access all the way down)::

  source -> shuffle(seed) -> [:steps_per_epoch * B] -> batch(B / process_count)
         -> [process_index::process_count] -> repeat()

What grain does here (grain 0.2.18, checked in ``tests/input_pipeline_test.py``):
``shuffle`` permutes within an epoch and reseeds each epoch with ``seed + epoch``
when indexed past its length, and ``slice``, ``batch`` and ``repeat`` all pass the
epoch through (``batch`` never mixes two epochs), so ``shuffle().repeat()`` is a new
permutation every epoch. ``repeat().shuffle()`` is not: it draws one permutation
over an "infinite" index range, so an epoch's worth of indices repeats some
examples and misses others. Because grain seeds epoch ``e`` with ``seed + e``, the
user's seed is first hashed (`numpy.random.SeedSequence`), so that seed 1 does not
replay seed 0 shifted by one epoch.

Multi-host: process ``p`` of ``P`` reads only rows ``[p * B/P, (p+1) * B/P)`` of
each global batch; with a ``NamedSharding`` the numeric arrays are assembled into
global ``jax.Array`` s of leading size ``B`` with
``jax.make_array_from_process_local_data``.
"""

from __future__ import annotations

import math
import queue
import threading
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import grain
import jax
import numpy as np
import tensorflow_datasets as tfds

from data_prep import build  # Also registers the knet_spectra builder with TFDS.

__all__ = [
    "open_dataset",
    "open_split",
    "text",
    "sensor_key",
    "pair_key",
    "numeric_only",
    "BatchLoader",
    "eval_batches",
]

Batch = dict[str, Any]
Transform = Callable[[Batch], Batch]


def _prepare_hint(data_dir: str, builder_config_name: str) -> str:
  """How to prepare a missing data set, as a sentence for error messages."""
  base = "knet" if builder_config_name.startswith("knet") else "simulated"
  cmd = f"python -m data_prep.build --config={base} --data_dir={data_dir}"
  if base == "knet":
    cmd += " --manual_dir=PATH_TO_NIED_FILES"
  hint = f"prepare it with `{cmd}`"
  if builder_config_name != base:
    hint += f" and the overrides that name config {builder_config_name!r} (e.g. --num_events=N --seed=S)"
  return hint


def _require_array_record(builder, data_dir: str) -> None:
  """ValueError unless the prepared shards are array_record (random access needs it)."""
  file_format = builder.info.file_format
  if file_format is not None and file_format.value != "array_record":
    raise ValueError(f"data set {builder.info.full_name} in data_dir={data_dir!r} is stored as {file_format.value}; "
                     "random access needs array_record: rebuild it in another data_dir with --file_format=array_record")


def open_split(data_dir: str, builder_config_name: str, split: str) -> Sequence[Mapping[str, Any]]:
  """Random-access source of one split of a prepared ``knet_spectra`` data set.

  Args:
    data_dir: TFDS data dir the data set was prepared in (holds ``knet_spectra/``).
    builder_config_name: builder config name, e.g. ``'simulated'``, ``'knet'`` or
      an overridden one such as ``'simulated_num_events40'`` (``data_prep.build``
      names configs with overrides that way).
    split: ``'train'``, ``'validation'``, ``'test'``, ``'ood_low'`` or ``'ood_high'``.

  Returns:
    A sequence (``len``, ``[i]``) of example dicts of numpy values: ``waveform``
    [n_samples] float32 m/s^2, ``spectrum`` / ``log10_spectrum`` [n_periods]
    float32 (PSA in m/s^2), scalars such as ``magnitude`` (Python float) and byte
    strings such as ``event_id``.

  Raises:
    FileNotFoundError: the data set is not prepared in ``data_dir`` (the message
      says how to prepare it).
    ValueError: the split does not exist, or the shards are tfrecord (random
      access needs array_record).
  """
  name = f"knet_spectra/{builder_config_name}"
  hint = _prepare_hint(data_dir, builder_config_name)
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except (ValueError, tfds.core.registered.DatasetNotFoundError) as e:
    # An overridden config name is only known from the files a build wrote.
    raise FileNotFoundError(f"data set {name} not found in data_dir={data_dir!r}: {hint}") from e
  if not builder.is_prepared():
    raise FileNotFoundError(f"data set {name} is not prepared in data_dir={data_dir!r}: {hint}")
  splits = list(builder.info.splits)
  if split not in splits:
    raise ValueError(f"data set {name} in data_dir={data_dir!r} has no split {split!r}; it has {splits}")
  _require_array_record(builder, data_dir)
  # download=False: otherwise TFDS would quietly start a build here.
  return tfds.data_source(name, data_dir=data_dir, split=split, download=False)


def open_dataset(data_config) -> dict[str, Sequence[Mapping[str, Any]]]:
  """Every split of the prepared data set a project config's ``data`` section names.

  Nothing is built here: ``python -m cvaegan_jax.main --mode=prepare`` (or ``train``, which
  prepares first) does that.

  Args:
    data_config: ``config.data`` (see ``configs/base.py``).

  Returns:
    split name -> random-access source (as :func:`open_split`).

  Raises:
    FileNotFoundError: the data set is not prepared in ``data_config.data_dir``.
    ValueError: the shards are not array_record.
  """
  builder = build.builder_from_config(data_config)
  if not builder.is_prepared():
    raise FileNotFoundError(f"data set {builder.info.full_name} is not prepared in {data_config.data_dir!r}: run "
                            "`python -m cvaegan_jax.main --config=CONFIG --workdir=WORKDIR --mode=prepare` first")
  _require_array_record(builder, data_config.data_dir)
  return builder.as_data_source()


def text(value) -> str:
  """A string field of an example (``event_id``, ``station``, ...; bytes in the shards) as ``str``."""
  return value.decode() if isinstance(value, bytes) else str(value)


def sensor_key(station: str, borehole: bool) -> str:
  """One sensor of a station: a KiK-net station's surface and borehole sensors record
  different motions, so components pair within one (``"STA/surface"``, ``"STA/borehole"``)."""
  return f"{station}/{'borehole' if borehole else 'surface'}"


def pair_key(example) -> tuple[str, str, str]:
  """``(event_id, sensor, component)`` of an example: two examples with the same event and
  sensor and different components are the two horizontal components of one recording
  (:func:`cvaegan_jax.fit.component_pairs`)."""
  return (text(example["event_id"]), sensor_key(text(example["station"]), bool(example["borehole"])),
          text(example["component"]))


def _is_numeric(x: Any) -> bool:
  dtype = getattr(x, "dtype", None)
  return dtype is not None and (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_))


def numeric_only(batch: Batch) -> Batch:
  """The default transform: keeps numeric and boolean arrays, drops strings.

  Args:
    batch: dict of numpy arrays with a leading batch axis.

  Returns:
    The same dict without byte-string / object arrays (``event_id``, ``station``,
    ...), which JAX arrays cannot hold.
  """
  return {k: v for k, v in batch.items() if _is_numeric(v)}


def _collate_fn(source: Any) -> Callable[[Sequence[Mapping[str, Any]]], Batch]:
  """Example dicts -> dict of stacked numpy arrays, in the data set's dtypes.

  TFDS decodes scalar float32 features as Python floats; with the source's
  feature spec (``source.dataset_info``) they are stacked back as float32, and
  text as object arrays of bytes. Without a spec, ``np.asarray`` decides.
  """
  dtypes = {}
  info = getattr(source, "dataset_info", None)
  if info is not None:
    try:
      dtypes = {k: np.dtype(f.np_dtype) for k, f in info.features.items()}
    except (AttributeError, TypeError):
      dtypes = {}

  def collate(examples: Sequence[Mapping[str, Any]]) -> Batch:
    return {k: np.asarray([ex[k] for ex in examples], dtype=dtypes.get(k)) for k in examples[0]}

  return collate


def _grain_seed(seed: int) -> int:
  """A 32-bit shuffle seed hashed from ``seed`` (grain seeds epoch e with seed + e)."""
  return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint32)[0])


def _batch_shards(sharding: jax.sharding.NamedSharding) -> int:
  """How many pieces ``sharding`` cuts the batch axis into."""
  spec = sharding.spec
  first = spec[0] if len(spec) else None
  names = (first,) if isinstance(first, str) else tuple(first or ())
  return math.prod(sharding.mesh.shape[n] for n in names)


class BatchLoader:
  """Training batches as a pure function of ``(seed, step)``, sharded over hosts.

  Attributes:
    global_batch_size: examples per step over all processes, ``B``.
    local_batch_size: ``B / process_count``, rows this process reads.
    steps_per_epoch: ``len(source) // B`` (the remainder of each epoch is dropped).
    num_examples: ``len(source)``.
  """

  def __init__(self, source: Sequence[Mapping[str, Any]], global_batch_size: int, seed: int,
               transform: Optional[Transform] = None, sharding: Optional[jax.sharding.NamedSharding] = None,
               process_index: Optional[int] = None, process_count: Optional[int] = None, prefetch: int = 2):
    """Builds the grain pipeline; reads nothing yet.

    Args:
      source: random-access source of example dicts (`open_split`, or any
        sequence of dicts of numpy values / scalars).
      global_batch_size: examples per step summed over processes, ``B``.
      seed: data-order seed (any non-negative int).
      transform: numpy batch dict -> numpy batch dict, applied to this process's
        rows (leading axis ``B / process_count``) before any device transfer;
        defaults to `numeric_only`.
      sharding: a ``NamedSharding`` that splits the batch axis, e.g.
        ``NamedSharding(mesh, P('data'))`` over a 1-D ``('data',)`` mesh. Then
        numeric arrays come back as global ``jax.Array`` s of leading size ``B``;
        without it, as numpy arrays of this process's rows.
      process_index: this process, default ``jax.process_index()``.
      process_count: number of processes, default ``jax.process_count()``.
        Passing both simulates multi-host reading (tests) when ``sharding`` is None.
      prefetch: batches `iterate` prepares ahead in a background thread.

    Raises:
      ValueError: ``B`` not positive, not divisible by ``process_count`` or by
        the number of batch shards of ``sharding``, or larger than the split; a
        process index out of range; a negative seed.
    """
    self._source = source
    self.num_examples = len(source)
    self.global_batch_size = int(global_batch_size)
    self.seed = int(seed)
    self._transform = numeric_only if transform is None else transform
    self._sharding = sharding
    self.process_index = jax.process_index() if process_index is None else int(process_index)
    self.process_count = jax.process_count() if process_count is None else int(process_count)
    self._prefetch = max(1, int(prefetch))
    self._check()
    self.local_batch_size = self.global_batch_size // self.process_count
    self.steps_per_epoch = self.num_examples // self.global_batch_size

    ds = grain.MapDataset.source(source).shuffle(seed=_grain_seed(self.seed))
    ds = ds[:self.steps_per_epoch * self.global_batch_size]  # drop each epoch's remainder
    ds = ds.batch(self.local_batch_size, drop_remainder=True, batch_fn=_collate_fn(source))
    ds = ds[self.process_index::self.process_count]  # this process's rows of each global batch
    self._batches = ds.repeat()

  def _check(self):
    b, n, pc = self.global_batch_size, self.num_examples, self.process_count
    if self.seed < 0:
      raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
    if b <= 0:
      raise ValueError(f"global_batch_size must be positive, got {b}")
    if b > n:
      raise ValueError(f"global_batch_size {b} is larger than the split ({n} examples); "
                       f"use a batch of at most {n} or a larger data set")
    if pc <= 0 or not 0 <= self.process_index < pc:
      raise ValueError(f"process_index {self.process_index} is not in [0, process_count={pc})")
    if b % pc:
      raise ValueError(f"global_batch_size {b} is not divisible by process_count {pc}")
    if self._sharding is not None:
      shards = _batch_shards(self._sharding)
      if b % shards:
        raise ValueError(f"global_batch_size {b} is not divisible by the {shards} shards of the batch axis "
                         f"of {self._sharding}")
      if pc != jax.process_count():
        raise ValueError(f"process_count {pc} differs from jax.process_count() {jax.process_count()}; "
                         "simulated processes only work with sharding=None")

  def epoch(self, step: int) -> int:
    """The epoch that ``step`` belongs to (``step // steps_per_epoch``)."""
    return step // self.steps_per_epoch

  def host_batch(self, step: int) -> Batch:
    """This process's rows of the batch of ``step``, transformed, as numpy.

    Args:
      step: training step, >= 0.

    Returns:
      ``transform(batch)``: by default ``waveform`` [B/P, n_samples] float32 m/s^2,
      ``spectrum``/``log10_spectrum`` [B/P, n_periods] float32, scalars [B/P].
    """
    if step < 0:
      raise ValueError(f"step must be >= 0, got {step}")
    return self._transform(self._batches[int(step)])

  def batch(self, step: int) -> Batch:
    """The batch of training step ``step`` (a pure function of seed and step).

    Args:
      step: training step, >= 0; its epoch is ``step // steps_per_epoch``.

    Returns:
      dict of arrays. With ``sharding``: numeric arrays are global ``jax.Array`` s
      of shape ``[B, ...]`` split over the batch axis, and anything non-numeric
      the transform kept stays a numpy array of this process's rows. Without:
      numpy arrays of this process's ``B / process_count`` rows.
    """
    local = self.host_batch(step)
    if self._sharding is None:
      return local
    out = {}
    for k, v in local.items():
      if _is_numeric(v):
        v = np.asarray(v)
        global_shape = (v.shape[0] * self.process_count,) + v.shape[1:]
        out[k] = jax.make_array_from_process_local_data(self._sharding, v, global_shape)
      else:
        out[k] = v
    return out

  def iterate(self, start_step: int = 0) -> Iterator[tuple[int, Batch]]:
    """Yields ``(step, batch(step))`` for ``step = start_step, start_step + 1, ...`` forever.

    A background thread prepares the next ``prefetch`` batches (reading,
    transform and device transfer); an error there is raised here. Closing the
    generator (``break`` then garbage collection, or ``.close()``) stops it.
    """
    q: queue.Queue = queue.Queue(maxsize=self._prefetch)
    stop = threading.Event()

    def produce():
      step = start_step
      while not stop.is_set():
        try:
          item = (step, self.batch(step), None)
        except Exception as e:  # pylint: disable=broad-except
          item = (step, None, e)
        while not stop.is_set():
          try:
            q.put(item, timeout=0.1)
            break
          except queue.Full:
            pass
        if item[2] is not None:
          return
        step += 1

    thread = threading.Thread(target=produce, name="BatchLoader.prefetch", daemon=True)
    thread.start()
    try:
      while True:
        step, batch, error = q.get()
        if error is not None:
          raise error
        yield step, batch
    finally:
      stop.set()
      thread.join(timeout=5.0)

  def __iter__(self) -> Iterator[tuple[int, Batch]]:
    """``iterate(0)``: every step from the start, forever."""
    return self.iterate(0)


def eval_batches(source: Sequence[Mapping[str, Any]], batch_size: int,
                 transform: Optional[Transform] = None) -> Iterator[Batch]:
  """Yields numpy batches over the whole split once, in order, for evaluation.

  Args:
    source: random-access source of example dicts (`open_split`).
    batch_size: examples per batch; the last batch holds the
      ``len(source) % batch_size`` remaining examples if that is not zero.
    transform: numpy batch dict -> numpy batch dict; defaults to `numeric_only`.

  Yields:
    ``transform(batch)`` with leading axis ``batch_size`` (the last one possibly
    smaller): by default ``waveform`` [b, n_samples] float32 m/s^2, spectra
    [b, n_periods] float32, scalars [b].

  Raises:
    ValueError: ``batch_size`` is not positive.
  """
  if batch_size <= 0:
    raise ValueError(f"batch_size must be positive, got {batch_size}")
  transform = numeric_only if transform is None else transform
  ds = grain.MapDataset.source(source).batch(int(batch_size), drop_remainder=False, batch_fn=_collate_fn(source))
  for i in range(len(ds)):
    yield transform(ds[i])
