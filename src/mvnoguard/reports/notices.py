"""The documents of enforcement cases: notice of criticism, rectification order, interview,
suspension of new number allocation, in Chinese, as one HTML and one PDF file per case.

The words of a notice are composed once (:func:`notice_text`) and rendered twice, so the HTML
and the PDF always say the same thing with the same figures. Rates are fractions in, and
percentages with one decimal out (:func:`percent`), everywhere. The documents hold an
enterprise's aggregates only: no subscriber, outlet address or inspector appears in them.
Nothing here decides whether a case is issued; it only writes up a case already decided.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Literal, get_args

from mvnoguard.errors import InvalidInput
from mvnoguard.reports import pdf

__all__ = [
    "CASE_KIND_LABELS",
    "DEFAULT_ISSUER",
    "VIOLATION_KIND_LABELS",
    "CaseKind",
    "NoticeData",
    "NoticeText",
    "chinese_date",
    "html_page",
    "html_table",
    "interval_text",
    "notice_text",
    "percent",
    "rate_chart_svg",
    "render_notice_html",
    "write_notice",
]

CaseKind = Literal[
    "notice_of_criticism", "rectification_order", "interview", "suspend_number_allocation"
]
CASE_KIND_LABELS: Mapping[str, str] = {
    "notice_of_criticism": "通报批评",
    "rectification_order": "责令整改",
    "interview": "约谈",
    "suspend_number_allocation": "暂停新号码分配",
}
# In the order the documents list them (the order of the inspections contract).
VIOLATION_KIND_LABELS: Mapping[str, str] = {
    "no_id_check": "未查验身份证件",
    "manual_entry": "手工录入证件信息",
    "someone_elses_id": "冒用他人证件",
    "pre_activated_card": "预开卡",
    "no_face_check": "未进行人像比对",
    "sub_delegated_agent": "违规转授权代理",
    "over_card_limit": "超出一证五卡限制",
    "other": "其他",
}
DEFAULT_ISSUER = "工业和信息化部信息通信管理局"
_REGULATION = "《电话用户真实身份信息登记规定》（工业和信息化部令第25号）"
# A case id becomes a file name: letters, digits and . _ - only, so it cannot leave the folder.
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def percent(fraction: float) -> str:
    """A rate as the documents print it: ``0.3394`` -> ``"33.9%"``."""
    return f"{fraction * 100:.1f}%"


def interval_text(low: float, high: float) -> str:
    """A 95% interval as the documents print it: ``"25.7%–43.2%"``."""
    return f"{percent(low)}–{percent(high)}"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class NoticeData:
    """One issued case, with the inspection figures it rests on (rates are fractions)."""

    case_id: str
    kind: CaseKind
    enterprise_code: str
    enterprise_name: str
    period: str
    inspected: int
    violations: int
    rate: float
    ci_low: float
    ci_high: float
    violation_counts: Mapping[str, int]
    registry_violation_rate: float | None
    issued_on: date
    deadline: date | None
    issuer: str = DEFAULT_ISSUER

    def __post_init__(self) -> None:
        if not _CASE_ID.fullmatch(self.case_id):
            raise InvalidInput(
                "a case id is 1-100 letters, digits, '.', '_' or '-'", field="case_id"
            )
        if self.kind not in get_args(CaseKind):
            raise InvalidInput(f"unknown case kind {self.kind!r}", field="kind")
        if not 0 <= self.violations <= self.inspected or self.inspected == 0:
            raise InvalidInput(
                "a notice needs 0 <= violations <= inspected and inspected > 0", field="inspected"
            )
        if not math.isclose(self.rate, self.violations / self.inspected, abs_tol=1e-6):
            raise InvalidInput("rate is not violations / inspected", field="rate")
        if not 0.0 <= self.ci_low <= self.rate <= self.ci_high <= 1.0:
            raise InvalidInput("need 0 <= ci_low <= rate <= ci_high <= 1", field="ci_low")
        unknown = sorted(set(self.violation_counts) - set(VIOLATION_KIND_LABELS))
        if unknown:
            raise InvalidInput(f"unknown violation kinds {unknown}", field="violation_counts")
        if any(count < 0 for count in self.violation_counts.values()):
            raise InvalidInput("violation counts cannot be negative", field="violation_counts")
        if self.registry_violation_rate is not None and not 0 <= self.registry_violation_rate <= 1:
            raise InvalidInput("a rate lies in [0, 1]", field="registry_violation_rate")
        if self.kind == "rectification_order" and self.deadline is None:
            raise InvalidInput("a rectification order needs a deadline", field="deadline")
        if self.deadline is not None and self.deadline <= self.issued_on:
            raise InvalidInput("the deadline must come after the issue date", field="deadline")


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The words of one notice, in reading order, before any markup."""

    title: str
    reference: str
    addressee: str
    findings: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]
    violation_rows: tuple[tuple[str, str], ...]
    requirement: tuple[str, ...]
    issuer: str
    dated: str
    chart: pdf.RateBar = field(repr=False)


