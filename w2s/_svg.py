"""Minimal SVG plot panels for the explorer (the browser draws them).

Drawing the explorer's three panels with matplotlib on every slider update would dominate the
update's time; these panels are plain SVG text built with NumPy, with the phase
diagram as an embedded PNG and its zero contour from contourpy (matplotlib's contouring).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np

COLORS = {
    "blue": "#1f77b4",
    "orange": "#ff7f0e",
    "green": "#2ca02c",
    "red": "#d62728",
    "purple": "#9467bd",
    "gray": "#7f7f7f",
    "black": "#000000",
}


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if np.isfinite(lo) else np.array([])
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10.0 ** np.floor(np.log10(raw))
    step = mag * min((s for s in (1.0, 2.0, 2.5, 5.0, 10.0) if s * mag >= raw), default=10.0)
    first = np.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)


def padded_range(values: Sequence[np.ndarray], pad: float = 0.06) -> tuple[float, float]:
    """A y-range covering every finite value with a margin (a unit range if there is none)."""
    finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    return lo - pad * span, hi + pad * span


def fmt_tick(v: float) -> str:
    return f"{v:.4g}".replace("-", "\u2212")


def rich(text: str) -> str:
    """Escape text, turning ``_x`` / ``_{xy}`` after a letter into SVG subscripts (``η_u`` -> η with subscript u)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "_" and i + 1 < len(text):
            if text[i + 1] == "{" and "}" in text[i + 2 :]:
                j = text.index("}", i + 2)
                sub, i = text[i + 2 : j], j + 1
            else:
                sub, i = text[i + 1], i + 2
            out.append(f'<tspan baseline-shift="sub" font-size="75%">{html.escape(sub)}</tspan>')
        else:
            out.append(html.escape(ch))
            i += 1
    return "".join(out)


