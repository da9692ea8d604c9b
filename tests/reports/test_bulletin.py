"""The public bulletin: every enterprise listed, worst first, in the HTML and the PDF's text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mvnoguard.errors import InvalidInput
from mvnoguard.reports.bulletin import (
    BulletinRow,
    bulletin_title,
    period_slug,
    render_bulletin_html,
    write_bulletin,
)
from tests.reports.test_notices import HOSTILE_NAME, compact, pdf_text, wilson

PUBLISHED = date(2016, 8, 20)


def row(
    code: str, name: str, inspected: int, violations: int, tier: str, cases: list[str]
) -> BulletinRow:
    low, high = wilson(violations, inspected)
    return BulletinRow(
        code, name, inspected, violations, violations / inspected, low, high, tier, cases
    )


ROWS = [
    row("E02", "蜗牛移动", 186, 22, "notice_of_criticism", ["notice_of_criticism"]),
    row("E01", "远特通信", 109, 37, "rectification_order", ["CASE-2016-07-001", "interview"]),
    row("E03", "小米移动", 40, 0, "none", []),
]


def test_bulletin_lists_every_enterprise_worst_first(tmp_path: Path) -> None:
    html_path, pdf_path = write_bulletin("2016年7月", ROWS, tmp_path, published_on=PUBLISHED)
    assert (html_path.name, pdf_path.name) == ("bulletin-2016-7.html", "bulletin-2016-7.pdf")
    text = pdf_text(pdf_path)
    html = compact(html_path.read_text(encoding="utf-8"))
    lines = [
        "1远特通信1093733.9%25.7%–43.2%责令整改CASE-2016-07-001、约谈",
        "2蜗牛移动1862211.8%7.9%–17.3%通报批评通报批评",
        "3小米移动4000.0%0.0%–8.8%无—",
    ]
    for document in (text, html):
        assert compact(bulletin_title("2016年7月")) in document
        assert "共检查网点335个，发现违规59个，总体违规率17.6%" in document
        assert "2016年8月20日" in document
        positions = [document.find(name) for name in ("远特通信", "蜗牛移动", "小米移动")]
        assert -1 not in positions
        assert positions == sorted(positions)
    for line in lines:
        assert line in text
    assert html.count("<tr>") == 1 + len(ROWS)
    assert "<td>远特通信</td><td>109</td><td>37</td><td>33.9%</td><td>25.7%–43.2%</td>" in html


def test_bulletin_escapes_names(tmp_path: Path) -> None:
    hostile = [row("E09", HOSTILE_NAME, 10, 1, "none", [])]
    html_path, pdf_path = write_bulletin("2016年7月", hostile, tmp_path, published_on=PUBLISHED)
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert compact(HOSTILE_NAME) in pdf_text(pdf_path)


def test_a_whole_market_spans_pages_and_charts(tmp_path: Path) -> None:
    market = [row(f"E{i:02d}", f"转售企业{i:02d}号", 100, i, "none", []) for i in range(1, 43)]
    _, pdf_path = write_bulletin("2016年11-12月", market, tmp_path, published_on=PUBLISHED)
    text = pdf_text(pdf_path)
    for entry in market:
        assert entry.enterprise_name in text
    assert "各企业暗访检查违规率及95%置信区间（续）" in text
    assert "本期未对企业采取处置措施" in text


def test_an_empty_bulletin_still_says_so() -> None:
    html = render_bulletin_html("2016年7月", [], published_on=PUBLISHED)
    assert "对 0 家" in html
    assert "总体违规率" not in html
    assert "<svg" not in html


@pytest.mark.parametrize(
    ("period", "slug"),
    [("2016年7月", "2016-7"), ("2016年11-12月", "2016-11-12"), ("2016 Q3", "2016-q3")],
)
def test_period_slug_keeps_ascii_digits_and_letters(period: str, slug: str) -> None:
    assert period_slug(period) == slug


def test_periods_named_in_words_get_distinct_slugs() -> None:
    third, fourth = period_slug("2016年第三季度"), period_slug("2016年第四季度")
    assert third != fourth
    assert third.startswith("2016-")
    assert period_slug("上半年").isalnum()


def test_a_slug_that_would_leave_the_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        write_bulletin("2016年7月", ROWS, tmp_path, published_on=PUBLISHED, slug="../x")
    assert caught.value.field == "slug"
    assert list(tmp_path.iterdir()) == []


def test_an_impossible_row_is_refused() -> None:
    with pytest.raises(InvalidInput):
        BulletinRow("E01", "远特通信", 10, 11, 1.1, 0.9, 1.0, "none")