_TITLES: Mapping[str, str] = {
    "notice_of_criticism": "关于对{name}实名登记违规问题的通报批评",
    "rectification_order": "关于对{name}实名登记违规问题的责令整改通知书",
    "interview": "关于对{name}实名登记违规问题的约谈通知",
    "suspend_number_allocation": "关于对{name}暂停新号码分配的决定",
}


def _requirement(data: NoticeData) -> tuple[str, ...]:
    by = f"于{chinese_date(data.deadline)}前" if data.deadline else ""
    report = f"{by}将整改情况书面报送{data.issuer}"
    if data.kind == "notice_of_criticism":
        return (
            f"经研究，决定对{data.enterprise_name}予以通报批评。你单位应深刻吸取教训，立即对全部"
            "营业网点和代理渠道开展自查，严格落实“先登记、后服务，不登记、不开通服务”的要求，"
            f"并{report}。",
            "特此通报。",
        )
    if data.kind == "rectification_order":
        return (
            f"现责令你单位{by}完成整改：全面清理违规网点和代理渠道，停止违规渠道的入网业务，"
            f"对违规登记的用户进行补登记或重新核验，并将整改报告书面报送{data.issuer}。"
            "逾期未整改或整改不到位的，将依法依规采取进一步处理措施。",
            "特此通知。",
        )
    if data.kind == "interview":
        when = by or "按通知时间"
        return (
            f"经研究，决定约谈你单位主要负责人。请你单位主要负责人{when}到{data.issuer}"
            "接受约谈，说明违规原因，并提交书面整改方案。",
            "特此通知。",
        )
    then = f"，并{report}" if by else ""
    return (
        f"经研究，决定自{chinese_date(data.issued_on)}起暂停向你单位分配新的移动通信转售码号"
        f"资源。你单位应立即整改{then}；经检查验收合格后，方可恢复码号分配。",
        "特此决定。",
    )


def notice_text(data: NoticeData) -> NoticeText:
    """Compose the notice of ``data``: every sentence the HTML and the PDF show."""
    name = data.enterprise_name
    interval = interval_text(data.ci_low, data.ci_high)
    findings = [
        f"根据{_REGULATION}和移动通信转售业务试点有关要求，{data.issuer}于{data.period}"
        f"组织对你单位（企业代码 {data.enterprise_code}）营业网点落实电话用户实名登记制度的"
        "情况进行了暗访检查。",
        f"检查网点 {data.inspected} 个，发现违规 {data.violations} 个，"
        f"违规率 {percent(data.rate)}（95%置信区间 {interval}）。",
    ]
    counted = [
        (label, data.violation_counts[kind])
        for kind, label in VIOLATION_KIND_LABELS.items()
        if data.violation_counts.get(kind, 0) > 0
    ]
    if counted:
        listed = "、".join(f"{label} {count} 个" for label, count in counted)
        findings.append(f"主要违规情形（按网点计，同一网点可能存在多种情形）：{listed}。")
    if data.registry_violation_rate is not None:
        findings.append(
            f"经抽查你单位用户登记信息，登记信息违规率为 {percent(data.registry_violation_rate)}。"
        )
    findings.append(
        f"上述问题反映出你单位实名登记制度落实不到位、渠道管理存在明显漏洞，违反了{_REGULATION}"
        "的有关规定。"
    )
    figures = [
        ("检查网点数", f"{data.inspected}"),
        ("违规网点数", f"{data.violations}"),
        ("违规率", percent(data.rate)),
        ("95%置信区间", interval),
    ]
    if data.registry_violation_rate is not None:
        figures.append(("登记信息违规率", percent(data.registry_violation_rate)))
    return NoticeText(
        title=_TITLES[data.kind].format(name=name),
        reference=f"文号：{data.case_id}",
        addressee=f"{name}：",
        findings=tuple(findings),
        figures=tuple(figures),
        violation_rows=tuple((label, f"{count}") for label, count in counted),
        requirement=_requirement(data),
        issuer=data.issuer,
        dated=chinese_date(data.issued_on),
        chart=pdf.RateBar(
            name, data.rate, data.ci_low, data.ci_high, f"{percent(data.rate)}（{interval}）"
        ),
    )


