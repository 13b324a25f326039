"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np


def add_problem_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and repeatable ``--set key=value`` (values in TOML syntax)."""
    parser.add_argument("--config", metavar="FILE", help="TOML problem file (keys: the Problem field names)")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help='override one field, value in TOML syntax (e.g. eta_u=0.3, group_model="mean-shift"); repeatable',
    )


def to_jsonable(x: Any) -> Any:
    """Arrays and numpy scalars to plain Python; non-finite floats to strings 'inf'/'-inf'/'nan'."""
    if isinstance(x, dict):
        return {k: to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if hasattr(x, "shape") and np.ndim(x) > 0:
        return to_jsonable(np.asarray(x).tolist())
    if hasattr(x, "item") and np.ndim(x) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def dump_json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2)
