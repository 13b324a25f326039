"""``w2s explore``: serve the interactive phase-diagram explorer locally.

Runs ``marimo run --headless`` on the app that ships inside the package (``w2s/explore/app.py``,
wherever the package is installed) on a free port (from 2718 unless ``--port``
is given), prints the URL to open, and serves until interrupted. Stopping the command (Ctrl-C,
SIGTERM or SIGHUP) stops the server; on Linux the server also stops if the command is killed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 2718  # marimo's own default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=None, help=f"port to serve on (default: first free from {DEFAULT_PORT})"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument(
        "--methods",
        metavar="M[,M...]",
        help="theory methods to compute, the first shown (default: all registered, 'exact' shown if present); "
        "e.g. --methods paper for the fastest start",
    )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def app_path() -> Path:
    """The marimo app's file, ``app.py`` of the package :mod:`w2s.explore` (located without importing
    that package, whose theory the server imports anyway)."""
    spec = importlib.util.find_spec("w2s.explore")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def command(host: str, port: int, methods: str | None = None) -> list[str]:
    """The marimo command line that serves the app."""
    return [
        sys.executable,
        "-m",
        "marimo",
        "run",
        str(app_path()),
        "--headless",
        "--host",
        host,
        "--port",
        str(port),
        "--no-token",
        "--no-sandbox",  # never prompt to create an isolated environment: the project's venv has everything
    ] + (["--", "--methods", methods] if methods else [])


def run(args: argparse.Namespace) -> int:
    from w2s.commands import InputError

    if args.methods:
        import asymptotics

        unknown = [m for m in args.methods.split(",") if m not in asymptotics.METHODS]
        if unknown:
            raise InputError(f"--methods: {unknown[0]!r} is not one of {sorted(asymptotics.METHODS)}")
    if args.port is not None:
        if not 0 < args.port < 65536:
            raise InputError(f"--port: must lie in 1..65535, got {args.port}")
        if not port_is_free(args.host, args.port):
            raise InputError(f"--port: {args.host}:{args.port} is in use; pick another or leave --port out")
        port = args.port
    else:
        port = next((p for p in range(DEFAULT_PORT, DEFAULT_PORT + 100) if port_is_free(args.host, p)), None)
        if port is None:
            raise InputError(f"no free port in {DEFAULT_PORT}..{DEFAULT_PORT + 99} on {args.host}; pass --port")
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"W2S explorer: http://{shown}:{port}  (compiling the theory takes a few seconds; Ctrl-C stops)", flush=True)
    env = {**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"}  # no network look-up at start
    proc = subprocess.Popen(command(args.host, port, args.methods), env=env, preexec_fn=_die_with_parent)

    def stop(signum, frame):
        raise _Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except (KeyboardInterrupt, _Stopped) as e:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 128 + e.signum if isinstance(e, _Stopped) else 130
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _die_with_parent() -> None:
    """In the server's process: ask Linux to send it SIGTERM when this command dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
