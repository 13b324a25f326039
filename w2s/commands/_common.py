"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import Any

from w2s._json import dumps


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


def dump_json(obj: Any) -> str:
    return dumps(obj, indent=2)
