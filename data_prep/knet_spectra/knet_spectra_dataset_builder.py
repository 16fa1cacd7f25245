"""TFDS builder: K-NET/KiK-net (or simulated) windows with their response spectra.

Build (array_record shards, no TensorFlow needed):
  python -m data_prep.build --config=simulated --data_dir=~/tensorflow_datasets
  python -m data_prep.build --config=knet --manual_dir=/path/to/nied --data_dir=...
With the `tf` extra, the TFDS command line works too:
  tfds build data_prep/knet_spectra --config=knet --manual_dir=... --file_format=tfrecord

Configs: `simulated` writes its own raw K-NET files with `data_prep.simulate`, then
reads them back like a real archive; `knet` reads the manual dir (files, folders or
NIED `.tar.gz` archives). With `--pairs` each example is one sensor's EW and NS windows
(same pick, same window) as ``waveform [2, n]``, with ``spectrum`` their RotD50 and
``rotd100_spectrum`` their RotD100 (``component_spectra [2, P]``: each one's PSA). Splits are by event: `train`/`validation`/`test` hold
events with 4.5 <= M <= 7.5, `ood_low` M < 4.5 and `ood_high` M > 7.5.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import tensorflow_datasets as tfds

from cvaegan_jax import spectra
from data_prep import pickers, pipeline, processing, simulate

_DESCRIPTION = """
Strong-motion windows (one component per example; with the `pairs` field, the two
horizontals of one sensor) starting a fixed time before the P onset, processed (baseline,
taper, zero-phase band-pass, resampling) and QC-checked, with their 5%-damped
pseudo-spectral accelerations (pairs: RotD50 and RotD100). Made for training spectrum-conditioned
generators of accelerograms (Hu et al. 2026, Engineering Structures 348, 121766).
"""

_CITATION = """
@misc{nied_knet_kiknet,
  author = {{National Research Institute for Earth Science and Disaster Resilience}},
  title = {NIED K-NET, KiK-net},
  year = {2019},
  doi = {10.17598/NIED.0004}
}
"""


@dataclasses.dataclass(eq=False)
class KnetSpectraConfig(tfds.core.BuilderConfig):
  """Builder config; every processing choice is a field (defaults in README)."""
  source: str = "simulated"  # 'simulated' (writes its own raw files) or 'knet' (manual dir).
  num_events: int = 120  # Simulated events (magnitudes 3.5-8.0, several stations each).
  seed: int = 0  # Simulation and split seed.
  components: tuple = ("EW", "NS")  # Components kept as examples (the paper: one horizontal).
  pairs: bool = False  # Examples are the two horizontals of one sensor: [2, n] waveforms, RotD50/RotD100 spectra.
  keep_borehole: bool = False  # Keep KiK-net borehole sensors (.EW1/.NS1/.UD1).
  picker: str = "aic"  # 'aic', 'picks_file' or 'phasenet' (see data_prep.picking).
  picker_path: str = ""  # Picks CSV (picks_file) or PhaseNet weights folder (phasenet).
  processing: processing.ProcessingConfig = processing.ProcessingConfig()
  t_min_s: float = 0.01  # Shortest period of the spectra, s.
  t_max_s: float = 10.0  # Longest period, s.
  num_periods: int = 100  # Log-spaced periods.
  damping: float = 0.05  # Ratio of critical damping of the spectra.
  split_fractions: tuple = (0.8, 0.1, 0.1)  # train/validation/test share of in-range events.
  min_magnitude: float = 4.5  # Below: ood_low.
  max_magnitude: float = 7.5  # Above: ood_high.

  def periods(self) -> np.ndarray:
    return spectra.log_periods(self.t_min_s, self.t_max_s, self.num_periods)


class Builder(tfds.core.GeneratorBasedBuilder):
  """knet_spectra: windows at the P onset and their response spectra."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  BUILDER_CONFIGS = [
      KnetSpectraConfig(name="simulated", description="Stochastic simulation written as K-NET files."),
      KnetSpectraConfig(name="knet", source="knet", description="A K-NET/KiK-net archive in the manual dir."),
  ]
  DEFAULT_CONFIG_NAME = "simulated"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put K-NET/KiK-net ASCII files (.EW/.NS/.UD, .EW1/.NS2/...), folders of them, or the
  .tar.gz archives NIED distributes (https://www.kyoshin.bosai.go.jp, free registration;
  cite doi:10.17598/NIED.0004) in the manual dir and pass --manual_dir=THAT_DIR.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    c = self.builder_config
    n, p = c.processing.num_samples, c.num_periods
    f32 = np.float32
    if c.pairs:
      _check_pair_components(c.components)
      waves = {
          "waveform": tfds.features.Tensor(shape=(2, n), dtype=f32, doc=f"windows of {'/'.join(c.components)}, m/s^2"),
          "spectrum": tfds.features.Tensor(shape=(p,), dtype=f32, doc="RotD50 PSA, m/s^2"),
          "log10_spectrum": tfds.features.Tensor(shape=(p,), dtype=f32, doc="log10 RotD50 PSA in m/s^2"),
          "rotd100_spectrum": tfds.features.Tensor(shape=(p,), dtype=f32, doc="RotD100 PSA, m/s^2"),
          "component_spectra": tfds.features.Tensor(shape=(2, p), dtype=f32, doc="each component's PSA, m/s^2"),
      }
    else:
      waves = {
          "waveform": tfds.features.Tensor(shape=(n,), dtype=f32, doc="window, m/s^2"),
          "spectrum": tfds.features.Tensor(shape=(p,), dtype=f32, doc="PSA, m/s^2"),
          "log10_spectrum": tfds.features.Tensor(shape=(p,), dtype=f32, doc="log10 PSA in m/s^2"),
      }
    features = tfds.features.FeaturesDict({
        **waves,
        "event_id": tfds.features.Text(),
        "station": tfds.features.Text(),
        "component": tfds.features.Text(),
        "network": tfds.features.Text(),
        "borehole": np.bool_,
        "magnitude": f32,
        "dist_km": f32,
        "depth_km": f32,
        "event_lat": f32,
        "event_lon": f32,
        "station_lat": f32,
        "station_lon": f32,
        "station_height_m": f32,
        "pga_ms2": f32,
        "snr": f32,
        "pick_offset_s": f32,
        "pick_time_utc": tfds.features.Text(),
        "origin_time_utc": tfds.features.Text(),
        "sampling_rate_hz": f32,
        "source_file": tfds.features.Text(),
    })
    meta = tfds.core.MetadataDict(periods_s=[float(t) for t in c.periods()], damping=c.damping,
                                  sampling_rate_hz=c.processing.sampling_rate_hz)
    return self.dataset_info_from_configs(description=_DESCRIPTION, features=features, citation=_CITATION,
                                          metadata=meta, homepage="https://doi.org/10.17598/NIED.0004")

  def _download_and_prepare(self, dl_manager, download_config):
    # Beam is used when the caller asks for it (a runner or options), as with
    # `tfds build --beam_pipeline_options=...`; otherwise a plain Python generator.
    self._use_beam = download_config.beam_runner is not None or download_config.beam_options is not None
    return super()._download_and_prepare(dl_manager, download_config)

  def _split_generators(self, dl_manager):
    c = self.builder_config
    if c.source == "simulated":
      raw_dir = os.path.join(os.fspath(dl_manager.download_dir), f"simulated_raw_n{c.num_events}_seed{c.seed}")
      if not os.path.exists(os.path.join(raw_dir, "onsets.csv")):
        simulate.simulate_dataset(raw_dir, c.num_events, c.seed)
      inputs = [raw_dir]
    elif c.source == "knet":
      inputs = [os.fspath(dl_manager.manual_dir)]
    else:
      raise ValueError(f"KnetSpectraConfig.source must be 'simulated' or 'knet', got {c.source!r}")
    groups, problems = pipeline.discover(inputs)
    headers, unreadable = pipeline.read_headers(groups)
    magnitudes, disagree = pipeline.event_magnitudes(headers)
    for d in disagree:
      logging.warning("knet_spectra: the stations of event %s disagree on its magnitude %s; M%g used",
                      d["event_id"], d["headers"], d["magnitude"])
    split_of = pipeline.assign_splits(magnitudes, c.seed, c.split_fractions, c.min_magnitude, c.max_magnitude)
    by_split = {s: [] for s in pipeline.SPLITS}
    for g in groups:
      if g.key in headers:
        by_split[split_of[headers[g.key][0]]].append(g)
    self._qc = pipeline.QcCollector(problems + unreadable, disagree)
    if getattr(self, "_use_beam", False):
      # TFDS refuses a Beam split that yields nothing. A small split (few stations: one
      # event can be a split of its own) is checked here first, up to its first good station.
      maker, out = _ExampleMaker(c, inputs), {}
      for s, gs in by_split.items():
        if gs and len(gs) <= _BEAM_PRECHECK_STATIONS and not any(maker(g)[0] for g in gs):
          logging.warning("knet_spectra: every record of split %r was skipped; the split is left out", s)
        elif gs:
          out[s] = _beam_examples(s, gs, c, inputs)
      return out
    # Every station is processed before anything is written (the examples are held in
    # memory; a data set larger than memory takes the Beam path), so that a split whose
    # records were all skipped is left out instead of failing the build, and a record met
    # twice (an archive beside its own unpacked files) is kept once.
    examples = self._process(by_split, inputs)
    self._qc.write(self.data_dir, c)
    return {s: self._generate_examples(ex) for s, ex in examples.items() if ex}

  def _generate_examples(self, examples):
    """The (key, example) pairs :meth:`_process` made for one split."""
    yield from examples

  def _process(self, by_split, roots) -> dict:
    """{split: [(key, example)]} of every group, QC counted; empty and duplicate-free."""
    from tqdm import tqdm

    make = _ExampleMaker(self.builder_config, roots)
    seen, out = {}, {}
    for split, groups in by_split.items():
      out[split], skipped_here = [], []
      for g in tqdm(groups, desc=f"{split}", unit="station"):
        examples, windows, skipped = make(g)
        fresh = []
        for (key, ex), win in zip(examples, windows):
          if key in seen:
            skipped.append((ex["source_file"], f"duplicate: the same record as {seen[key]}"))
          else:
            seen[key] = ex["source_file"]
            fresh.append(((key, ex), win))
        self._qc.add(split, [w for _, w in fresh], skipped)
        skipped_here += skipped
        out[split] += [e for e, _ in fresh]
      if groups and not out[split]:
        logging.warning("knet_spectra: every record of split %r was skipped (%s); the split is left out",
                        split, pipeline.count_reasons(skipped_here))
      elif groups:
        logging.info("split %s done: %s", split, self._qc.summary_line(split))
    return out


