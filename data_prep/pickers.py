"""The P pickers by config name: ``make_picker("aic" | "picks_file" | "phasenet", **fields)``."""

from __future__ import annotations

from data_prep import aic_picker, external_pickers, picking

__all__ = ["PICKERS", "make_picker"]

# Config name -> picker class, for make_picker.
PICKERS = {
    "aic": aic_picker.AicPicker,
    "picks_file": external_pickers.PicksFilePicker,
    "phasenet": external_pickers.PhaseNetPicker,
}


def make_picker(name: str, **kwargs) -> picking.Picker:
  """Build a picker from its config name.

  Args:
    name: ``'aic'`` (:class:`AicPicker`), ``'picks_file'``
      (:class:`PicksFilePicker`, needs ``path``) or ``'phasenet'``
      (:class:`PhaseNetPicker`, needs ``weights_path``).
    **kwargs: the picker's constructor fields.

  Raises:
    ValueError: unknown name (the message lists the known ones).
  """
  try:
    cls = PICKERS[name]
  except KeyError:
    raise ValueError(f"unknown picker {name!r}; choose one of {sorted(PICKERS)}") from None
  return cls(**kwargs)
