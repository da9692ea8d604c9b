"""Screening synthetic traffic end to end: the issue's targets on planted truth, and the CLI."""

from __future__ import annotations

import csv
import fcntl
import json
import time
from pathlib import Path

import numpy as np
import pytest

from mvnoguard.detection.content import content_scorer
from mvnoguard.detection.evaluation import Evaluation, evaluate, read_truth
from mvnoguard.detection.screening import RISK_LIST_COLUMNS, Screening, screen
from mvnoguard.detection.settings import DetectionSettings
from mvnoguard.errors import Conflict
from mvnoguard.synth.traffic import generate_traffic
from tests.cli.test_cli import run_cli

USERS = 6_000


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("traffic")
    generate_traffic(folder, users=USERS, seed=31)
    return folder


@pytest.fixture(scope="module")
def screened(traffic: Path, tmp_path_factory: pytest.TempPathFactory) -> Screening:
    work = tmp_path_factory.mktemp("work")
    return screen(
        calls=[traffic / "calls.csv"],
        messages=[traffic / "messages.csv"],
        complaints=[traffic / "complaints.csv"],
        activations=traffic / "activations.csv",
        work=work / "traffic",
        quarantine_dir=work / "quarantine",
        settings=DetectionSettings(),
        out=work / "risk-list.csv",
    )


@pytest.fixture(scope="module")
def evaluation(screened: Screening, traffic: Path) -> Evaluation:
    return evaluate(
        ((f"+{f.msisdn}", f.category.value) for f in screened.findings),
        read_truth(traffic / "truth.csv"),
    )


def test_nuisance_numbers_are_caught(evaluation: Evaluation) -> None:
    assert evaluation.nuisance > 40
    assert evaluation.recall >= 0.90


def test_heavy_callers_and_ordinary_users_stay_clear(evaluation: Evaluation) -> None:
    assert evaluation.heavy > 50
    assert evaluation.heavy_flagged_share <= 0.10
    assert evaluation.ordinary > 5_000
    assert evaluation.ordinary_flagged_share <= 0.002


def test_categories_mostly_right(evaluation: Evaluation) -> None:
    assert evaluation.category_right >= 0.9 * evaluation.caught


def test_every_flag_has_reasons_with_figures(screened: Screening) -> None:
    assert screened.findings
    for finding in screened.findings:
        assert finding.reasons
        assert any(ch.isdigit() for ch in finding.reasons[0])


def test_risk_list_file(screened: Screening) -> None:
    assert screened.out is not None
    with screened.out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == RISK_LIST_COLUMNS
    assert len(rows) == len(screened.findings)
    assert all(r["msisdn"].startswith("+86") and r["reasons"] for r in rows)
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_bad_rows_are_quarantined_and_counted(screened: Screening, traffic: Path) -> None:
    truth = json.loads((traffic / "truth.json").read_text(encoding="utf-8"))
    quarantined = sum(r.quarantined for r in screened.ingested)
    assert quarantined == truth["bad_rows"]