class _ExampleMaker:
  """Group -> (examples, windows, skipped); picklable, so Beam workers can run it."""

  def __init__(self, config: KnetSpectraConfig, roots):
    self.config = config
    self.roots = list(roots)
    self._picker = None

  def __call__(self, group):
    c = self.config
    if self._picker is None:
      path_arg = {"picks_file": "path", "phasenet": "weights_path"}.get(c.picker)
      kwargs = {path_arg: c.picker_path} if path_arg and c.picker_path else {}
      self._picker = pickers.make_picker(c.picker, **kwargs)
    recs, bad = pipeline.read_group(group)
    keep = lambda r: r.component in c.components and (c.keep_borehole or not r.borehole)
    windows, skipped = pipeline.process_group(recs, self._picker, c.processing, keep)
    if c.pairs:
      return self._pairs(windows, skipped, bad)
    examples = []
    if windows:
      batch = np.stack([w.accel_ms2 for _, w, _ in windows]).astype(np.float32)
      psa = np.asarray(spectra.response_spectrum(batch, 1.0 / c.processing.sampling_rate_hz, c.periods(), c.damping))
      for (r, w, pick), sa in zip(windows, psa):
        key = f"{r.event_id}/{r.station}/{r.component}/{'borehole' if r.borehole else 'surface'}"
        examples.append((key, pipeline.example_dict(r, w, pick, sa, pipeline.relative_source(r.path, self.roots))))
    return examples, windows, bad + skipped

  def _pairs(self, windows, skipped, bad):
    """(pair examples, the first component's window of each, skipped): the two horizontals of
    each sensor as one example; a component whose partner was skipped or is missing is
    skipped as ``no_pair``."""
    c = self.config
    by_sensor = {}
    for item in windows:
      by_sensor.setdefault(item[0].borehole, {})[item[0].component] = item
    pairs = []
    for borehole, comps in sorted(by_sensor.items()):
      if all(k in comps for k in c.components):
        pairs.append([comps[k] for k in c.components])
      else:
        skipped = skipped + [(r.path, f"no_pair: the sensor's other horizontal ({', '.join(k for k in c.components if k not in comps)}) was not kept")
                             for r, _, _ in comps.values()]
    if not pairs:
      return [], [], bad + skipped
    batch = np.stack([[w.accel_ms2 for _, w, _ in pair] for pair in pairs]).astype(np.float32)  # [K, 2, n]
    dt, periods = 1.0 / c.processing.sampling_rate_hz, c.periods()
    rotd50 = np.asarray(spectra.rotd_spectrum(batch, dt, periods, c.damping, percentiles=(50.0,)))[:, 0]
    rotd100 = np.asarray(spectra.max_direction_spectrum(batch, dt, periods, c.damping))
    own = np.asarray(spectra.response_spectrum(batch, dt, periods, c.damping))  # [K, 2, P]
    examples = []
    for pair, accel, sa50, sa100, sa in zip(pairs, batch, rotd50, rotd100, own):
      (r, w, pick), (_, w2, _) = pair
      key = f"{r.event_id}/{r.station}/{'+'.join(c.components)}/{'borehole' if r.borehole else 'surface'}"
      ex = pipeline.example_dict(r, w, pick, sa50, pipeline.relative_source(r.path, self.roots))
      ex.update(waveform=accel, rotd100_spectrum=np.asarray(sa100, np.float32), component="+".join(c.components),
                component_spectra=np.asarray(sa, np.float32),
                pga_ms2=max(w.pga_ms2, w2.pga_ms2), snr=min(w.snr, w2.snr, 1e6))
      examples.append((key, ex))
    return examples, [pair[0] for pair in pairs], bad + skipped

  def __getstate__(self):
    return {"config": self.config, "roots": self.roots, "_picker": None}


