"""The documents of enforcement cases: notice of criticism, rectification order, interview,
suspension of new number allocation, in Chinese, as one HTML and one PDF file per case.

A notice rests on one basis, with its own figures and chart: secret inspections
(:class:`InspectionBasis`: outlets inspected, violation rate and its 95% interval) for the four
inspection measures, or nuisance (:class:`NuisanceBasis`: complaints and confirmed fraud
numbers per 10,000 users per 30 days against the interview thresholds) for a nuisance interview.

The words of a notice are composed once (:func:`notice_text`) and rendered twice, so the HTML
and the PDF always say the same thing with the same figures. Inspection rates are fractions in,
and percentages with one decimal out (:func:`percent`), everywhere; nuisance rates are printed
with two decimals (:func:`per_10k`). The documents hold an enterprise's aggregates only: no
subscriber, number, outlet address or inspector appears in them. Nothing here decides whether a
case is issued; it only writes up a case already decided.
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
from mvnoguard.reports.charts import (
    ThresholdBar,
    rate_chart_svg,
    threshold_chart_pdf,
    threshold_chart_svg,
)

__all__ = [
    "CASE_KIND_LABELS",
    "DEFAULT_ISSUER",
    "INSPECTION_KINDS",
    "NUISANCE_KINDS",
    "VIOLATION_KIND_LABELS",
    "CaseKind",
    "InspectionBasis",
    "NoticeData",
    "NoticeText",
    "NuisanceBasis",
    "chinese_date",
    "html_page",
    "html_table",
    "interval_text",
    "notice_text",
    "per_10k",
    "percent",
    "render_notice_html",
    "write_notice",
]

CaseKind = Literal[
    "notice_of_criticism",
    "rectification_order",
    "interview",
    "suspend_number_allocation",
    "nuisance_interview",
]
INSPECTION_KINDS: frozenset[str] = frozenset(
    {"notice_of_criticism", "rectification_order", "interview", "suspend_number_allocation"}
)
NUISANCE_KINDS: frozenset[str] = frozenset({"nuisance_interview"})
CASE_KIND_LABELS: Mapping[str, str] = {
    "notice_of_criticism": "通报批评",
    "rectification_order": "责令整改",
    "interview": "约谈",
    "suspend_number_allocation": "暂停新号码分配",
    "nuisance_interview": "约谈（投诉及涉诈）",
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
_FRAUD_NOTICE = "《关于防范和打击电信网络诈骗犯罪的通告》"
# A case id becomes a file name: letters, digits and . _ - only, so it cannot leave the folder.
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def percent(fraction: float) -> str:
    """A rate as the documents print it: ``0.3394`` -> ``"33.9%"``."""
    return f"{fraction * 100:.1f}%"


def interval_text(low: float, high: float) -> str:
    """A 95% interval as the documents print it: ``"25.7%–43.2%"``."""
    return f"{percent(low)}–{percent(high)}"


def per_10k(value: float) -> str:
    """A rate per 10,000 users per 30 days as the documents print it: ``33.871`` -> ``"33.87"``."""
    return f"{value:.2f}"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class InspectionBasis:
    """The secret-inspection figures a measure rests on (rates are fractions)."""

    inspected: int
    violations: int
    rate: float
    ci_low: float
    ci_high: float
    violation_counts: Mapping[str, int]
    registry_violation_rate: float | None

    def __post_init__(self) -> None:
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


@dataclass(frozen=True, slots=True)
class NuisanceBasis:
    """Complaints and confirmed fraud numbers of a period against the enterprise's users.

    Rates and thresholds are per 10,000 users per 30 days: ``count / users * 10,000 * 30 /
    days``. A threshold of ``None`` was not in force. At least one rate reaches its threshold,
    or there would be nothing to interview about.
    """

    users: int
    days: int
    complaints: int
    fraud_numbers: int
    complaints_per_10k: float
    fraud_numbers_per_10k: float
    complaint_threshold: float | None
    fraud_threshold: float | None

    def __post_init__(self) -> None:
        if self.users <= 0 or self.days <= 0:
            raise InvalidInput("a nuisance rate needs users > 0 and days > 0", field="users")
        if self.complaints < 0 or self.fraud_numbers < 0:
            raise InvalidInput("counts cannot be negative", field="complaints")
        for count, rate, name in (
            (self.complaints, self.complaints_per_10k, "complaints_per_10k"),
            (self.fraud_numbers, self.fraud_numbers_per_10k, "fraud_numbers_per_10k"),
        ):
            expected = count / self.users * 10_000 * 30 / self.days
            if not math.isclose(rate, expected, rel_tol=1e-9, abs_tol=1e-9):
                raise InvalidInput(f"{name} is not count per 10,000 users per 30 days", field=name)
        for threshold, name in (
            (self.complaint_threshold, "complaint_threshold"),
            (self.fraud_threshold, "fraud_threshold"),
        ):
            if threshold is not None and threshold <= 0:
                raise InvalidInput("a threshold is above 0", field=name)
        if not (self.complaints_reach or self.fraud_numbers_reach):
            raise InvalidInput("no rate reaches its threshold", field="complaint_threshold")

    @property
    def complaints_reach(self) -> bool:
        threshold = self.complaint_threshold
        return threshold is not None and self.complaints_per_10k >= threshold

    @property
    def fraud_numbers_reach(self) -> bool:
        threshold = self.fraud_threshold
        return threshold is not None and self.fraud_numbers_per_10k >= threshold


@dataclass(frozen=True, slots=True)
class NoticeData:
    """One issued case and the basis it rests on: inspections or nuisance."""

    case_id: str
    kind: CaseKind
    enterprise_code: str
    enterprise_name: str
    period: str
    basis: InspectionBasis | NuisanceBasis
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
        kinds = INSPECTION_KINDS if isinstance(self.basis, InspectionBasis) else NUISANCE_KINDS
        if self.kind not in kinds:
            raise InvalidInput(
                f"a {self.kind} does not rest on a {type(self.basis).__name__}", field="kind"
            )
        if self.kind == "rectification_order" and self.deadline is None:
            raise InvalidInput("a rectification order needs a deadline", field="deadline")
        if self.deadline is not None and self.deadline <= self.issued_on:
            raise InvalidInput("the deadline must come after the issue date", field="deadline")


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The words of one notice, in reading order, before any markup.

    The chart is the basis's own: one rate with its interval for inspections, rates against
    their thresholds for nuisance.
    """

    title: str
    reference: str
    addressee: str
    findings: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]
    violation_rows: tuple[tuple[str, str], ...]
    requirement: tuple[str, ...]
    issuer: str
    dated: str
    chart_title: str
    chart: pdf.RateBar | tuple[ThresholdBar, ...] = field(repr=False)


