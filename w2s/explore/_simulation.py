"""The explorer's quick Monte-Carlo check at the current point."""

from __future__ import annotations

import time

from setting.problem import Problem


def quick_simulation(problem: Problem, *, trials: int = 16, d_z: int = 64, seed: int = 0) -> dict[str, float]:
    """A small Monte-Carlo estimate of the gain at ``problem`` (finite d_z: expect finite-size bias).

    Returns ``{"gain", "se", "d_z", "trials", "seconds"}``.
    """
    import simulate

    t0 = time.perf_counter()
    est = simulate.estimate(problem.replace(d_z=d_z), trials=trials, seed=seed, progress=False)
    return {
        "gain": float(est["gain"]["mean"]),
        "se": float(est["gain"]["se"]),
        "d_z": d_z,
        "trials": trials,
        "seconds": time.perf_counter() - t0,
    }
