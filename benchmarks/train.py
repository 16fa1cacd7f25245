"""Training-step throughput of the paper, base and quickstart configs, against the machine's matmul peak.

Run:
  python benchmarks/train.py                       # paper and base, batch 128, 3 timed steps
  python benchmarks/train.py --configs=paper --peer=keras --steps=7  # against the authors' Keras step
  python benchmarks/train.py --configs=quickstart  # the CPU config, at its own batch (32)
  python benchmarks/train.py --configs=base --batch_size=64 --steps=5

For each config: compile time of the jitted train step, seconds per step, steps/s and
examples/s (median of --steps timed steps on synthetic batches of the right shapes), XLA's
FLOP count per example (cost analysis of the compiled step: critic updates, gradient
penalty, generator update, spectral loss), the implied FLOP/s as a fraction of a dense
float32 matmul measured in the same run, the compiled step's temporary memory and the
process's peak resident memory.

With ``--peer=keras`` (the ``tf`` extra) the same step written in Keras as the authors' script is
(``benchmarks/keras_peer.py``: same layers, losses, 2 critic updates with gradient penalty, under
``tf.function``) runs in the same process at the first config's batch size; the timed steps
alternate, ours then Keras', so that machine noise hits both, and the last line prints both
medians and the ratio of examples/s (ours / Keras).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from configs import base, paper, quickstart  # noqa: E402
from cvaegan_jax import train, train_state  # noqa: E402


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
  """Dense float32 matmul FLOP/s on this machine (best of ``repeats``)."""
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(repeats))
  return 2 * n**3 / best


def _timed(fn) -> float:
  t0 = time.perf_counter()
  fn()
  return time.perf_counter() - t0


def measure(name: str, cfg, batch_size: int, steps: int, peak: float, peer=None) -> None:
  """Compiles and times one config's train step; prints one line (see the module docstring).

  ``peer``: a callable running one step of another framework, timed after each of ours; its
  median s/step and the ratio are printed on a second line.
  """
  cfg.training.batch_size = batch_size
  static = train_state.make_static(cfg)
  p = cfg.data.num_periods
  k = len(cfg.model.timing_conditions)
  stats = {"mean": np.zeros(p + k, np.float32), "std": np.ones(p + k, np.float32)}
  mesh = train.make_mesh()
  state = jax.device_put(train_state.create(static, stats, 0), NamedSharding(mesh, P()))
  rng = np.random.default_rng(0)
  t = cfg.data.num_samples
  batch = {"x": rng.standard_normal((batch_size, t, 1)).astype(np.float32) * 0.3,
           "c": rng.standard_normal((batch_size, p + k)).astype(np.float32),
           "timing": rng.uniform(1.0, 20.0, (batch_size, k)).astype(np.float32),  # s.
           "log_psa": rng.standard_normal((batch_size, p)).astype(np.float32) * 0.3,
           "scale": rng.uniform(0.01, 3.0, batch_size).astype(np.float32)}  # PSA(0.01 s), m/s^2.
  batch = jax.device_put(batch, NamedSharding(mesh, P("data")))
  p_train, _ = train.compile_steps(static, mesh)
  t0 = time.perf_counter()
  compiled = p_train.lower(state, batch).compile()
  compile_s = time.perf_counter() - t0
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get("flops", float("nan")))
  mem = compiled.memory_analysis()
  temp_gb = getattr(mem, "temp_size_in_bytes", float("nan")) / 1e9
  state, m = p_train(state, batch)  # warm-up (also checks the step runs)
  jax.block_until_ready(m)
  if peer is not None:
    peer()  # Its warm-up (tracing) step.
  times, peer_times = [], []
  for _ in range(steps):
    if peer is not None:
      time.sleep(1.0)  # The other framework's worker threads spin for a while after a step.
    t0 = time.perf_counter()
    state, m = p_train(state, batch)
    jax.block_until_ready(m)
    times.append(time.perf_counter() - t0)
    if peer is not None:
      time.sleep(1.0)
      peer_times.append(_timed(peer))
  sec = float(np.median(times))
  gen_params = sum(x.size for x in jax.tree.leaves(state.gen_params))
  rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
  print(f"{name:<10} batch {batch_size}: compile {compile_s:6.1f} s | {sec:7.3f} s/step  {1 / sec:6.3f} steps/s  "
        f"{batch_size / sec:7.1f} examples/s | {flops / batch_size / 1e9:6.2f} GFLOP/example  "
        f"{flops / sec / 1e9:7.1f} GFLOP/s = {flops / sec / peak:5.1%} of matmul peak | "
        f"temp {temp_gb:5.2f} GB, peak RSS {rss_gb:5.2f} GB | generator {gen_params / 1e6:.2f} M params")
  if peer is not None:
    peer_sec = float(np.median(peer_times))
    print(f"{'keras':<10} batch {batch_size}: {peer_sec:7.3f} s/step  {batch_size / peer_sec:7.1f} examples/s "
          f"(alternating steps; ours {', '.join(f'{t:.2f}' for t in times)} s, Keras "
          f"{', '.join(f'{t:.2f}' for t in peer_times)} s) | ours / Keras: {peer_sec / sec:.2f}x the examples/s")


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--configs", default="paper,base")
  ap.add_argument("--batch_size", type=int, default=None, help="default: each config's own")
  ap.add_argument("--steps", type=int, default=3)
  ap.add_argument("--peer", choices=("keras",), default=None,
                  help="also time the authors' step in Keras, alternating with the first config's")
  args = ap.parse_args()
  peak = matmul_peak()
  print(f"jax {jax.__version__}, {jax.device_count()} x {jax.devices()[0].device_kind}; "
        f"float32 matmul peak {peak / 1e9:.1f} GFLOP/s (2048^2, same run)")
  for i, name in enumerate(args.configs.split(",")):
    cfg = {"paper": paper, "base": base, "quickstart": quickstart}[name].get_config()
    batch_size = args.batch_size or cfg.training.batch_size
    peer = None
    if args.peer == "keras" and i == 0:
      import keras_peer  # noqa: PLC0415 (TensorFlow only when asked for)
      peer, n_params = keras_peer.make_step(batch_size, cfg.data.num_samples, cfg.data.num_periods,
                                            cfg.model.latent_dim)
      print(f"keras peer: the paper's layers, {n_params / 1e6:.2f} M trainable params, tf.function")
    measure(name, cfg, batch_size, args.steps, peak, peer)


if __name__ == "__main__":
  main()
