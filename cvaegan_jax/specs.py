"""The target spec language: one short string (a flag, a config field) -> a Target.

Grammar::

    SPEC  := CODE ":" ITEMS
    ITEMS := ITEM ("," ITEM)*
    ITEM  := KEY "=" VALUE | PATH            (PATH: first item of file/record only)

    asce7:sds=1.0,sd1=0.6,tl=8[,edition=16|22]
        sds, sd1: design spectral accelerations SDS, SD1 in g; tl: TL in s.
    ec8:type=1,ground=B,ag=0.3g[,damping=0.05][,importance=1.0]
        type: 1 or 2; ground: A, B, C, D or E; ag: reference peak ground
        acceleration agR on type A ground, with its unit written after the
        number: g, m/s2 (m/s^2, mps2) or gal (cm/s2); importance: gamma_I.
    gb50011:amax=0.16,tg=0.45[,damping=0.05]
        amax: alpha_max (fraction of g); tg: characteristic period Tg in s.
    file:PATH,unit=g[,name=NAME][,damping=0.05]
        a two-column period/Sa file; unit (g, m/s2 or gal) is required; the
        Target keeps the file's periods (move it with Target.at).
    record:PATH[,component=NS][,unit=m/s2][,damping=0.05]
        the response spectrum of a recorded motion; unit applies to formats
        ObsPy reads (K-NET and AT2 files carry their own units).

Rules: CODE is everything before the first ``:``, so a PATH may itself hold
``:`` (``file:C:\\spectra\\uhs.csv,unit=g``); items are split at every ``,``, so a
PATH must not hold a comma. Code names and keys are case-insensitive; spaces
around items are ignored. An unknown code or key, a missing required key, a
repeated key, a value that is not a number, or a value out of range raises
``ValueError`` quoting the spec, naming the key and the valid choices. A spec
gives exactly the Target of the direct call with the same arguments.
"""

from __future__ import annotations

import math
import re

from cvaegan_jax import spectra
from cvaegan_jax.design_codes import asce7, check_edition, check_ground, check_spectrum_type, ec8, gb50011
from cvaegan_jax.targets import Target, check_damping, check_positive, check_unit, from_file, from_record, to_ms2

__all__ = ["CODES", "parse", "parse_spec"]

# Names :func:`parse` accepts before the first colon.
CODES = ("asce7", "ec8", "gb50011", "file", "record")

def _accel_with_unit(name: str, text: str) -> float:
  m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*", text)
  if not m:
    raise ValueError(f"{name} must be a number with a unit (e.g. 0.3g, 2.94m/s2, 294gal), got {text!r}")
  if not m.group(2):
    raise ValueError(f"{name} needs a unit after the number: g, m/s2 or gal (e.g. {m.group(1)}g), got {text!r}")
  value = float(to_ms2(float(m.group(1)), check_unit(name, m.group(2))))
  if not (math.isfinite(value) and value > 0):
    raise ValueError(f"{name} must be a positive acceleration, got {text!r}")
  return value


# code -> (function, takes a path, {key: (argument, converter(key, text), required)}).
_SPEC_KEYS = {
    "asce7": (asce7, False, {
        "sds": ("sds_g", check_positive, True),
        "sd1": ("sd1_g", check_positive, True),
        "tl": ("tl_s", check_positive, True),
        "edition": ("edition", check_edition, False)}),
    "ec8": (ec8, False, {
        "type": ("spectrum_type", check_spectrum_type, True),
        "ground": ("ground", check_ground, True),
        "ag": ("ag_ms2", _accel_with_unit, True),
        "damping": ("damping", check_damping, False),
        "importance": ("importance", check_positive, False)}),
    "gb50011": (gb50011, False, {
        "amax": ("alpha_max", check_positive, True),
        "tg": ("tg_s", check_positive, True),
        "damping": ("damping", check_damping, False)}),
    "file": (from_file, True, {
        "unit": ("unit", check_unit, True),
        "name": ("name", lambda k, v: v, False),
        "damping": ("damping", check_damping, False)}),
    "record": (from_record, True, {
        "component": ("component", lambda k, v: v, False),
        "unit": ("unit", check_unit, False),
        "damping": ("damping", check_damping, False)}),
}