_TITLES: Mapping[str, str] = {
    "notice_of_criticism": "关于对{name}实名登记违规问题的通报批评",
    "rectification_order": "关于对{name}实名登记违规问题的责令整改通知书",
    "interview": "关于对{name}实名登记违规问题的约谈通知",
    "suspend_number_allocation": "关于对{name}暂停新号码分配的决定",
    "nuisance_interview": "关于对{name}号码被投诉及涉诈问题的约谈通知",
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
    if data.kind == "nuisance_interview":
        when = by or "按通知时间"
        return (
            f"经研究，决定约谈你单位主要负责人。请你单位主要负责人{when}到{data.issuer}"
            "接受约谈，说明号码被投诉和被用于诈骗的原因，并提交书面整改方案：对被投诉和涉诈"
            "号码及其同一证件名下的号码重新核验身份，排查相关营业网点和代理渠道，"
            "落实涉诈号码的及时处置。",
            "特此通知。",
        )
    then = f"，并{report}" if by else ""
    return (
        f"经研究，决定自{chinese_date(data.issued_on)}起暂停向你单位分配新的移动通信转售码号"
        f"资源。你单位应立即整改{then}；经检查验收合格后，方可恢复码号分配。",
        "特此决定。",
    )


_CHART_TITLE = "暗访检查违规率及95%置信区间"
_NUISANCE_CHART_TITLE = "投诉率及涉诈号码率（每万户每30天）与约谈阈值"


def notice_text(data: NoticeData) -> NoticeText:
    """Compose the notice of ``data``: every sentence the HTML and the PDF show."""
    if isinstance(data.basis, InspectionBasis):
        findings, figures, rows, chart_title, chart = _inspection_words(data, data.basis)
    else:
        findings, figures, rows, chart_title, chart = _nuisance_words(data, data.basis)
    return NoticeText(
        title=_TITLES[data.kind].format(name=data.enterprise_name),
        reference=f"文号：{data.case_id}",
        addressee=f"{data.enterprise_name}：",
        findings=findings,
        figures=figures,
        violation_rows=rows,
        requirement=_requirement(data),
        issuer=data.issuer,
        dated=chinese_date(data.issued_on),
        chart_title=chart_title,
        chart=chart,
    )


_Words = tuple[
    tuple[str, ...],
    tuple[tuple[str, str], ...],
    tuple[tuple[str, str], ...],
    str,
    pdf.RateBar | tuple[ThresholdBar, ...],
]


def _inspection_words(data: NoticeData, basis: InspectionBasis) -> _Words:
    interval = interval_text(basis.ci_low, basis.ci_high)
    findings = [
        f"根据{_REGULATION}和移动通信转售业务试点有关要求，{data.issuer}于{data.period}"
        f"组织对你单位（企业代码 {data.enterprise_code}）营业网点落实电话用户实名登记制度的"
        "情况进行了暗访检查。",
        f"检查网点 {basis.inspected} 个，发现违规 {basis.violations} 个，"
        f"违规率 {percent(basis.rate)}（95%置信区间 {interval}）。",
    ]
    counted = [
        (label, basis.violation_counts[kind])
        for kind, label in VIOLATION_KIND_LABELS.items()
        if basis.violation_counts.get(kind, 0) > 0
    ]
    if counted:
        listed = "、".join(f"{label} {count} 个" for label, count in counted)
        findings.append(f"主要违规情形（按网点计，同一网点可能存在多种情形）：{listed}。")
    if basis.registry_violation_rate is not None:
        findings.append(
            f"经抽查你单位用户登记信息，登记信息违规率为 {percent(basis.registry_violation_rate)}。"
        )
    findings.append(
        f"上述问题反映出你单位实名登记制度落实不到位、渠道管理存在明显漏洞，违反了{_REGULATION}"
        "的有关规定。"
    )
    figures = [
        ("检查网点数", f"{basis.inspected}"),
        ("违规网点数", f"{basis.violations}"),
        ("违规率", percent(basis.rate)),
        ("95%置信区间", interval),
    ]
    if basis.registry_violation_rate is not None:
        figures.append(("登记信息违规率", percent(basis.registry_violation_rate)))
    chart = pdf.RateBar(
        data.enterprise_name,
        basis.rate,
        basis.ci_low,
        basis.ci_high,
        f"{percent(basis.rate)}（{interval}）",
    )
    rows = tuple((label, f"{count}") for label, count in counted)
    return tuple(findings), tuple(figures), rows, _CHART_TITLE, chart


def _threshold_text(threshold: float | None) -> str:
    return "未设定" if threshold is None else per_10k(threshold)


def _threshold_bar(label: str, value: float, threshold: float | None) -> ThresholdBar:
    caption = f"{per_10k(value)}（阈值 {_threshold_text(threshold)}）"
    return ThresholdBar(label, value, threshold, caption)


def _nuisance_words(data: NoticeData, basis: NuisanceBasis) -> _Words:
    reached = []
    if basis.complaints_reach:
        assert basis.complaint_threshold is not None
        reached.append(f"投诉率达到约谈阈值 {per_10k(basis.complaint_threshold)}")
    if basis.fraud_numbers_reach:
        assert basis.fraud_threshold is not None
        reached.append(f"涉诈号码率达到约谈阈值 {per_10k(basis.fraud_threshold)}")
    findings = (
        f"根据{_REGULATION}、{_FRAUD_NOTICE}和移动通信转售业务试点有关要求，{data.issuer}依据"
        f"涉诈风险号码库和用户投诉数据，对你单位（企业代码 {data.enterprise_code}）{data.period}"
        "号码被投诉和被认定涉诈的情况进行了统计。",
        f"统计期 {basis.days} 天内，你单位用户 {basis.users} 户，收到针对你单位号码的投诉 "
        f"{basis.complaints} 件，经认定的涉诈号码 {basis.fraud_numbers} 个。",
        f"按每万户每30天折算，投诉率为 {per_10k(basis.complaints_per_10k)}，涉诈号码率为 "
        f"{per_10k(basis.fraud_numbers_per_10k)}；其中{'，'.join(reached)}。",
        "上述情况反映出你单位用户实名登记和号码使用管理存在明显漏洞，号码被用于骚扰和诈骗的"
        f"风险突出，违反了{_REGULATION}的有关规定。",
    )
    figures = (
        ("用户数", f"{basis.users}"),
        ("统计天数", f"{basis.days}"),
        ("投诉件数", f"{basis.complaints}"),
        ("经认定涉诈号码数", f"{basis.fraud_numbers}"),
        ("投诉率（每万户每30天）", per_10k(basis.complaints_per_10k)),
        ("投诉率约谈阈值", _threshold_text(basis.complaint_threshold)),
        ("涉诈号码率（每万户每30天）", per_10k(basis.fraud_numbers_per_10k)),
        ("涉诈号码率约谈阈值", _threshold_text(basis.fraud_threshold)),
    )
    chart = (
        _threshold_bar("投诉率", basis.complaints_per_10k, basis.complaint_threshold),
        _threshold_bar("涉诈号码率", basis.fraud_numbers_per_10k, basis.fraud_threshold),
    )
    return findings, figures, (), _NUISANCE_CHART_TITLE, chart


def _chart_svg(words: NoticeText) -> str:
    if isinstance(words.chart, pdf.RateBar):
        return rate_chart_svg(words.chart_title, [words.chart])
    return threshold_chart_svg(words.chart_title, words.chart)


def _chart_pdf(words: NoticeText) -> list[pdf.Flowable]:
    if isinstance(words.chart, pdf.RateBar):
        return list(pdf.rate_charts(words.chart_title, [words.chart]))
    return [threshold_chart_pdf(words.chart_title, words.chart)]


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
        _chart_svg(words),
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
        *_chart_pdf(words),
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
