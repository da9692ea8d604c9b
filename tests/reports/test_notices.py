"""Enforcement notices: the same words and figures in the HTML and in the PDF's own text."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
from pypdf import PdfReader

from mvnoguard.errors import InvalidInput
from mvnoguard.reports.charts import ThresholdBar, threshold_axis_top
from mvnoguard.reports.notices import (
    CaseKind,
    InspectionBasis,
    NoticeData,
    NuisanceBasis,
    interval_text,
    notice_text,
    percent,
    render_notice_html,
    write_notice,
)

HOSTILE_NAME = "坏企业<script>alert(1)</script>"


def wilson(violations: int, inspected: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = violations / inspected
    centre = (p + z * z / (2 * inspected)) / (1 + z * z / inspected)
    half = z * math.sqrt(p * (1 - p) / inspected + z * z / (4 * inspected**2))
    half /= 1 + z * z / inspected
    return centre - half, centre + half


_BASIS_FIELDS = {f.name for f in dataclasses.fields(InspectionBasis)}


def notice(**changes: Any) -> NoticeData:
    """The July 2016 secret inspection: 37 of 109 outlets in violation.

    ``changes`` may name fields of the notice or of its inspection basis."""
    inspected, violations = changes.pop("figures", (109, 37))
    low, high = wilson(violations, inspected)
    fields: dict[str, Any] = {
        "case_id": "CASE-2016-07-001",
        "kind": "rectification_order",
        "enterprise_code": "E01",
        "enterprise_name": "远特通信",
        "period": "2016年7月",
        "inspected": inspected,
        "violations": violations,
        "rate": violations / inspected,
        "ci_low": low,
        "ci_high": high,
        "violation_counts": {"manual_entry": 9, "no_id_check": 20, "pre_activated_card": 8},
        "registry_violation_rate": 0.052,
        "issued_on": date(2016, 8, 10),
        "deadline": date(2016, 9, 10),
    }
    fields |= changes
    basis = {name: fields.pop(name) for name in _BASIS_FIELDS}
    return NoticeData(basis=InspectionBasis(**basis), **fields)


def compact(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines wherever the layout wrapped them."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return compact("".join(page.extract_text() for page in PdfReader(path).pages))


def test_july_2016_figures_print_as_the_ministry_reported_them() -> None:
    data, november = notice().basis, notice(figures=(186, 22)).basis
    assert isinstance(data, InspectionBasis) and isinstance(november, InspectionBasis)
    assert (percent(data.rate), interval_text(data.ci_low, data.ci_high)) == (
        "33.9%",
        "25.7%–43.2%",
    )
    assert percent(november.rate) == "11.8%"


def test_write_notice_writes_html_and_pdf_named_after_the_case(tmp_path: Path) -> None:
    html_path, pdf_path = write_notice(notice(), tmp_path / "reports")
    assert (html_path, pdf_path) == (
        tmp_path / "reports" / "CASE-2016-07-001.html",
        tmp_path / "reports" / "CASE-2016-07-001.pdf",
    )
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf_path)
    html = html_path.read_text(encoding="utf-8")
    for needle in (
        "关于对远特通信实名登记违规问题的责令整改通知书",
        "检查网点109个，发现违规37个，违规率33.9%（95%置信区间25.7%–43.2%）",
        "未查验身份证件20个、手工录入证件信息9个、预开卡8个",
        "登记信息违规率为5.2%",
        "2016年9月10日前完成整改",
        "工业和信息化部信息通信管理局",
        "2016年8月10日",
    ):
        assert needle in text
        assert needle in compact(html)


@pytest.mark.parametrize(
    ("kind", "title", "requirement"),
    [
        ("notice_of_criticism", "实名登记违规问题的通报批评", "予以通报批评"),
        ("rectification_order", "责令整改通知书", "现责令你单位于2016年9月10日前完成整改"),
        ("interview", "约谈通知", "约谈你单位主要负责人"),
        ("suspend_number_allocation", "暂停新号码分配的决定", "自2016年8月10日起暂停"),
    ],
    ids=["criticism", "rectification", "interview", "suspension"],
)
def test_each_case_kind_has_its_title_and_requirement(
    tmp_path: Path, kind: str, title: str, requirement: str
) -> None:
    html_path, pdf_path = write_notice(notice(kind=kind, case_id=f"C-{kind}"), tmp_path)
    text, html = pdf_text(pdf_path), compact(html_path.read_text(encoding="utf-8"))
    for needle in ("远特通信", title, requirement):
        assert needle in text
        assert needle in html


def test_every_case_kind_is_covered() -> None:
    assert set(get_args(CaseKind)) == {
        "notice_of_criticism",
        "rectification_order",
        "interview",
        "suspend_number_allocation",
        "nuisance_interview",
    }


def test_a_hostile_name_stays_text_in_html_and_pdf(tmp_path: Path) -> None:
    html_path, pdf_path = write_notice(notice(enterprise_name=HOSTILE_NAME), tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "坏企业&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert compact(HOSTILE_NAME) in pdf_text(pdf_path)


def test_html_is_self_contained_with_an_inline_chart() -> None:
    html = render_notice_html(notice())
    assert "<svg" in html
    assert "暗访检查违规率及95%置信区间" in html
    # The only URL is the SVG namespace, which is a name, not a fetch.
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"]
    assert "<link" not in html
    assert "src=" not in html


def test_violation_kinds_are_listed_in_chinese_in_contract_order() -> None:
    words = notice_text(notice(violation_counts={"other": 1, "no_face_check": 0, "no_id_check": 3}))
    assert words.violation_rows == (("未查验身份证件", "3"), ("其他", "1"))


def test_no_violation_kinds_means_no_kinds_table() -> None:
    words = notice_text(notice(violation_counts={}))
    assert words.violation_rows == ()
    assert "违规情形" not in render_notice_html(notice(violation_counts={}))


def test_the_same_notice_gives_the_same_pdf(tmp_path: Path) -> None:
    first = write_notice(notice(), tmp_path / "a")[1].read_bytes()
    second = write_notice(notice(), tmp_path / "b")[1].read_bytes()
    assert first == second


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case_id": "../etc/passwd"}, "case_id"),
        ({"case_id": ""}, "case_id"),
        ({"kind": "fine"}, "kind"),
        ({"inspected": 0, "violations": 0}, "inspected"),
        ({"violations": 110}, "inspected"),
        ({"rate": 0.5}, "rate"),
        ({"ci_low": 0.4}, "ci_low"),
        ({"violation_counts": {"jaywalking": 1}}, "violation_counts"),
        ({"violation_counts": {"other": -1}}, "violation_counts"),
        ({"registry_violation_rate": 1.5}, "registry_violation_rate"),
        ({"deadline": None}, "deadline"),
        ({"deadline": date(2016, 8, 10)}, "deadline"),
    ],
)
def test_an_impossible_notice_is_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        notice(**changes)
    assert caught.value.field == field


def test_only_a_rectification_order_needs_a_deadline() -> None:
    interview = notice(kind="interview", deadline=None)
    assert "按通知时间到工业和信息化部信息通信管理局接受约谈" in render_notice_html(interview)
    suspension = dataclasses.replace(interview, kind="suspend_number_allocation")
    assert "你单位应立即整改；经检查验收合格后" in render_notice_html(suspension)


def nuisance_notice(**changes: Any) -> NoticeData:
    """July 2016: 62 complaints and 3 confirmed fraud numbers among 20,000 users in 31 days."""
    users, complaints, fraud = changes.pop("counts", (20_000, 62, 3))
    basis: dict[str, Any] = {
        "users": users,
        "days": 31,
        "complaints": complaints,
        "fraud_numbers": fraud,
        "complaints_per_10k": complaints / users * 10_000 * 30 / 31 if users else 0.0,
        "fraud_numbers_per_10k": fraud / users * 10_000 * 30 / 31 if users else 0.0,
        "complaint_threshold": 5.0,
        "fraud_threshold": 1.0,
    }
    basis |= {k: changes.pop(k) for k in list(changes) if k in basis}
    fields: dict[str, Any] = {
        "case_id": "CASE-2016-07-N01",
        "kind": "nuisance_interview",
        "enterprise_code": "E01",
        "enterprise_name": "远特通信",
        "period": "2016年7月",
        "issued_on": date(2016, 8, 10),
        "deadline": None,
    }
    return NoticeData(basis=NuisanceBasis(**basis), **(fields | changes))


def test_a_nuisance_interview_states_its_figures_and_thresholds(tmp_path: Path) -> None:
    html_path, pdf_path = write_notice(nuisance_notice(), tmp_path)
    text, html = pdf_text(pdf_path), compact(html_path.read_text(encoding="utf-8"))
    # 62 / 20,000 * 10,000 * 30 / 31 = 30.00; 3 / 20,000 * 10,000 * 30 / 31 = 1.45.
    for needle in (
        "关于对远特通信号码被投诉及涉诈问题的约谈通知",
        "统计期31天内，你单位用户20000户，收到针对你单位号码的投诉62件，经认定的涉诈号码3个",
        "按每万户每30天折算，投诉率为30.00，涉诈号码率为1.45",
        "投诉率达到约谈阈值5.00，涉诈号码率达到约谈阈值1.00",
        "约谈你单位主要负责人",
        "30.00（阈值5.00）",
    ):
        assert needle in text
        assert needle in html
    assert "投诉率（每万户每30天）30.00" in text
    assert "<td>投诉率（每万户每30天）</td><td>30.00</td>" in html
    assert "暗访检查" not in text
    assert "投诉率及涉诈号码率（每万户每30天）与约谈阈值" in html


def test_only_the_rates_that_reach_a_threshold_are_named() -> None:
    words = notice_text(nuisance_notice(counts=(20_000, 62, 0), fraud_threshold=None))
    assert "其中投诉率达到约谈阈值 5.00。" in words.findings[2]
    assert ("涉诈号码率约谈阈值", "未设定") in words.figures


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "interview"}, "kind"),
        ({"counts": (0, 0, 0)}, "users"),
        ({"complaints_per_10k": 31.0}, "complaints_per_10k"),
        ({"fraud_threshold": 0.0}, "fraud_threshold"),
        ({"counts": (20_000, 1, 0)}, "complaint_threshold"),
    ],
    ids=["inspection-kind", "no-users", "wrong-rate", "zero-threshold", "nothing-reached"],
)
def test_an_impossible_nuisance_notice_is_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        nuisance_notice(**changes)
    assert caught.value.field == field


def test_an_inspection_notice_cannot_be_a_nuisance_interview() -> None:
    with pytest.raises(InvalidInput) as caught:
        notice(kind="nuisance_interview", deadline=None)
    assert caught.value.field == "kind"


@pytest.mark.parametrize(
    ("largest", "top"), [(0.0, 1.0), (0.4, 1.0), (1.45, 2.0), (5.0, 5.0), (30.0, 50.0), (101, 200)]
)
def test_the_threshold_axis_reaches_past_every_value_and_threshold(
    largest: float, top: float
) -> None:
    bars = [ThresholdBar("a", largest, 0.1, ""), ThresholdBar("b", 0.0, None, "")]
    assert threshold_axis_top(bars) == top
    assert threshold_axis_top([ThresholdBar("t", 0.2, largest, "")]) == top
