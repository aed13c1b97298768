"""Self-contained HTML pages: escaping, number formatting, tables, embedded images.

Every report is one file that makes no network request: CSS is inline, images are base64 PNG in
``data:`` URIs, and there is no script at all. A Content-Security-Policy in the page says so to
the browser too (``default-src 'none'``), so even a mistake elsewhere cannot make the page fetch
or run anything. All user text (subject, notes, exercise names, marker labels) must pass
through :func:`esc`; the helpers here escape every cell and caption they are given.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

#: Nothing may be fetched or run; inline styles and data: images only.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1.5rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{padding:.25rem .55rem;border-bottom:1px solid #e5e5e5;text-align:right;vertical-align:top;
white-space:nowrap}td.l,th{white-space:normal}.tw{overflow-x:auto}
th{background:#f4f4f6}td.l,th.l{text-align:left}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dl.summary dt{font-weight:600}dl.summary dd{margin:0}
.warn{background:#fff6e0;border-left:4px solid #e0a000;padding:.4rem .8rem;margin:.4rem 0}
.note{background:#eef4fb;border-left:4px solid #3a78c2;padding:.4rem .8rem;margin:.4rem 0}
.muted{color:#666}img{max-width:100%;height:auto;display:block;margin:.5rem 0}
footer{margin-top:2rem;font-size:.8rem;color:#666}
"""


def esc(value: object) -> str:
    """HTML-escape any value's text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, fmt: str = ".1f", unit: str = "", missing: str = "–") -> str:
    """A number formatted with its unit, or ``missing`` for None/NaN/inf (already escaped)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(x):
        return missing
    return esc(f"{x:{fmt}}{unit}")


def when(t: datetime | Any, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A timestamp as text (escaped); '–' when missing."""
    if t is None:
        return "–"
    try:
        return esc(t.strftime(fmt))
    except (AttributeError, ValueError):
        return esc(t)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    left: Sequence[int] = (0,),
    raw: bool = False,
    caption: str | None = None,
) -> str:
    """An HTML table. Cells are escaped unless ``raw`` (cells built with :func:`num`, :func:`esc`).

    ``left`` lists the column indexes aligned left (text columns).
    """
    cls = [' class="l"' if i in left else "" for i in range(len(headers))]
    head = "".join(f"<th{cls[i]}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(
            f"<td{cls[i] if i < len(cls) else ''}>{c if raw else esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    rows_html = "".join(body)
    return (
        f'<div class="tw"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{rows_html}</tbody></table></div>"
    )


def png_img(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG embedded as a base64 ``data:`` URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def section(title: str, body: str, *, ident: str) -> str:
    """A titled section; ``ident`` is the fixed id tests and links rely on."""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{body}</section>'


def paragraphs(lines: Iterable[str], cls: str = "") -> str:
    """Escaped text, one ``<p>`` per line."""
    attr = f' class="{esc(cls)}"' if cls else ""
    return "".join(f"<p{attr}>{esc(line)}</p>" for line in lines)


def page(title: str, body: str, *, footer: str = "") -> str:
    """A complete HTML document; ``title`` is escaped, ``body`` must already be safe HTML."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n<h1>{esc(title)}</h1>\n{body}\n"
        f"<footer>{esc(footer)}</footer>\n</body></html>\n"
    )
