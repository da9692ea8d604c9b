"""The market report: the seed's table, users by enterprise and violation rates, as one HTML file.

Charts are inline SVG drawn here, so the report opens anywhere with no network. The report
holds aggregates only: no number, document or name of any subscriber.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from mvnoguard.analytics.statistics import MarketStatistics

_BAR_HEIGHT = 14
_LABEL_WIDTH = 120
_CHART_WIDTH = 520


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """A horizontal bar chart as an SVG element (values >= 0)."""
    top = max((value for _, value in rows), default=0.0) or 1.0
    height = 30 + len(rows) * (_BAR_HEIGHT + 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{_LABEL_WIDTH + _CHART_WIDTH + 90}" height="{height}">',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 26 + i * (_BAR_HEIGHT + 4)
        width = _CHART_WIDTH * value / top
        shown = f"{value:,.1f}{unit}" if unit == "%" else f"{value:,.0f}{unit}"
        parts.append(
            f'<text x="0" y="{y + 11}" font-size="11">{escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{_BAR_HEIGHT}" '
            f'fill="#3b6ea5"/>'
            f'<text x="{_LABEL_WIDTH + width + 4:.1f}" y="{y + 11}" font-size="11">'
            f"{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_market_report(
    stats: MarketStatistics, audit: dict[str, Any] | None, *, sections: Sequence[str] = ()
) -> str:
    seed_rows = [
        ("enterprises approved", stats.enterprises_approved),
        ("enterprises issuing numbers", stats.enterprises_issuing),
        ("users", f"{stats.users_total:,}"),
        ("enterprises with more than 1 million users", stats.enterprises_over_1m),
        ("enterprises with more than 2 million users", stats.enterprises_over_2m),
        ("enterprises with more than 4 million users", stats.enterprises_over_4m),
        ("real-name rate", f"{(stats.real_name_rate or 0) * 100:.2f}%"),
    ]
    users = [(e.enterprise_code, float(e.users)) for e in stats.enterprises if e.users]
    parts = [
        "<h2>The market</h2>",
        _table(["measure", "value"], seed_rows),
        bar_chart("Users by enterprise", users),
    ]
    if audit is not None:
        audited = [e for e in audit["enterprises"] if e["audited"]]
        audited.sort(key=lambda e: -(e["violation_rate"] or 0))
        rates = [(e["enterprise_code"], 100 * (e["violation_rate"] or 0)) for e in audited]
        kinds = sorted({k for e in audited for k in e["violations"]})
        parts += [
            "<h2>Registry audit</h2>",
            bar_chart("Violation rate by enterprise", rates, unit="%"),
            _table(
                ["enterprise", "audited", "violating", "rate", *kinds],
                [
                    [
                        e["enterprise_code"],
                        f"{e['audited']:,}",
                        f"{e['violating']:,}",
                        f"{100 * (e['violation_rate'] or 0):.2f}%",
                        *(f"{e['violations'][k]:,}" for k in kinds),
                    ]
                    for e in audited
                ],
            ),
        ]
    parts += list(sections)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>mvnoguard market report</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}"
        "</style></head><body><h1>mvnoguard market report</h1>"
        f"<p>Generated {generated}. Aggregates only: no subscriber data.</p>"
        + "".join(parts)
        + "</body></html>"
    )


def write_report(html: str, reports_dir: Path, name: str = "market-report.html") -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / name
    path.write_text(html, encoding="utf-8")
    return path
