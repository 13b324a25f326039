"""The one JSON conversion of this package: results and records as strict JSON.

JSON has no NaN or infinity, so non-finite floats are written as the strings ``"nan"``,
``"inf"``, ``"-inf"`` (the CLI's ``--json`` output, the sweep's cell records) and read back as
floats by :func:`from_jsonable`. Arrays and NumPy/JAX scalars become lists and Python numbers.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["to_jsonable", "from_jsonable", "dumps"]

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def to_jsonable(x: Any) -> Any:
    """Plain Python for ``json.dumps(..., allow_nan=False)``, recursively (dict keys become strings)."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if hasattr(x, "shape") and np.ndim(x) > 0:
        return to_jsonable(np.asarray(x).tolist())
    if hasattr(x, "item") and np.ndim(x) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def from_jsonable(x: Any) -> Any:
    """Inverse of :func:`to_jsonable` for the non-finite floats: ``"nan"``, ``"inf"``, ``"-inf"`` to floats."""
    if isinstance(x, dict):
        return {k: from_jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [from_jsonable(v) for v in x]
    if isinstance(x, str):
        return _NONFINITE.get(x, x)
    return x


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (obj), strict: never writes ``NaN`` or ``Infinity``."""
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)
