"""Wait for a started server (``w2s explore``) to answer over HTTP."""

import time
import urllib.request

import pytest


def wait_until_served(url: str, proc, log, timeout: float) -> str:
    """The page at ``url`` once it answers 200; fails the test with ``log``'s text if ``proc``
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return r.read().decode()
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"w2s explore did not serve {url}:\n{log.read_text()}")
        time.sleep(0.5)
