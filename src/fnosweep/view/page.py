"""The one HTML writer: sections and figures in, one self-contained file out.

plotly.js is embedded once, in the first figure (no CDN: the file opens offline, from a
mail attachment). Every text that came from users (study name, parameter values, reasons,
the conclusion's markdown) is escaped here or by the markdown renderer with raw HTML off.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:18px 32px}header h1{margin:0 0 6px;font-size:24px}
header p{margin:0;color:#cfd8dc;font-size:14px}nav{padding:8px 32px;background:#eceff1;font-size:14px}
nav a{margin-right:14px;color:#37474f}main{padding:0 32px 48px;max-width:1500px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;margin:20px 0;padding:12px 20px}
h2{font-size:19px;margin:6px 0 4px}p.caption{color:#555;font-size:14px;margin:2px 0 8px}
.conclusion{font-size:15px;line-height:1.45}.conclusion h1{font-size:19px}.conclusion h2{font-size:16px}
.empty{font-size:17px;padding:24px 0}.scroll{max-height:520px;overflow:auto}
table{border-collapse:collapse;font-size:12.5px}
th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;white-space:nowrap}
th{position:sticky;top:0;background:#f5f5f5}td.reason{white-space:normal;min-width:280px}
details.trial{border-top:1px solid #eee;padding:4px 0}details.trial summary{cursor:pointer;font-size:14px}
details.trial[open] summary{font-weight:600}.trial-body{padding:6px 12px}
table.facts th{position:static;background:none;color:#555;font-weight:normal}
.diagnosis{font-size:14px;line-height:1.4;max-width:1100px}.diagnosis h1{font-size:17px}
.diagnosis h2{font-size:15px}.diagnosis pre{white-space:pre-wrap}
"""


@dataclass(frozen=True)
class Section:
    """One part of the report: a heading, a caption, and a figure or ready HTML."""

    key: str
    title: str
    caption: str = ""
    figure: go.Figure | None = None
    html_body: str = ""
    """Already-safe HTML (built by this module's helpers), used when there is no figure."""
    extra: dict[str, Any] = field(default_factory=dict)


def markdown_html(text: str) -> str:
    """Markdown as HTML with raw HTML disabled: a `<script>` in a reason stays text."""
    return _markdown().render(text)


@functools.cache
def _markdown() -> Any:
    # One parser for the page: building one costs more than rendering a trial's diagnosis.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def table_html(frame: pd.DataFrame, *, wide: Sequence[str] = ("reason",), link: str | None = None) -> str:
    """A DataFrame as an escaped HTML table (numbers to 4 significant digits). With `link`,
    the first column's cells link to `#<link>-<value>` (a trial's section)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    first = frame.columns[0] if len(frame.columns) else None
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            text = html.escape(_cell(v))
            if link and c == first and text:
                text = f'<a href="#{html.escape(link)}-{text}">{text}</a>'
            cells.append(f"<td{' class=reason' if c in wide else ''}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def render(*, title: str, meta: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole page. Figures are drawn in order; the first one carries plotly.js."""
    import plotly.io as pio

    first = True
    parts = []
    for s in sections:
        body = s.html_body
        if s.figure is not None:
            body = pio.to_html(
                s.figure,
                full_html=False,
                include_plotlyjs=first,
                div_id=f"fig-{s.key}",
                config={"displaylogo": False, "responsive": True},
            )
            first = False
        caption = f"<p class=caption>{html.escape(s.caption)}</p>" if s.caption else ""
        parts.append(f'<section id="{html.escape(s.key)}"><h2>{html.escape(s.title)}</h2>{caption}{body}</section>')
    nav = " ".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in sections)
    meta_html = " · ".join(html.escape(m) for m in meta)
    return (
        f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{meta_html}</p></header><nav>{nav}</nav>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )


def _cell(v: Any) -> str:
    if v is None or type(v).__name__ == "NAType":  # pandas' missing integer
        return ""
    if isinstance(v, float):
        return "" if v != v else f"{v:.4g}"
    return str(v)
