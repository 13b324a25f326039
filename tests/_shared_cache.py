"""Hand content-keyed files a test module built in its private cache to the suite's own cache.

Some modules build the deep path's artefacts from scratch in a private ``W2S_CACHE`` (the
extraction or pre-training is what they test). Later tests that run the code in a subprocess
with the suite's cache (the figures build) need the very same files: the file names carry a
hash of everything that goes into them, so a copy is exactly what they would build. Copying
them saves building them twice; a file already there is left alone.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path


def share(private: Path, names: Iterable[str], shared: Path) -> None:
    """Copy ``private/NAME`` to ``shared/NAME`` for each name missing there (atomically)."""
    for name in names:
        src, dst = Path(private) / name, Path(shared) / name
        if dst.exists() or not src.is_file():
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except OSError:  # e.g. a read-only cache: the later test builds the files itself
            pass
