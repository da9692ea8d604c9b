"""The periodic public bulletin: every inspected enterprise, its violation rate and interval,
its tier and the cases issued, in the form of the ministry's published notices (HTML and PDF).

It is a public document: enterprise aggregates only, never a subscriber, an outlet or a
document number. The figures are printed exactly as the enterprises' own notices print them
(:func:`~mvnoguard.reports.notices.percent`). It does not decide tiers or cases; it lists them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

from mvnoguard.errors import InvalidInput
from mvnoguard.reports import pdf
from mvnoguard.reports.charts import rate_chart_svg
from mvnoguard.reports.notices import (
    CASE_KIND_LABELS,
    DEFAULT_ISSUER,
    chinese_date,
    html_page,
    html_table,
    interval_text,
    percent,
)

__all__ = ["BulletinRow", "bulletin_title", "period_slug", "render_bulletin_html", "write_bulletin"]

# A tier named after a case kind shows as that kind's label; any other tier shows as given.
_TIER_LABELS = {**CASE_KIND_LABELS, "none": "无"}
_HEADERS = [
    "序号",
    "企业名称",
    "检查网点数",
    "违规网点数",
    "违规率",
    "95%置信区间",
    "处置档次",
    "已采取措施",
]
_CHART_TITLE = "各企业暗访检查违规率及95%置信区间"


@dataclass(frozen=True, slots=True)
class BulletinRow:
    """One enterprise's line in the bulletin (rates are fractions)."""

    enterprise_code: str
    enterprise_name: str
    inspected: int
    violations: int
    rate: float
    ci_low: float
    ci_high: float
    tier: str
    cases: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.violations <= self.inspected:
            raise InvalidInput(
                f"{self.enterprise_code}: need 0 <= violations <= inspected", field="violations"
            )
        if not 0.0 <= self.ci_low <= self.rate <= self.ci_high <= 1.0:
            raise InvalidInput(
                f"{self.enterprise_code}: need 0 <= ci_low <= rate <= ci_high <= 1",
                field="ci_low",
            )


def bulletin_title(period: str) -> str:
    return f"关于{period}移动通信转售企业实名登记违规情况的通报"


def period_slug(period: str) -> str:
    """A file-name part for ``period``: ``"2016年7月"`` -> ``"2016-7"``.

    Only the ASCII letters and digits survive; when words would be lost on the way (``第三季度``)
    a short hash of the whole period keeps two periods from sharing a file.
    """
    slug = re.sub(r"[^0-9A-Za-z]+", "-", period).strip("-").lower()
    lost = re.sub(r"[0-9A-Za-z\s年月日至/\-–—]+", "", period)
    if not slug or lost:
        digest = hashlib.sha256(period.encode()).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else digest
    return slug


def _ordered(rows: Sequence[BulletinRow]) -> list[BulletinRow]:
    """Worst first, as the published notices list them; the code breaks ties stably."""
    return sorted(rows, key=lambda row: (-row.rate, row.enterprise_code))


def _cells(index: int, row: BulletinRow) -> list[str]:
    cases = "、".join(CASE_KIND_LABELS.get(case, case) for case in row.cases) or "—"
    return [
        f"{index}",
        row.enterprise_name,
        f"{row.inspected}",
        f"{row.violations}",
        percent(row.rate),
        interval_text(row.ci_low, row.ci_high),
        _TIER_LABELS.get(row.tier, row.tier),
        cases,
    ]


def _bars(rows: Sequence[BulletinRow]) -> list[pdf.RateBar]:
    return [
        pdf.RateBar(
            row.enterprise_name,
            row.rate,
            row.ci_low,
            row.ci_high,
            f"{percent(row.rate)}（{interval_text(row.ci_low, row.ci_high)}）",
        )
        for row in rows
    ]


