"""Generated blocks in text files: the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``.

Every number a document shows that code produces (the claims report, the theory's validation
table, the figures' build times, the deep path's tables) is written by :func:`write_between`,
so rerunning the generator replaces the block and leaves the hand-written text around it alone.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MarkersError", "markers", "check_markers", "write_between"]


class MarkersError(ValueError):
    """A file that should hold a generated block does not (the message names the file and the markers)."""


def markers(name: str) -> tuple[str, str]:
    """The begin and end markers of the block called ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def check_markers(path: str | Path, name: str) -> str:
    """The text of ``path``; :class:`MarkersError` when it is missing or lacks the block's markers in order."""
    path = Path(path)
    begin, end = markers(name)
    if not path.is_file():
        raise MarkersError(f"{str(path)!r} does not exist (it must contain the {begin} ... {end} markers)")
    text = path.read_text()
    if begin not in text or end not in text or text.index(end) < text.index(begin):
        raise MarkersError(f"{str(path)!r} has no {begin} ... {end} markers")
    return text


def write_between(path: str | Path, name: str, body: str) -> None:
    """Replace what lies between the block's markers in ``path`` with ``body`` (atomically); the block
    keeps its own lines (markers on lines of their own) unless it sat inside one line and ``body`` is one line."""
    path = Path(path)
    text = check_markers(path, name)
    begin, end = markers(name)
    start, stop = text.index(begin) + len(begin), text.index(end)
    body = body.strip("\n")
    # A block written inside a line (no line break between its markers) stays inside its line.
    sep = "" if "\n" not in text[start:stop] and "\n" not in body else "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text[:start] + sep + body + sep + text[stop:])
    os.replace(tmp, path)
