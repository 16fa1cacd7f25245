"""The intended layering, checked: each module imports only modules of lower layers.

Written once here, so that an import upward, a circle, or an import hidden inside a function
to dodge one fails the suite. A new module must be placed in a layer.
"""

import ast
import pathlib

from tests.conftest import REPO_DIR

PACKAGES = ("cvaegan_jax", "data_prep")

# Bottom to top. A module may import modules of lower layers only (not its own layer).
LAYERS = (
    {"cvaegan_jax.validation"},
    {"cvaegan_jax.spectra", "cvaegan_jax.intensity", "cvaegan_jax.scenarios", "cvaegan_jax.exports",
     "cvaegan_jax.logs", "data_prep.envelopes", "data_prep.knet", "data_prep.processing", "data_prep.picking", "data_prep.qc_plots"},
    {"cvaegan_jax.fit", "cvaegan_jax.conditioning", "cvaegan_jax.simqke", "cvaegan_jax.models", "cvaegan_jax.compliance", "cvaegan_jax.checkpoints",
     "cvaegan_jax.figures", "data_prep.stochastic", "data_prep.aic_picker", "data_prep.external_pickers"},
    {"data_prep.pickers", "data_prep.pipeline", "data_prep.simulate"},
    {"cvaegan_jax.losses", "cvaegan_jax.targets", "cvaegan_jax.train_state",
     "data_prep.knet_spectra.knet_spectra_dataset_builder"},
    {"cvaegan_jax.design_codes", "cvaegan_jax.refine", "data_prep.knet_spectra"},
    {"data_prep.build"},
    {"cvaegan_jax.specs", "cvaegan_jax.input_pipeline"},
    {"cvaegan_jax.sampling"},
    {"cvaegan_jax.train", "cvaegan_jax.suites", "cvaegan_jax.evaluate"},
    {"cvaegan_jax.main"},
)


def _module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(REPO_DIR).with_suffix("").parts)
  if parts[-1] == "__init__":
    parts = parts[:-1]
  return ".".join(parts)


def _project_imports(tree: ast.Module, known: set[str]) -> list[tuple[str, int, bool]]:
  """(imported project module, line, inside a function) for every import in ``tree``."""
  out = []
  inside = set()
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      inside |= {id(n) for n in ast.walk(node) if n is not node}
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      # `from pkg import mod` imports pkg.mod when that is a module; else the name is an attribute.
      names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names]
    for name in names:
      if name.split(".")[0] in PACKAGES and name not in PACKAGES:
        out.append((name, node.lineno, id(node) in inside))
  return out


def _sources() -> dict[str, ast.Module]:
  files = [p for pkg in PACKAGES for p in sorted((REPO_DIR / pkg).rglob("*.py"))]
  return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in files}


def test_every_module_has_a_layer():
  placed = set().union(*LAYERS)
  modules = {m for m in _sources() if m not in PACKAGES}
  assert modules - placed == set(), "place these modules in tests/architecture_test.py LAYERS"
  assert placed - modules == set(), "these LAYERS entries name no module"


def test_imports_go_only_downwards_and_never_inside_functions():
  sources = _sources()
  layer = {m: i for i, group in enumerate(LAYERS) for m in group}
  problems = []
  for module, tree in sources.items():
    if module in PACKAGES:
      continue
    for imported, line, local in _project_imports(tree, set(sources)):
      if local:
        problems.append(f"{module}:{line} imports {imported} inside a function")
      elif layer[imported] >= layer[module]:
        problems.append(f"{module}:{line} imports {imported} (layer {layer[imported]} >= its own {layer[module]})")
  assert not problems, "\n".join(problems)


def test_the_check_sees_an_upward_import():
  # The checker itself: an import of a higher layer and a function-local import are found.
  tree = ast.parse("from cvaegan_jax import train\n\ndef f():\n  import cvaegan_jax.spectra\n")
  found = _project_imports(tree, {"cvaegan_jax.train", "cvaegan_jax.spectra"})
  assert sorted(found) == [("cvaegan_jax.spectra", 4, True), ("cvaegan_jax.train", 1, False)]