def _check_pair_components(components) -> None:
  """ValueError unless ``components`` names two horizontals (the pair's channel order)."""
  if len(components) != 2 or not set(components) <= {"EW", "NS"} or components[0] == components[1]:
    raise ValueError(f"knet_spectra pairs need components = two horizontals such as ('EW', 'NS'), got {components!r}")


_BEAM_PRECHECK_STATIONS = 64  # Beam splits of at most this many stations are checked for a kept record.


def _beam_examples(split, groups, config, roots):
  """The Beam version of `_process`: skips are counted as Beam metrics, and a record met
  twice is kept once (the copy whose source name sorts first)."""
  import apache_beam as beam

  maker = _ExampleMaker(config, roots)

  def run(group):
    examples, _, skipped = maker(group)
    for _, reason in skipped:
      beam.metrics.Metrics.counter("knet_spectra", f"skipped_{pipeline.reason_key(reason)}").inc()
    beam.metrics.Metrics.counter("knet_spectra", "kept").inc(len(examples))
    return examples

  def first(keyed):
    key, copies = keyed
    copies = sorted(copies, key=lambda ex: ex["source_file"])
    if len(copies) > 1:
      beam.metrics.Metrics.counter("knet_spectra", "skipped_duplicate").inc(len(copies) - 1)
    return key, copies[0]

  return (f"{split}_groups" >> beam.Create(list(groups)) | f"{split}_process" >> beam.FlatMap(run)
          | f"{split}_by_key" >> beam.GroupByKey() | f"{split}_once" >> beam.Map(first))