def _summary(period: str, rows: Sequence[BulletinRow], issuer: str) -> list[str]:
    inspected = sum(row.inspected for row in rows)
    violations = sum(row.violations for row in rows)
    overall = f"，总体违规率 {percent(violations / inspected)}" if inspected else ""
    acted = sum(1 for row in rows if row.cases)
    measures = (
        f"对违规问题突出的 {acted} 家企业，已依法依规分别采取通报批评、责令整改、约谈、暂停新号码"
        "分配等措施（见下表）。"
        if acted
        else "本期未对企业采取处置措施。"
    )
    return [
        f"为落实电话用户真实身份信息登记制度，{issuer}于{period}组织对 {len(rows)} 家"
        f"移动通信转售企业的营业网点开展了实名登记暗访检查，共检查网点 {inspected} 个，"
        f"发现违规 {violations} 个{overall}。现将有关情况通报如下。",
        f"{measures}违规率的95%置信区间按威尔逊（Wilson）方法计算。",
        "各移动通信转售企业要严格落实“先登记、后服务，不登记、不开通服务”的要求，加强营业网点"
        "和代理渠道管理，切实提高实名登记质量。",
    ]


def render_bulletin_html(
    period: str,
    rows: Sequence[BulletinRow],
    *,
    published_on: date,
    issuer: str = DEFAULT_ISSUER,
) -> str:
    """The bulletin as one self-contained HTML page (inline SVG chart, every text escaped)."""
    ordered = _ordered(rows)
    title = bulletin_title(period)
    body = [
        f"<h1>{escape(title)}</h1>",
        *(f'<p class="body">{escape(line)}</p>' for line in _summary(period, ordered, issuer)),
        html_table(_HEADERS, [_cells(i, row) for i, row in enumerate(ordered, start=1)]),
    ]
    if ordered:
        body.append(rate_chart_svg(_CHART_TITLE, _bars(ordered)))
    body.append(f'<p class="sign">{escape(issuer)}<br>{escape(chinese_date(published_on))}</p>')
    return html_page(title, "".join(body))


def _bulletin_story(
    period: str, ordered: Sequence[BulletinRow], published_on: date, issuer: str
) -> list[pdf.Flowable]:
    styles = pdf.document_styles()
    widths = [30, 100, 56, 56, 44, 78, 56, pdf.FRAME_WIDTH - 420]
    story: list[pdf.Flowable] = [
        pdf.paragraph(bulletin_title(period), styles.title),
        *(pdf.paragraph(line, styles.body) for line in _summary(period, ordered, issuer)),
        pdf.table(
            _HEADERS,
            [_cells(i, row) for i, row in enumerate(ordered, start=1)],
            styles.cell,
            col_widths=widths,
        ),
        pdf.Spacer(1, 10),
        *pdf.rate_charts(_CHART_TITLE, _bars(ordered)),
        pdf.Spacer(1, 16),
        pdf.paragraph(issuer, styles.signature),
        pdf.paragraph(chinese_date(published_on), styles.signature),
    ]
    return story


def write_bulletin(
    period: str,
    rows: Sequence[BulletinRow],
    folder: Path,
    *,
    published_on: date,
    issuer: str = DEFAULT_ISSUER,
    slug: str | None = None,
) -> tuple[Path, Path]:
    """Write ``bulletin-{slug}.html`` and ``.pdf`` into ``folder``; return both paths.

    ``slug`` defaults to :func:`period_slug` of ``period``.
    """
    slug = period_slug(period) if slug is None else slug
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", slug):
        raise InvalidInput("a slug is letters, digits, '.', '_' or '-'", field="slug")
    folder.mkdir(parents=True, exist_ok=True)
    ordered = _ordered(rows)
    pdf_path = pdf.write_pdf(
        folder / f"bulletin-{slug}.pdf",
        _bulletin_story(period, ordered, published_on, issuer),
        title=bulletin_title(period),
        author=issuer,
    )
    html_path = folder / f"bulletin-{slug}.html"
    html_path.write_text(
        render_bulletin_html(period, ordered, published_on=published_on, issuer=issuer),
        encoding="utf-8",
    )
    return html_path, pdf_path
