"""Horizontal bar charts of the supervision documents, as inline SVG and as PDF drawings.

Two kinds: rates with their 95% interval as whiskers (:func:`rate_chart_svg`; the PDF twin is
:func:`mvnoguard.reports.pdf.rate_charts`), and values against each one's threshold, marked in
red (:func:`threshold_chart_svg`, :func:`threshold_chart_pdf`). An SVG is one self-contained
element with the title and every label escaped, so a page can inline it without fetching
anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# reportlab is otherwise kept to `pdf`; the threshold chart's shapes are drawn here until
# `pdf` offers a chart of values against thresholds.
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors

from mvnoguard.reports import pdf

__all__ = [
    "ThresholdBar",
    "rate_chart_svg",
    "threshold_axis_top",
    "threshold_chart_pdf",
    "threshold_chart_svg",
]


@dataclass(frozen=True, slots=True)
class ThresholdBar:
    """One bar of a threshold chart: a rate, the threshold it is judged by, the text shown."""

    label: str
    value: float
    threshold: float | None
    caption: str


_SVG_LABEL = 200
_SVG_PLOT = 360
_SVG_CAPTION = 170


def _svg_chart(
    title: str, rows: int, top: float, ticks: Sequence[tuple[float, str]]
) -> tuple[list[str], Callable[[float], float]]:
    """The frame of a horizontal bar chart of ``rows`` bars on an axis from 0 to ``top``: the
    opening tag, the title and the grid with its tick labels. Returns the parts so far (the
    caller adds its bars and ``</svg>``) and the x position of a value."""
    height = 46 + rows * 22
    width = _SVG_LABEL + _SVG_PLOT + _SVG_CAPTION

    def x_of(value: float) -> float:
        return _SVG_LABEL + _SVG_PLOT * min(max(value, 0.0), top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" font-family="sans-serif">',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    for value, text in ticks:
        x = x_of(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{height - 18}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 4}" font-size="10" text-anchor="middle">'
            f"{text}</text>"
        )
    return parts, x_of


def rate_chart_svg(title: str, bars: Sequence[pdf.RateBar]) -> str:
    """Horizontal rate bars with their interval as whiskers, as one inline SVG element."""
    top = pdf.rate_axis_top(bars)
    ticks = [(tick / 100, f"{tick}%") for tick in range(0, round(top * 100) + 1, 10)]
    parts, x_of = _svg_chart(title, len(bars), top, ticks)
    for i, bar in enumerate(bars):
        y = 28 + i * 22
        low, high, mid = x_of(bar.ci_low), x_of(bar.ci_high), y + 7
        label = bar.label if len(bar.label) <= 14 else bar.label[:13] + "…"
        parts.append(
            f'<g><title>{escape(bar.label)}</title><text x="0" y="{y + 11}" font-size="12">'
            f"{escape(label)}</text></g>"
            f'<rect x="{_SVG_LABEL}" y="{y}" width="{x_of(bar.rate) - _SVG_LABEL:.1f}" '
            f'height="14" fill="#3b6ea5"/>'
            f'<path d="M{low:.1f} {y + 2}v10M{low:.1f} {mid}H{high:.1f}M{high:.1f} {y + 2}v10" '
            f'stroke="#b03a2e" stroke-width="1.5" fill="none"/>'
            f'<text x="{_SVG_LABEL + _SVG_PLOT + 8}" y="{y + 11}" font-size="12">'
            f"{escape(bar.caption)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def threshold_axis_top(bars: Sequence[ThresholdBar]) -> float:
    """The axis end: the largest value or threshold rounded up to 1, 2 or 5 times a power of
    ten (at least 1), so the threshold marks always sit on the chart."""
    largest = max(
        [bar.value for bar in bars] + [bar.threshold for bar in bars if bar.threshold is not None],
        default=0.0,
    )
    top = 1.0
    while top < largest - 1e-9:
        for step in (2.0, 2.5, 2.0):  # 1 -> 2 -> 5 -> 10 -> 20 ...
            top *= step
            if top >= largest - 1e-9:
                break
    return top


def threshold_chart_svg(title: str, bars: Sequence[ThresholdBar]) -> str:
    """Horizontal bars with each one's threshold as a red mark, as one inline SVG element."""
    top = threshold_axis_top(bars)
    ticks = [(top * i / 5, f"{top * i / 5:g}") for i in range(6)]
    parts, x_of = _svg_chart(title, len(bars), top, ticks)
    for i, bar in enumerate(bars):
        y = 28 + i * 22
        parts.append(
            f'<text x="0" y="{y + 11}" font-size="12">{escape(bar.label)}</text>'
            f'<rect x="{_SVG_LABEL}" y="{y}" width="{x_of(bar.value) - _SVG_LABEL:.1f}" '
            f'height="14" fill="#3b6ea5"/>'
        )
        if bar.threshold is not None:
            mark = x_of(bar.threshold)
            parts.append(
                f'<path d="M{mark:.1f} {y - 2}v18" stroke="#b03a2e" stroke-width="2" fill="none"/>'
            )
        parts.append(
            f'<text x="{_SVG_LABEL + _SVG_PLOT + 8}" y="{y + 11}" font-size="12">'
            f"{escape(bar.caption)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def threshold_chart_pdf(title: str, bars: Sequence[ThresholdBar]) -> pdf.Flowable:
    """The PDF twin of :func:`threshold_chart_svg` (reportlab shapes, the CJK font)."""
    pdf.register_cjk_font()
    width: float = pdf.FRAME_WIDTH
    label_width, caption_width, pitch, bar_height = 110.0, 130.0, 18.0, 11.0
    plot = width - label_width - caption_width
    top = threshold_axis_top(bars)
    height = 40 + len(bars) * pitch
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 12, title, fontName=pdf.CJK_FONT, fontSize=10))

    def x_of(value: float) -> float:
        return label_width + plot * min(max(value, 0.0), top) / top

    for i in range(6):
        tick = top * i / 5
        x = x_of(tick)
        drawing.add(Line(x, 14, x, height - 20, strokeColor=colors.lightgrey))
        drawing.add(
            String(x, 2, f"{tick:g}", fontName=pdf.CJK_FONT, fontSize=7, textAnchor="middle")
        )
    for i, bar in enumerate(bars):
        y = height - 24 - (i + 1) * pitch + (pitch - bar_height) / 2
        drawing.add(String(0, y + bar_height / 2 - 3, bar.label, fontName=pdf.CJK_FONT, fontSize=8))
        drawing.add(
            Rect(
                label_width,
                y,
                x_of(bar.value) - label_width,
                bar_height,
                fillColor=colors.HexColor("#3b6ea5"),
                strokeColor=None,
            )
        )
        if bar.threshold is not None:
            mark = x_of(bar.threshold)
            red = colors.HexColor("#b03a2e")
            drawing.add(Line(mark, y - 2, mark, y + bar_height + 2, strokeColor=red, strokeWidth=2))
        drawing.add(
            String(
                width - caption_width + 6,
                y + bar_height / 2 - 3,
                bar.caption,
                fontName=pdf.CJK_FONT,
                fontSize=8,
            )
        )
    return drawing
