"""Driving the explorer in Debian's Chromium: shared by the explorer's browser tests and its benchmark.

:func:`key_press_seconds` measures what a user waits for: from the key press on a slider to the
new gain in the page, timed inside the page (``performance.now``) so that Playwright's own
round trips do not count.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "slider", "key_press_seconds"]

CHROMIUM = Path("/usr/bin/chromium")
# The flags this project's machines need: no sandbox as root, no GPU, no network look-ups.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Records the time of the next key press and of the first change of the gain's text after it.
_WATCH = """() => {
    const before = document.getElementById('w2s-gain').textContent;
    const w = window.__w2s = {before, t0: null, t1: null};
    const onKey = () => { if (w.t0 === null) w.t0 = performance.now(); };
    document.addEventListener('keydown', onKey, {capture: true, once: true});
    const obs = new MutationObserver(() => {
        const e = document.getElementById('w2s-gain');
        if (e && e.textContent !== w.before && w.t1 === null) { w.t1 = performance.now(); obs.disconnect(); }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def slider(pg, label: str):
    """The slider thumb whose label contains ``label``."""
    thumbs = pg.locator("[role=slider]")
    for i in range(thumbs.count()):
        t = thumbs.nth(i)
        lab = pg.locator(f"[id='{t.get_attribute('aria-labelledby')}']")
        if lab.count() and label in lab.first.inner_text():
            return t
    raise LookupError(f"no slider labelled {label!r}")


def key_press_seconds(pg, thumb, key: str) -> tuple[float, str]:
    """Press ``key`` on a slider thumb; returns (seconds from keydown to the new gain in the page, new text)."""
    pg.evaluate(_WATCH)
    thumb.focus()
    pg.keyboard.press(key)
    pg.wait_for_function("() => window.__w2s.t1 !== null", timeout=120_000)
    t0, t1 = pg.evaluate("() => [window.__w2s.t0, window.__w2s.t1]")
    return (t1 - t0) / 1e3, pg.locator("#w2s-gain").inner_text()
