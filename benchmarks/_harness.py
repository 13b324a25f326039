"""Discovery, timing helpers, the results table and ``results.json``."""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import os
import pkgutil
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def discover() -> dict[str, Callable[[], dict]]:
    """All benchmarks of all ``benchmarks/bench_*.py`` modules, by name (names must be unique)."""
    found: dict[str, Callable[[], dict]] = {}
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for name, fn in getattr(module, "BENCHMARKS", {}).items():
            if name in found:
                raise SystemExit(f"benchmarks: duplicate benchmark name {name!r} in {info.name}")
            found[name] = fn
    return found


def machine() -> dict[str, Any]:
    """Platform, CPU count and the JAX backend/device the numbers came from."""
    out: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    try:
        import jax

        dev = jax.devices()[0]
        out.update(jax=jax.__version__, jax_backend=jax.default_backend(), jax_device=str(dev.device_kind))
    except Exception as e:  # noqa: BLE001  (report, do not fail the run)
        out["jax"] = f"unavailable ({e})"
    return out


def median_time(fn: Callable[[int], Any], repeats: int, *, block: bool = True) -> tuple[float, list[float]]:
    """Median wall time of ``fn(i)`` over ``repeats`` calls (``i`` = repeat index, e.g. a seed).

    The result is passed to ``jax.block_until_ready`` when ``block`` so asynchronous dispatch
    does not hide the work. Warm up (compile) before calling this.
    """
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        out = fn(i)
        if block:
            import jax

            jax.block_until_ready(out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _fmt(v: Any, spec: str = ".4g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def print_table(rows: dict[str, dict]) -> None:
    cols = [("ours_s", ".4g"), ("baseline_s", ".4g"), ("ratio", ".3g"), ("ratio_cap", ".3g"), ("peak_mb", ".4g"),
            ("baseline_peak_mb", ".4g"), ("compile_s", ".3g")]  # fmt: skip
    name_w = max([len("benchmark"), *map(len, rows)])
    print(f"{'benchmark':<{name_w}} " + " ".join(f"{c:>16}" for c, _ in cols))
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<{name_w}} error: {r['error']}")
            continue
        print(f"{name:<{name_w}} " + " ".join(f"{_fmt(r.get(c), s):>16}" for c, s in cols))
        if r.get("notes"):
            print(f"{'':<{name_w}}   {r['notes']}")


def merge_results(rows: dict[str, dict], path: Path = RESULTS) -> None:
    """Merge ``rows`` into ``path`` (one entry per benchmark name), written atomically."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    data.update(rows)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")
    os.replace(tmp, path)


def run(names: list[str] | None = None, *, write: bool = True) -> dict[str, dict]:
    """Run the named benchmarks (default all), print the table, merge into results.json."""
    available = discover()
    unknown = [n for n in names or [] if n not in available]
    if unknown:
        raise SystemExit(f"benchmarks: unknown benchmark {unknown[0]!r} (known: {', '.join(available)})")
    selected = names or list(available)
    info = machine()
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: dict[str, dict] = {}
    for name in selected:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            r = dict(available[name]())
        except Exception as e:  # noqa: BLE001  (one failing benchmark must not lose the others)
            traceback.print_exc()
            r = {"error": f"{type(e).__name__}: {e}"}
        r.setdefault("ratio", None)
        r.setdefault("baseline_s", None)
        r["date"] = date
        r["machine"] = {**info, **r.get("machine", {})}
        rows[name] = r
        summary = {k: r.get(k) for k in ("ours_s", "baseline_s", "ratio", "error") if k in r}
        print(f"  {name}: {summary}", file=sys.stderr, flush=True)
        if write:  # after each benchmark, so an interrupted run keeps what it measured
            merge_results({name: r})
    print_table(rows)
    if write:
        print(f"merged {len(rows)} entries into {RESULTS}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/results.json")
    args = parser.parse_args(argv)
    if args.list:
        for name in discover():
            print(name)
        return 0
    rows = run(args.only, write=not args.no_write)
    return 1 if any("error" in r for r in rows.values()) else 0
