"""Orbax checkpoints of the train state, and the guard against mixing configs.

Checkpoints live in ``WORKDIR/checkpoints/<step>``; ``WORKDIR/config.json`` records the
config that wrote them, so a run (or a generator) never loads parameters of another shape
or meaning.
"""

from __future__ import annotations

import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

__all__ = ["make_manager", "save", "restore_latest", "check_config", "load_config", "CONFIG_FILE", "CONDITIONS_FILE",
           "CHECKPOINT_DIR", "ConfigMismatchError"]

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
CONDITIONS_FILE = "conditions.npz"  # The training set's spectra and timing measures (generation draws from them).
# Fields whose change makes old parameters meaningless (shapes or input units).
_BINDING = ("model", "data.num_periods", "data.t_min_s", "data.t_max_s", "data.num_samples",
            "data.sampling_rate_hz", "data.damping")

class ConfigMismatchError(ValueError):
  """A workdir's checkpoints were written by a different config."""


def make_manager(workdir: str, keep: int, async_save: bool = True) -> ocp.CheckpointManager:
  """A CheckpointManager keeping the last ``keep`` checkpoints in ``WORKDIR/checkpoints``."""
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=async_save, create=True)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, CHECKPOINT_DIR)), options=options)


def save(manager: ocp.CheckpointManager, step: int, state) -> None:
  """Save ``state`` at ``step`` (asynchronously when the manager is async)."""
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


def restore_latest(manager: ocp.CheckpointManager, like):
  """The latest checkpoint restored with the structure, dtypes and shardings of ``like`` (arrays
  or ``jax.ShapeDtypeStruct`` leaves, e.g. ``train_state.abstract``; leaves without a sharding
  go to the first device); None if there is none."""
  step = manager.latest_step()
  if step is None:
    return None
  default = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype,
                                                         sharding=getattr(x, "sharding", None) or default), like)
  return manager.restore(step, args=ocp.args.StandardRestore(abstract))


def _binding_fields(config) -> dict:
  cfg = ml_collections.ConfigDict(config).to_dict()
  out = {}
  for name in _BINDING:
    node = cfg
    for part in name.split("."):
      node = node.get(part) if isinstance(node, dict) else None
    out[name] = node
  if cfg.get("data", {}).get("pairs"):  # Pair models only: single-component workdirs keep their binding.
    out["data.pairs"], out["data.pair_spectrum"] = True, cfg["data"].get("pair_spectrum", "rotd50")
  return json.loads(json.dumps(out, default=list))


def _flat(tree: dict, prefix: str = "") -> dict:
  """``{"model": {"latent_dim": 8}}`` -> ``{"model.latent_dim": 8}`` (dotted field names)."""
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out.update(_flat(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def check_config(workdir: str, config) -> None:
  """Write ``config.json`` on a fresh workdir; on an existing one, refuse a different model.

  Raises:
    ConfigMismatchError: naming the fields that differ, when the workdir's checkpoints
      were written with another model or data layout.
  """
  path = os.path.join(workdir, CONFIG_FILE)
  mine = _binding_fields(config)
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    mine, theirs = _flat(mine), _flat(saved.get("binding", {}))
    same = lambda k: json.dumps(mine.get(k), sort_keys=True) == json.dumps(theirs.get(k), sort_keys=True)
    diff = sorted(k for k in set(mine) | set(theirs) if not same(k))
    if diff:
      raise ConfigMismatchError(
          f"{workdir} holds checkpoints of another config: "
          + "; ".join(f"{k} is {theirs.get(k)!r} there, {mine.get(k)!r} here" for k in diff)
          + ". Use a new --workdir, or the config that wrote it.")
    return
  os.makedirs(workdir, exist_ok=True)
  with open(path, "w") as f:
    json.dump({"binding": mine, "config": json.loads(ml_collections.ConfigDict(config).to_json_best_effort())},
              f, indent=1)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The full config a workdir was trained with (from ``config.json``)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{workdir} has no {CONFIG_FILE}: not a cvaegan-jax training workdir")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f)["config"])