def test_detect_command(traffic: Path, tmp_path: Path) -> None:
    out = tmp_path / "risk.csv"
    result = run_cli(
        tmp_path / "home",
        "detect",
        "--calls",
        str(traffic / "calls.csv"),
        "--messages",
        str(traffic / "messages.csv"),
        "--out",
        str(out),
        "--truth",
        str(traffic / "truth.csv"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["flagged"] > 0
    assert summary["evaluation"]["recall"] >= 0.85  # no complaints or activations given here
    assert out.is_file()


def test_detect_refuses_a_missing_file(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path / "home", "detect", "--calls", str(tmp_path / "nope.csv"), "--out", "x.csv"
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error[" in result.stderr


def test_the_machines_time_zone_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activated 20:00 Beijing time on 28 February: 31 days before 31 March, on any machine."""
    calls = tmp_path / "calls.csv"
    rows = [f"17012345678,1380013{i:04d},out,2026-03-31T10:{i % 60:02d}:00,5" for i in range(20)]
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    activations = tmp_path / "activations.csv"
    activations.write_text(
        "msisdn,activated_at\n17012345678,2026-02-28T20:00:00+08:00\n", encoding="utf-8"
    )
    days = []
    try:
        for zone in ("UTC", "Asia/Shanghai"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            result = screen(
                calls=[calls],
                activations=activations,
                work=tmp_path / zone / "traffic",
                quarantine_dir=tmp_path / zone / "quarantine",
                settings=DetectionSettings(),
            )
            days.append(result.table.column("days_active_before").to_pylist())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert days == [[31], [31]]


class _ModelAtItsOwnThreshold:
    """An SMS model scoring every text 0.4, whose cross-validated cut-off is 0.35."""

    threshold = 0.35

    def score(self, texts: list[str]) -> np.ndarray:
        return np.full(len(texts), 0.4)


def test_messages_are_spam_at_the_content_models_own_threshold(tmp_path: Path) -> None:
    messages = tmp_path / "messages.csv"
    rows = [
        f"17099990000,1580000{i:04d},out,2026-03-02T10:{i % 60:02d}:00,buy now" for i in range(40)
    ]
    messages.write_text(
        "msisdn,other_party,direction,sent_at,content\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s\n"
        "17099990000,13800138000,out,2026-03-02T09:00:00,30\n",
        encoding="utf-8",
    )
    result = screen(
        calls=[calls],
        messages=[messages],
        work=tmp_path / "traffic",
        quarantine_dir=tmp_path / "quarantine",
        settings=DetectionSettings(),
        content_scorer=content_scorer(_ModelAtItsOwnThreshold()),  # type: ignore[arg-type]
    )
    assert result.table.column("s_spam").to_pylist() == [40]


def test_a_ramp_lowered_in_the_policy_is_not_undone_by_the_pre_filter(tmp_path: Path) -> None:
    """12 unanswered calls to strangers: below the default pre-filter (15 strangers), but a
    fraud caller once the policy's fraud ramp starts at 5."""
    calls = tmp_path / "calls.csv"
    rows = [f"17012345678,1380013{i:04d},out,2026-03-02T10:{i:02d}:00,0" for i in range(12)]
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    result = screen(
        calls=[calls],
        work=tmp_path / "traffic",
        quarantine_dir=tmp_path / "quarantine",
        settings=DetectionSettings(fraud_strangers=(5.0, 10.0)),
    )
    assert [(f.msisdn, f.category.value) for f in result.findings] == [(8617012345678, "fraud")]


def test_a_second_run_on_the_same_work_folder_is_refused(tmp_path: Path) -> None:
    """Two runs at once would replace each other's records and features: the second waits
    for nothing and changes nothing, it is refused (home_busy)."""
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s\n"
        "17012345678,13800138000,out,2026-03-02T10:00:00,30\n",
        encoding="utf-8",
    )
    work = tmp_path / "traffic"
    work.mkdir()

    def run() -> Screening:
        return screen(
            calls=[calls],
            work=work,
            quarantine_dir=tmp_path / "quarantine",
            settings=DetectionSettings(),
        )

    with (work / ".screening.lock").open("a") as running:  # another run holds the folder
        fcntl.flock(running, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(Conflict) as refused:
            run()
        assert refused.value.code == "home_busy"
        assert sorted(p.name for p in work.iterdir()) == [".screening.lock"]
    assert run().numbers_seen == 1  # once it has finished


def test_a_work_folder_with_an_apostrophe(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    rows = [f"17012345678,1380013{i:04d},out,2026-03-02T10:{i:02d}:00,0" for i in range(30)]
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    result = screen(
        calls=[calls],
        work=tmp_path / "o'home" / "traffic",
        quarantine_dir=tmp_path / "o'home" / "quarantine",
        settings=DetectionSettings(),
    )
    assert (result.numbers_seen, result.candidates) == (1, 1)
