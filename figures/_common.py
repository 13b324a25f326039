"""Shared plumbing for the figure scripts: cache of the data step, saving, versions."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
OUT = ROOT / "out"
SIZES = ("fast", "default", "full")


def versions() -> dict[str, str]:
    import jax

    import w2s

    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        rev = ""
    return {"w2s": w2s.__version__, "jax": jax.__version__, "numpy": np.__version__, "git": rev or "unknown"}


def cached(name: str, params: dict[str, Any], compute) -> dict[str, np.ndarray]:
    """Run ``compute()`` unless ``figures/data/name.npz`` was made with the same ``params``."""
    DATA.mkdir(parents=True, exist_ok=True)
    npz, meta = DATA / f"{name}.npz", DATA / f"{name}.json"
    key = json.dumps(params, sort_keys=True, default=str)
    if npz.exists() and meta.exists() and json.loads(meta.read_text()).get("params") == json.loads(key):
        with np.load(npz) as f:
            return dict(f)
    t0 = time.perf_counter()
    data = {k: np.asarray(v) for k, v in compute().items()}
    tmp = npz.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(npz)
    meta.write_text(
        json.dumps(
            {"params": json.loads(key), "seconds": time.perf_counter() - t0, "versions": versions()},
            indent=2,
        )
    )
    return data


def save(fig, name: str) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = [OUT / f"{name}.png", OUT / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=150 if p.suffix == ".png" else None, bbox_inches="tight")
    return paths
