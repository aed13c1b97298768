"""Small inline-SVG charts for the cohort report: scatter panels and time-series panels.

The cohort report draws dozens of small panels (every muscle x every feature, every exercise
x three metrics). matplotlib spends ~70 ms of fixed cost per axes on ticks and text; written
directly as SVG the same panels cost well under a millisecond each, are sharp at any zoom, and
stay inside the page (no image request). All text that reaches the SVG passes through
:func:`liftsense.report.html.esc`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from liftsense.report.html import esc

FloatArray = NDArray[np.float64]

#: Subject colours (the "tab10" palette), cycled.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_W, _H = 320, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 10, 24, 38


def colours(subjects: Sequence[str]) -> dict[str, str]:
    return {s: PALETTE[k % len(PALETTE)] for k, s in enumerate(subjects)}


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (1, 2 or 5 x 10^k apart) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-2:
        return f"{v:.1e}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if a < 10 else f"{v:.0f}"


@dataclass(frozen=True)
class _Frame:
    """Data-to-pixel mapping of one panel."""

    x0: float
    x1: float
    y0: float
    y1: float

    def px(self, x: FloatArray) -> FloatArray:
        return _LEFT + (x - self.x0) / (self.x1 - self.x0) * (_W - _LEFT - _RIGHT)

    def py(self, y: FloatArray) -> FloatArray:
        return _H - _BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (_H - _TOP - _BOTTOM)


def _range(v: FloatArray) -> tuple[float, float]:
    lo, hi = float(np.min(v)), float(np.max(v))
    pad = (hi - lo) * 0.06 or max(abs(lo) * 0.1, 1.0)
    return lo - pad, hi + pad


def _axes(f: _Frame, title: str, xlabel: str, ylabel: str, xticks: list[tuple[float, str]]) -> str:
    parts = [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" '
        f'height="{_H - _TOP - _BOTTOM}" fill="none" stroke="#999"/>',
        f'<text x="{_LEFT}" y="14" font-size="11" font-weight="600">{esc(title)}</text>',
        f'<text x="{(_W + _LEFT) / 2:.0f}" y="{_H - 4}" font-size="10" '
        f'text-anchor="middle">{esc(xlabel)}</text>',
        f'<text transform="translate(11 {(_H - _BOTTOM + _TOP) / 2:.0f}) rotate(-90)" '
        f'font-size="10" text-anchor="middle">{esc(ylabel)}</text>',
    ]
    for v, label in xticks:
        x = float(f.px(np.array([v]))[0])
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_H - _BOTTOM}" y2="{_H - _BOTTOM + 4}" '
            f'stroke="#999"/><text x="{x:.1f}" y="{_H - _BOTTOM + 14}" font-size="9" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    for v in nice_ticks(f.y0, f.y1, 4):
        y = float(f.py(np.array([v]))[0])
        parts.append(
            f'<line x1="{_LEFT - 4}" x2="{_LEFT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#999"/>'
            f'<text x="{_LEFT - 6}" y="{y + 3:.1f}" font-size="9" text-anchor="end">'
            f"{esc(_fmt(v))}</text>"
        )
    return "".join(parts)


def _svg(body: str, title: str) -> str:
    return (
        f'<svg width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" font-family="sans-serif">'
        f"<title>{esc(title)}</title>{body}</svg>"
    )


def _empty(title: str, xlabel: str, ylabel: str) -> str:
    f = _Frame(0.0, 1.0, 0.0, 1.0)
    body = _axes(f, title, xlabel, ylabel, []) + (
        f'<text x="{(_W + _LEFT) / 2:.0f}" y="{_H / 2:.0f}" font-size="11" '
        'text-anchor="middle" fill="#666">no data</text>'
    )
    return _svg(body, title)


def scatter(
    x: FloatArray,
    y: FloatArray,
    groups: Sequence[str] | NDArray[np.object_],
    palette: dict[str, str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    lines: Sequence[tuple[str, FloatArray, FloatArray]] = (),
) -> str:
    """Points coloured by group, plus line segments (group, xs, ys); NaN points are dropped."""
    g = np.asarray(groups, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return _empty(title, xlabel, ylabel)
    x, y, g = x[ok], y[ok], g[ok]
    f = _Frame(*_range(x), *_range(y))
    px, py = f.px(x), f.py(y)
    parts = []
    for s in dict.fromkeys(g.tolist()):
        m = g == s
        dots = "".join(
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.6"/>'
            for a, b in zip(px[m].tolist(), py[m].tolist(), strict=True)
        )
        parts.append(f'<g fill="{palette[s]}" fill-opacity="0.7">{dots}</g>')
    for s, lx, ly in lines:
        ax_, ay_ = f.px(lx), f.py(ly)
        parts.append(
            f'<line x1="{ax_[0]:.1f}" y1="{ay_[0]:.1f}" x2="{ax_[-1]:.1f}" y2="{ay_[-1]:.1f}" '
            f'stroke="{palette[s]}" stroke-width="1.8"/>'
        )
    xt = [(v, _fmt(v)) for v in nice_ticks(f.x0, f.x1, 4)]
    return _svg(_axes(f, title, xlabel, ylabel, xt) + "".join(parts), title)


def series(
    lines: Sequence[tuple[str, FloatArray, FloatArray]],
    palette: dict[str, str],
    *,
    title: str,
    ylabel: str,
) -> str:
    """Lines with markers over time, x in seconds since the epoch (UTC), date tick labels."""
    kept = [(s, t[np.isfinite(v)], v[np.isfinite(v)]) for s, t, v in lines]
    kept = [k for k in kept if k[1].size]
    if not kept:
        return _empty(title, "date", ylabel)
    t_all = np.concatenate([k[1] for k in kept])
    v_all = np.concatenate([k[2] for k in kept])
    day = 86400.0
    t0, t1 = float(t_all.min()), float(t_all.max())
    pad = max((t1 - t0) * 0.05, day)
    f = _Frame(t0 - pad, t1 + pad, *_range(v_all))
    step_d = nice_ticks(0.0, (f.x1 - f.x0) / day, 4)
    step = (step_d[1] - step_d[0]) * day if len(step_d) > 1 else day
    first = math.ceil(f.x0 / step) * step
    xt = [
        (v, datetime.fromtimestamp(v, UTC).strftime("%d %b"))
        for v in np.arange(first, f.x1, step).tolist()
    ]
    parts = []
    for s, t, v in kept:
        px, py = f.px(t), f.py(v)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px.tolist(), py.tolist(), strict=True))
        dots = "".join(
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2"/>'
            for a, b in zip(px.tolist(), py.tolist(), strict=True)
        )
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{palette[s]}" stroke-width="1.2"/>'
            f'<g fill="{palette[s]}">{dots}</g>'
        )
    return _svg(_axes(f, title, "date", ylabel, xt) + "".join(parts), title)


def within_lines(
    x: FloatArray, y: FloatArray, groups: NDArray[np.object_]
) -> list[tuple[str, FloatArray, FloatArray]]:
    """The rmcorr picture: one common within-subject slope, drawn through each subject's means
    over that subject's x range (subjects with fewer than two distinct x get no line)."""
    keys, codes = np.unique(groups, return_inverse=True)
    counts = np.bincount(codes).astype(np.float64)
    mx = np.bincount(codes, x) / counts
    my = np.bincount(codes, y) / counts
    dx, dy = x - mx[codes], y - my[codes]
    sxx = float(dx @ dx)
    if sxx <= 0:
        return []
    slope = float(dx @ dy) / sxx
    out = []
    for k, s in enumerate(keys):
        xs = x[codes == k]
        if counts[k] >= 2 and xs.max() > xs.min():
            lx = np.array([xs.min(), xs.max()])
            out.append((str(s), lx, my[k] + slope * (lx - mx[k])))
    return out


def legend(palette: dict[str, str]) -> str:
    """An HTML legend line: a coloured dot and the (escaped) name per group."""
    items = "".join(
        f'<span style="margin-right:1rem;white-space:nowrap">'
        f'<span style="color:{c}">●</span> {esc(s)}</span>'
        for s, c in palette.items()
    )
    return f'<p class="legend">{items}</p>'


def grid(panels: Sequence[str]) -> str:
    """Panels side by side, wrapping."""
    return '<div style="display:flex;flex-wrap:wrap;gap:6px">' + "".join(panels) + "</div>"
