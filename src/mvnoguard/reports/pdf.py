"""PDF pieces shared by the enforcement documents: the Chinese font, styles, tables, charts.

Every PDF uses reportlab's built-in CID font ``STSong-Light``: the viewer supplies the glyphs,
so no font file ships with the project, nothing is fetched from the network, and the text stays
extractable (search, copy, screen readers, tests). Documents are built in invariant mode, so
the same content gives the same bytes.

This module lays out text it is given; it never decides what a document says, and it never
passes caller text to reportlab's paragraph markup unescaped (an enterprise name is text, not
markup).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

# reportlab ships no type information: its names are Any to mypy, kept to this one module.
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors, enums, pagesizes, units
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import cidfonts, pdfmetrics
from reportlab.platypus import (
    Flowable,
    LayoutError,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from mvnoguard.errors import MvnoguardError

__all__ = [
    "CJK_FONT",
    "FRAME_WIDTH",
    "DocumentStyles",
    "Flowable",
    "RateBar",
    "Spacer",
    "document_styles",
    "paragraph",
    "rate_axis_top",
    "rate_charts",
    "register_cjk_font",
    "table",
    "write_pdf",
]

CJK_FONT = "STSong-Light"
_MARGIN = 20 * units.mm
FRAME_WIDTH = pagesizes.A4[0] - 2 * _MARGIN
# A chart taller than a page cannot be laid out, so long lists become several charts.
_BARS_PER_CHART = 25


def register_cjk_font() -> None:
    """Register ``STSong-Light`` with reportlab once per process (later calls do nothing)."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(cidfonts.UnicodeCIDFont(CJK_FONT))


@dataclass(frozen=True, slots=True)
class DocumentStyles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    plain: ParagraphStyle
    signature: ParagraphStyle
    cell: ParagraphStyle


def document_styles() -> DocumentStyles:
    """The paragraph styles of an official document, all in the CJK font with CJK wrapping."""
    register_cjk_font()
    body = ParagraphStyle(
        "body", fontName=CJK_FONT, fontSize=11, leading=19, wordWrap="CJK", firstLineIndent=22
    )
    return DocumentStyles(
        title=ParagraphStyle(
            "title",
            parent=body,
            fontSize=17,
            leading=26,
            alignment=enums.TA_CENTER,
            firstLineIndent=0,
            spaceAfter=10,
        ),
        heading=ParagraphStyle(
            "heading", parent=body, fontSize=12, firstLineIndent=0, spaceBefore=8, spaceAfter=4
        ),
        body=ParagraphStyle("body_spaced", parent=body, spaceAfter=6),
        plain=ParagraphStyle("plain", parent=body, firstLineIndent=0, spaceAfter=4),
        signature=ParagraphStyle(
            "signature", parent=body, firstLineIndent=0, alignment=enums.TA_RIGHT
        ),
        cell=ParagraphStyle("cell", parent=body, fontSize=9, leading=12, firstLineIndent=0),
    )


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: ``<``, ``>`` and ``&`` are shown, never read as markup."""
    return Paragraph(escape(text), style)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    style: ParagraphStyle,
    *,
    col_widths: Sequence[float] | None = None,
) -> Table:
    """A ruled table of plain-text cells that wrap; the header row repeats on every page."""
    cells = [[paragraph(text, style) for text in row] for row in [headers, *rows]]
    widths = list(col_widths) if col_widths is not None else None
    grid = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return grid


@dataclass(frozen=True, slots=True)
class RateBar:
    """One bar of a rate chart: a rate and its interval as fractions, and the text shown."""

    label: str
    rate: float
    ci_low: float
    ci_high: float
    caption: str


_LABEL_WIDTH = 110.0
_CAPTION_WIDTH = 130.0
_PITCH = 18.0
_BAR = 11.0


def _fit(text: str, width: float, size: float) -> str:
    """``text`` cut to ``width`` points with an ellipsis, so a long name cannot cover the bars."""
    if pdfmetrics.stringWidth(text, CJK_FONT, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", CJK_FONT, size) > width:
        text = text[:-1]
    return text + "…"


def rate_axis_top(bars: Sequence[RateBar]) -> float:
    """The axis end: the highest interval bound rounded up to a tenth (at least 10%)."""
    highest = max((bar.ci_high for bar in bars), default=0.0)
    return min(1.0, max(0.1, math.ceil(highest * 10 - 1e-9) / 10))


def _rate_chart(title: str, bars: Sequence[RateBar], width: float) -> Drawing:
    plot = width - _LABEL_WIDTH - _CAPTION_WIDTH
    top = rate_axis_top(bars)
    height = 40 + len(bars) * _PITCH
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 12, title, fontName=CJK_FONT, fontSize=10))
    axis_y = 14.0

    def x_of(value: float) -> float:
        return _LABEL_WIDTH + plot * min(max(value, 0.0), top) / top

    for tick in range(0, round(top * 100) + 1, 10):
        x = x_of(tick / 100)
        drawing.add(Line(x, axis_y, x, height - 20, strokeColor=colors.lightgrey))
        tick_label = f"{tick}%"
        drawing.add(String(x, 2, tick_label, fontName=CJK_FONT, fontSize=7, textAnchor="middle"))
    for i, bar in enumerate(bars):
        y = height - 24 - (i + 1) * _PITCH + (_PITCH - _BAR) / 2
        middle = y + _BAR / 2
        label = _fit(bar.label, _LABEL_WIDTH - 6, 8)
        drawing.add(String(0, middle - 3, label, fontName=CJK_FONT, fontSize=8))
        drawing.add(
            Rect(
                _LABEL_WIDTH,
                y,
                x_of(bar.rate) - _LABEL_WIDTH,
                _BAR,
                fillColor=colors.HexColor("#3b6ea5"),
                strokeColor=None,
            )
        )
        low, high = x_of(bar.ci_low), x_of(bar.ci_high)
        whisker = colors.HexColor("#b03a2e")
        drawing.add(Line(low, middle, high, middle, strokeColor=whisker, strokeWidth=1))
        for end in (low, high):
            drawing.add(Line(end, y + 1, end, y + _BAR - 1, strokeColor=whisker, strokeWidth=1))
        drawing.add(
            String(
                width - _CAPTION_WIDTH + 6, middle - 3, bar.caption, fontName=CJK_FONT, fontSize=8
            )
        )
    return drawing


def rate_charts(
    title: str, bars: Sequence[RateBar], *, width: float = FRAME_WIDTH
) -> list[Drawing]:
    """Horizontal rate bars with their 95% interval as whiskers, as page-sized charts."""
    register_cjk_font()
    chunks = [bars[i : i + _BARS_PER_CHART] for i in range(0, len(bars), _BARS_PER_CHART)]
    return [
        _rate_chart(title if i == 0 else f"{title}（续）", chunk, width)
        for i, chunk in enumerate(chunks)
    ]


def write_pdf(path: Path, story: Sequence[Flowable], *, title: str, author: str) -> Path:
    """Lay out ``story`` on A4 pages and write it to ``path`` (nothing written on failure)."""
    register_cjk_font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesizes.A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=title,
        author=author,
        creator="mvnoguard",
        invariant=1,
    )
    try:
        document.build(list(story))
    except LayoutError as exc:
        raise MvnoguardError(
            f"the document {path.name} cannot be laid out on A4 pages: {exc}",
            code="report_layout",
        ) from exc
    path.write_bytes(buffer.getvalue())
    return path