_CHART_TITLE = "暗访检查违规率及95%置信区间"
_SVG_LABEL = 200
_SVG_PLOT = 360
_SVG_CAPTION = 170


def rate_chart_svg(title: str, bars: Sequence[pdf.RateBar]) -> str:
    """Horizontal rate bars with their interval as whiskers, as one inline SVG element."""
    top = pdf.rate_axis_top(bars)
    height = 46 + len(bars) * 22
    width = _SVG_LABEL + _SVG_PLOT + _SVG_CAPTION

    def x_of(value: float) -> float:
        return _SVG_LABEL + _SVG_PLOT * min(max(value, 0.0), top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" font-family="sans-serif">',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    for tick in range(0, round(top * 100) + 1, 10):
        x = x_of(tick / 100)
        parts.append(
            f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{height - 18}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 4}" font-size="10" text-anchor="middle">'
            f"{tick}%</text>"
        )
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


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, body: str) -> str:
    """A self-contained Chinese document page: inline style, no script, nothing fetched."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="generator" content="mvnoguard"><title>{escape(title)}</title><style>'
        'body{font-family:"SimSun","Songti SC",serif;margin:2em auto;max-width:52em;'
        "line-height:1.8}h1{text-align:center;font-size:1.5em}.ref{text-align:center}"
        "p.body{text-indent:2em}.sign{text-align:right}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #999;padding:2px 10px}th{background:#e8eef5}"
        f"</style></head><body><article>{body}</article></body></html>"
    )


def render_notice_html(data: NoticeData) -> str:
    """The notice as one self-contained HTML page (inline SVG chart, every text escaped)."""
    return _notice_html(notice_text(data))


def _notice_html(words: NoticeText) -> str:
    parts = [
        f"<h1>{escape(words.title)}</h1>",
        f'<p class="ref">{escape(words.reference)}</p>',
        f"<p>{escape(words.addressee)}</p>",
        *(f'<p class="body">{escape(line)}</p>' for line in words.findings),
        html_table(["指标", "数值"], words.figures),
    ]
    if words.violation_rows:
        parts.append(html_table(["违规情形", "违规网点数"], words.violation_rows))
    parts += [
        rate_chart_svg(_CHART_TITLE, [words.chart]),
        *(f'<p class="body">{escape(line)}</p>' for line in words.requirement),
        f'<p class="sign">{escape(words.issuer)}<br>{escape(words.dated)}</p>',
    ]
    return html_page(words.title, "".join(parts))


def _notice_story(words: NoticeText) -> list[pdf.Flowable]:
    styles = pdf.document_styles()
    story: list[pdf.Flowable] = [
        pdf.paragraph(words.title, styles.title),
        pdf.paragraph(words.reference, styles.signature),
        pdf.paragraph(words.addressee, styles.plain),
        *(pdf.paragraph(line, styles.body) for line in words.findings),
        pdf.table(["指标", "数值"], words.figures, styles.cell, col_widths=[120, 200]),
    ]
    if words.violation_rows:
        story += [
            pdf.Spacer(1, 8),
            pdf.table(
                ["违规情形", "违规网点数"], words.violation_rows, styles.cell, col_widths=[160, 80]
            ),
        ]
    story += [
        pdf.Spacer(1, 10),
        *pdf.rate_charts(_CHART_TITLE, [words.chart]),
        pdf.Spacer(1, 6),
        *(pdf.paragraph(line, styles.body) for line in words.requirement),
        pdf.Spacer(1, 16),
        pdf.paragraph(words.issuer, styles.signature),
        pdf.paragraph(words.dated, styles.signature),
    ]
    return story


def write_notice(data: NoticeData, folder: Path) -> tuple[Path, Path]:
    """Write ``{case_id}.html`` and ``{case_id}.pdf`` into ``folder``; return both paths."""
    words = notice_text(data)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"{data.case_id}.html"
    pdf_path = pdf.write_pdf(
        folder / f"{data.case_id}.pdf", _notice_story(words), title=words.title, author=data.issuer
    )
    html_path.write_text(_notice_html(words), encoding="utf-8")
    return html_path, pdf_path