def png_data_uri(rgba: np.ndarray) -> str:
    """An (h, w, 4) uint8 array as a PNG data URI (row 0 at the top)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class Panel:
    """One plot: a frame with ticks in a ``width`` x ``height`` SVG, data mapped linearly."""

    def __init__(
        self,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        *,
        width: int = 380,
        height: int = 320,
        margin: tuple[int, int, int, int] = (28, 16, 44, 62),  # top, right, bottom, left
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        element_id: str | None = None,
    ) -> None:
        self.xlim, self.ylim = xlim, ylim
        self.width, self.height = width, height
        top, right, bottom, left = margin
        self.box = (left, top, width - right, height - bottom)  # x0, y0, x1, y1 in pixels
        self.title, self.xlabel, self.ylabel, self.element_id = title, xlabel, ylabel, element_id
        self.items: list[str] = []
        self.legend_items: list[tuple[str, str, str, str]] = []  # label, color, dash, kind

    # coordinates ---------------------------------------------------------------------------
    def px(self, x):
        x0, _, x1, _ = self.box
        return x0 + (np.asarray(x, dtype=float) - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (x1 - x0)

    def py(self, y):
        _, y0, _, y1 = self.box
        return y1 - (np.asarray(y, dtype=float) - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (y1 - y0)

    # artists -------------------------------------------------------------------------------
    def line(self, x, y, *, color: str, width: float = 1.5, dash: str = "", label: str | None = None) -> None:
        """A polyline through the finite points (NaN breaks the line), clipped to the frame."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        px, py = self.px(x), self.py(y)
        breaks = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
        for seg in np.split(np.arange(len(x)), breaks):
            if seg.size and ok[seg[0]]:
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px[seg], py[seg], strict=True))
                self.items.append(
                    f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}" '
                    f'stroke-dasharray="{dash}" clip-path="url(#{self._clip_id})"/>'
                )
        if label:
            self.legend_items.append((label, color, dash, "line"))

    def hline(self, y: float, **kw) -> None:
        self.line(self.xlim, [y, y], **kw)

    def vline(self, x: float, **kw) -> None:
        self.line([x, x], self.ylim, **kw)

    def marker(self, x: float, y: float, *, fill: str = "white", stroke: str = "black", r: float = 5.0) -> None:
        if np.isfinite(x) and np.isfinite(y):
            self.items.append(
                f'<circle cx="{float(self.px(x)):.1f}" cy="{float(self.py(y)):.1f}" r="{r}" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="1.5"/>'
            )

    def errorbar(self, x: float, y: float, err: float, *, color: str, label: str | None = None) -> None:
        if not (np.isfinite(x) and np.isfinite(y)):
            return
        cx, lo, hi, cy = float(self.px(x)), float(self.py(y - err)), float(self.py(y + err)), float(self.py(y))
        self.items.append(
            f'<g stroke="{color}" stroke-width="1.5"><line x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}"/>'
            f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{lo:.1f}" y2="{lo:.1f}"/>'
            f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{hi:.1f}" y2="{hi:.1f}"/></g>'
            f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" fill="{color}"/>'
        )
        if label:
            self.legend_items.append((label, color, "", "square"))

    def image(self, rgba: np.ndarray, extent: tuple[float, float, float, float] | None = None) -> None:
        """An image over ``extent`` = (x0, x1, y0, y1) in data units (default: the frame), clipped
        to the frame and smoothed by the browser; ``rgba[0]`` is the *bottom* row (origin lower)."""
        x0, x1, y0, y1 = extent if extent is not None else (*self.xlim, *self.ylim)
        X0, X1, Y0, Y1 = float(self.px(x0)), float(self.px(x1)), float(self.py(y1)), float(self.py(y0))
        uri = png_data_uri(np.ascontiguousarray(rgba[::-1]))
        self.items.append(
            f'<image x="{X0:.1f}" y="{Y0:.1f}" width="{X1 - X0:.1f}" height="{Y1 - Y0:.1f}" preserveAspectRatio="none" '
            f'clip-path="url(#{self._clip_id})" href="{uri}"/>'
        )

    def legend(self, where: str = "upper right") -> None:
        if not self.legend_items:
            return
        x0, y0, x1, y1 = self.box
        w = 12 + 7 * max(len(label) for label, *_ in self.legend_items) + 28
        h = 16 * len(self.legend_items) + 6
        lx = x1 - w - 6 if "right" in where else x0 + 6
        ly = y0 + 6 if "upper" in where else y1 - h - 6
        parts = [f'<rect x="{lx}" y="{ly}" width="{w}" height="{h}" fill="white" fill-opacity="0.8" stroke="#ccc"/>']
        for k, (label, color, dash, kind) in enumerate(self.legend_items):
            yy = ly + 12 + 16 * k
            if kind == "square":
                parts.append(f'<rect x="{lx + 12}" y="{yy - 4}" width="8" height="8" fill="{color}"/>')
            else:
                parts.append(
                    f'<line x1="{lx + 5}" x2="{lx + 27}" y1="{yy}" y2="{yy}" stroke="{color}" stroke-width="2" '
                    f'stroke-dasharray="{dash}"/>'
                )
            parts.append(f'<text x="{lx + 32}" y="{yy + 4}" font-size="11">{rich(label)}</text>')
        self.items.append("".join(parts))

    # output --------------------------------------------------------------------------------
    @property
    def _clip_id(self) -> str:
        return f"clip-{self.element_id or id(self)}"

    def svg(self, extra_right: str = "", extra_width: int = 0) -> str:
        x0, y0, x1, y1 = self.box
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width + extra_width}" height="{self.height}" '
            f'font-family="sans-serif" font-size="12"' + (f' id="{self.element_id}"' if self.element_id else "") + ">",
            f'<defs><clipPath id="{self._clip_id}"><rect x="{x0}" y="{y0}" width="{x1 - x0}" '
            f'height="{y1 - y0}"/></clipPath></defs>',
            f'<rect width="{self.width + extra_width}" height="{self.height}" fill="white"/>',
            *self.items,
            f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="black"/>',
        ]
        for t in nice_ticks(*self.xlim):
            X = float(self.px(t))
            parts.append(
                f'<line x1="{X:.1f}" x2="{X:.1f}" y1="{y1}" y2="{y1 + 4}" stroke="black"/>'
                f'<text x="{X:.1f}" y="{y1 + 16}" text-anchor="middle">{fmt_tick(t)}</text>'
            )
        for t in nice_ticks(*self.ylim):
            Y = float(self.py(t))
            parts.append(
                f'<line x1="{x0 - 4}" x2="{x0}" y1="{Y:.1f}" y2="{Y:.1f}" stroke="black"/>'
                f'<text x="{x0 - 6}" y="{Y + 4:.1f}" text-anchor="end">{fmt_tick(t)}</text>'
            )
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        parts.append(f'<text x="{cx}" y="{y0 - 9}" text-anchor="middle" font-size="13">{rich(self.title)}</text>')
        parts.append(f'<text x="{cx}" y="{y1 + 34}" text-anchor="middle" font-size="13">{rich(self.xlabel)}</text>')
        lx = max(x0 - 48, 12)
        parts.append(
            f'<text x="{lx}" y="{cy}" text-anchor="middle" font-size="13" '
            f'transform="rotate(-90 {lx} {cy})">{rich(self.ylabel)}</text>'
        )
        parts.append(extra_right)
        parts.append("</svg>")
        return "".join(parts)


def colorbar(cmap, vmin: float, vmax: float, *, x: float, y0: float, y1: float, width: float = 14) -> str:
    """A vertical colour bar from ``vmin`` (bottom) to ``vmax`` (top) at pixel column ``x``."""
    ramp = cmap(np.linspace(1.0, 0.0, 128))[:, None, :]
    rgba = (np.repeat(ramp, 2, axis=1) * 255).astype(np.uint8)
    uri = png_data_uri(rgba)
    parts = [
        f'<image x="{x}" y="{y0}" width="{width}" height="{y1 - y0}" preserveAspectRatio="none" href="{uri}"/>',
        f'<rect x="{x}" y="{y0}" width="{width}" height="{y1 - y0}" fill="none" stroke="black"/>',
    ]
    for t in nice_ticks(vmin, vmax, 5):
        Y = y1 - (t - vmin) / (vmax - vmin) * (y1 - y0)
        parts.append(
            f'<line x1="{x + width}" x2="{x + width + 3}" y1="{Y:.1f}" y2="{Y:.1f}" stroke="black"/>'
            f'<text x="{x + width + 5}" y="{Y + 4:.1f}" font-size="11">{fmt_tick(t)}</text>'
        )
    return "".join(parts)
