"""Training-step throughput of the paper, base and quickstart configs, against the machine's matmul peak.

Run:
  python benchmarks/train.py                       # paper and base, batch 128, 3 timed steps
  python benchmarks/train.py --configs=quickstart  # the CPU config, at its own batch (32)
  python benchmarks/train.py --configs=base --batch_size=64 --steps=5

For each config: compile time of the jitted train step, seconds per step, steps/s and
examples/s (median of --steps timed steps on synthetic batches of the right shapes), XLA's
FLOP count per example (cost analysis of the compiled step: critic updates, gradient
penalty, generator update, spectral loss), the implied FLOP/s as a fraction of a dense
float32 matmul measured in the same run, the compiled step's temporary memory and the
process's peak resident memory.
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


def measure(name: str, cfg, batch_size: int, steps: int, peak: float) -> None:
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
  times = []
  for _ in range(steps):
    t0 = time.perf_counter()
    state, m = p_train(state, batch)
    jax.block_until_ready(m)
    times.append(time.perf_counter() - t0)
  sec = float(np.median(times))
  gen_params = sum(x.size for x in jax.tree.leaves(state.gen_params))
  rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
  print(f"{name:<10} batch {batch_size}: compile {compile_s:6.1f} s | {sec:7.3f} s/step  {1 / sec:6.3f} steps/s  "
        f"{batch_size / sec:7.1f} examples/s | {flops / batch_size / 1e9:6.2f} GFLOP/example  "
        f"{flops / sec / 1e9:7.1f} GFLOP/s = {flops / sec / peak:5.1%} of matmul peak | "
        f"temp {temp_gb:5.2f} GB, peak RSS {rss_gb:5.2f} GB | generator {gen_params / 1e6:.2f} M params")


def main():
  ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("--configs", default="paper,base")
  ap.add_argument("--batch_size", type=int, default=None, help="default: each config's own")
  ap.add_argument("--steps", type=int, default=3)
  args = ap.parse_args()
  peak = matmul_peak()
  print(f"jax {jax.__version__}, {jax.device_count()} x {jax.devices()[0].device_kind}; "
        f"float32 matmul peak {peak / 1e9:.1f} GFLOP/s (2048^2, same run)")
  for name in args.configs.split(","):
    cfg = {"paper": paper, "base": base, "quickstart": quickstart}[name].get_config()
    measure(name, cfg, args.batch_size or cfg.training.batch_size, args.steps, peak)


if __name__ == "__main__":
  main()