def parse_spec(spec: str) -> tuple[str, dict]:
  """The code and the converted arguments of a spec string, without computing the spectrum
  (no file is read): what :func:`parse` passes to the function of the code.

  Args:
    spec: the spec string (grammar in the module docstring).

  Returns:
    ``(code, kwargs)``: ``code`` one of :data:`CODES` (lower case); ``kwargs`` the keyword
    arguments of :func:`asce7`, :func:`ec8`, :func:`gb50011`, :func:`from_file` or
    :func:`from_record` that the spec gives (``path`` for file and record; optional keys
    only when given), e.g. ``("asce7", {"sds_g": 1.0, "sd1_g": 0.6, "tl_s": 8.0})``.

  Raises:
    ValueError: the errors of the spec that :func:`parse` lists.
  """
  if not isinstance(spec, str) or ":" not in spec:
    raise ValueError(f"target spec {spec!r}: expected CODE:KEY=VALUE,... with CODE one of {', '.join(CODES)}")
  code, rest = spec.split(":", 1)
  code = code.strip().lower()
  if code not in _SPEC_KEYS:
    raise ValueError(f"target spec {spec!r}: unknown target {code!r}; valid: {', '.join(CODES)}")
  _, takes_path, keys = _SPEC_KEYS[code]
  items = [s.strip() for s in rest.split(",")]
  kwargs = {}
  if takes_path:
    path = items.pop(0) if items else ""
    if not path or ("=" in path and path.split("=", 1)[0].strip().lower() in keys):
      raise ValueError(f"target spec {spec!r}: {code} needs a PATH right after '{code}:' "
                       f"(e.g. {code}:spectrum.csv,unit=g)")
    kwargs["path"] = path
  seen = set()
  for item in items:
    if not item:
      continue
    if "=" not in item:
      raise ValueError(f"target spec {spec!r}: expected KEY=VALUE, got {item!r} (valid keys for {code}: "
                       f"{', '.join(keys)}; commas are not allowed in paths)")
    key, value = (s.strip() for s in item.split("=", 1))
    key = key.lower()
    if key not in keys:
      raise ValueError(f"target spec {spec!r}: unknown key {key!r} for {code}; valid keys: {', '.join(keys)}")
    if key in seen:
      raise ValueError(f"target spec {spec!r}: key {key!r} given twice")
    seen.add(key)
    arg, convert, _ = keys[key]
    try:
      kwargs[arg] = convert(key, value)
    except ValueError as e:
      raise ValueError(f"target spec {spec!r}: key {key!r}: {e}") from None
  missing = [k for k, (_, _, required) in keys.items() if required and k not in seen]
  if missing:
    required = [k for k, (_, _, r) in keys.items() if r]
    raise ValueError(f"target spec {spec!r}: missing required key(s) {', '.join(missing)} for {code} "
                     f"(required: {', '.join(required)}; optional: "
                     f"{', '.join(k for k in keys if k not in required) or 'none'})")
  return code, kwargs


def parse(spec: str, periods_s=None) -> Target:
  """A Target from a spec string (grammar in the module docstring).

  Examples: ``"asce7:sds=1.0,sd1=0.6,tl=8"``, ``"ec8:type=1,ground=B,ag=0.3g"``,
  ``"gb50011:amax=0.16,tg=0.45"``, ``"file:uhs.csv,unit=g"``,
  ``"record:AOM0081801241951.NS"``.

  Args:
    spec: the spec string.
    periods_s: ``[P]`` periods in s at which design codes and records are
      computed; None: ``spectra.DEFAULT_PERIODS``. A file always keeps its own
      periods (move it with :meth:`Target.at`, which decides about
      extrapolation), so ``parse`` never fails for want of coverage.

  Returns:
    The Target the direct call (:func:`asce7`, :func:`ec8`, :func:`gb50011`,
    :func:`from_file`, :func:`from_record`) gives for the same arguments.

  Raises:
    ValueError: quoting the spec: no ``:``, an unknown code (lists the valid
      ones), an item without ``=``, an unknown key (lists the valid keys), a
      repeated or missing required key, a value that is not a number or out of
      range (names the key), a missing PATH; and the errors of the function called.
  """
  code, kwargs = parse_spec(spec)
  fn = _SPEC_KEYS[code][0]
  try:
    if code == "file":
      return fn(**kwargs)
    periods = spectra.DEFAULT_PERIODS if periods_s is None else periods_s
    return fn(**kwargs, periods_s=periods)
  except ValueError as e:
    raise ValueError(f"target spec {spec!r}: {e}") from e
