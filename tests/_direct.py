"""The direct (unbatched, uncompiled-program) risks that several test modules compare against.

One jitted function for the whole session: ``jax.jit`` keeps its compilations per wrapper, so
each module wrapping ``asymptotics.risks`` itself compiled the exact theory again for the same
shape and group model (seconds to tens of seconds each). Call it as ``risks(problem, method)``
(method positional), so that every caller hits the same cache entry.
"""

from __future__ import annotations

import jax

import asymptotics

risks = jax.jit(asymptotics.risks, static_argnums=1)
