"""User mistakes on every command give one ``error[code]: message`` line, never a traceback.

Each case runs ``mvnoguard.cli.main`` in-process (as the console script does), so the exit
status and the error line are the ones a user sees; an unexpected exception fails the test
with its traceback. Found by a sweep of every command with bad files, options and settings.
"""

from __future__ import annotations

import csv
import json
import math
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli import main
from tests.cli.test_cli import HOLDER, setup_market
from tests.cli.test_model_cli import HAM, SPAM, predict_sms

GBK_CSV = "label,content\n1,恭喜您获得大奖请回复领取\n0,妈妈说明天开会\n".encode("gbk")
CALLS_HEADER = "msisdn,other_party,direction,start_time,duration_s,cell_id,imei\n"
CALL_ROW = "17090000001,13800138000,out,2016-03-01T10:00:00,30,c1,i1\n"
# One sign-up at the market's own outlet; each test adds the options it is about.
REGISTER = (
    "subscriber",
    "register",
    "--msisdn",
    "17090000001",
    "--enterprise",
    "E01",
    "--outlet",
    "E01-OWN",
    "--doc",
    f"RIC:{HOLDER}",
    "--name",
    "王小明",
)


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str

    @property
    def line(self) -> str:
        """The one error line (asserting there is exactly one, and no traceback)."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        return lines[0]


Run = Callable[..., Outcome]


@pytest.fixture
def run(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``mvnoguard --home HOME ARGS`` through the console script's entry point."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "argv", ["mvnoguard", "--home", str(home), *args])
        capsys.readouterr()
        try:
            main()
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        finally:
            for name in env or {}:
                monkeypatch.delenv(name)
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    return invoke


def refused(outcome: Outcome, code: str, *words: str, status: int = 2) -> str:
    """Assert exit ``status`` and one ``error[code]`` line holding ``words``; return it."""
    line = outcome.line
    assert outcome.status == status, (outcome.status, line)
    assert line.startswith(f"error[{code}]: "), line
    for word in words:
        assert word in line, (word, line)
    return line


def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n", encoding="utf-8")
    return path


def calls_file(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(CALLS_HEADER + CALL_ROW, encoding="utf-8")
    return path


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


# -- output paths -----------------------------------------------------------------------------


def test_synth_market_into_a_file_or_an_impossible_place(run: Run, tmp_path: Path) -> None:
    blocker = a_file(tmp_path)
    refused(run("synth", "market", "--out", str(blocker), "--scale", "0.001"), "unwritable_file")
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"
    refused(
        run("synth", "market", "--out", str(blocker / "market"), "--scale", "0.001"),
        "unwritable_file",
        "a part of the path is a file",
        "(field: out)",
    )


def test_synth_market_refuses_a_scale_it_cannot_hold_before_any_work(
    run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "market"
    refused(
        run("synth", "market", "--out", str(out), "--scale", "1000"), "invalid_input", "at most 4"
    )
    assert not out.exists()


def test_synth_traffic_into_a_file(run: Run, tmp_path: Path) -> None:
    blocker = a_file(tmp_path)
    outcome = run("synth", "traffic", "--out", str(blocker), "--users", "200", "--days", "1")
    refused(outcome, "unwritable_file", str(blocker))


@pytest.mark.parametrize("start", ["9999-12-28", "1969-12-31"])
def test_synth_traffic_days_out_of_range(run: Run, tmp_path: Path, start: str) -> None:
    out = tmp_path / "traffic"
    outcome = run("synth", "traffic", "--out", str(out), "--users", "200", "--start", start)
    refused(outcome, "out_of_range", "(field: start)")
    assert not out.exists()


def test_a_column_named_twice_is_refused_by_every_import(
    run: Run, home: Path, tmp_path: Path
) -> None:
    """The header check of every contract file (it was a KeyError traceback for complaints)."""
    feed = tmp_path / "dup.csv"
    feed.write_text(
        "reported_number,reporter_number,category,received_at,text,text\n"
        "17012345678,,fraud,2026-03-02T10:00:00,x,y\n",
        encoding="utf-8",
    )
    refused(run("complaints", "import", str(feed)), "bad_header", "(field: text)")
    rounds = tmp_path / "round.csv"
    rounds.write_text(
        "inspection_id,enterprise_code,outlet_code,inspected_on,outcome,violations,outcome\n",
        encoding="utf-8",
    )
    refused(run("inspections", "import", str(rounds)), "bad_header", "(field: outcome)")


def test_classic_mac_line_ends_are_named(run: Run, tmp_path: Path) -> None:
    feed = tmp_path / "cr.csv"
    feed.write_bytes(
        b"reported_number,reporter_number,category,received_at,text\r"
        b"17012345678,,fraud,2026-03-02T10:00:00,x\r"
    )
    refused(run("complaints", "import", str(feed)), "unreadable_file", "carriage return alone")
    calls = tmp_path / "calls.csv"
    calls.write_bytes((CALLS_HEADER + CALL_ROW).replace("\n", "\r").encode())
    outcome = run("detect", "--calls", str(calls), "--out", str(tmp_path / "r.csv"))
    refused(outcome, "unreadable_file", "carriage return alone", "(field: calls)")


@pytest.mark.parametrize("seed", ["-1", "1000000001"])
def test_a_seed_out_of_range_is_a_usage_error(run: Run, tmp_path: Path, seed: str) -> None:
    outcome = run("synth", "traffic", "--out", str(tmp_path / "t"), "--seed", seed)
    refused(outcome, "usage", "Invalid value for '--seed'", "synth traffic --help", "(field: seed)")
    outcome = run("model", "eval", "sms", "--data", str(tmp_path / "x.tsv"), "--seed", seed)
    refused(outcome, "usage", "Invalid value for '--seed'", "model eval sms --help")


def test_command_line_mistakes_are_one_usage_line(run: Run, tmp_path: Path) -> None:
    refused(run("detect", "--out", str(tmp_path / "r.csv")), "usage", "'--calls'", "(field: calls)")
    refused(run("detec"), "usage", "No such command 'detec'", "Did you mean 'detect'?")
    refused(run("detect", "--calls"), "usage", "'--calls' requires an argument")
    line = refused(run("stats", "--bogus"), "usage", "No such option: --bogus")
    assert "See 'mvnoguard stats --help'." in line


def test_a_group_without_its_command_shows_its_help(run: Run) -> None:
    outcome = run("model")
    assert outcome.status == 2
    assert "Usage:" in outcome.out and "train" in outcome.out
    assert outcome.err == ""


def test_exit_statuses_a_command_chooses_are_kept(run: Run, tmp_path: Path) -> None:
    numbers = tmp_path / "ids.txt"
    numbers.write_text("not-an-identity-number\n", encoding="utf-8")
    assert run("id", "validate", str(numbers)).status == 1
    assert run("--version").status == 0


def test_inspection_plan_out_under_a_file(run: Run, home: Path, tmp_path: Path) -> None:
    setup_market(home)
    target = a_file(tmp_path) / "plan.csv"
    line = refused(
        run("inspections", "plan", "--margin", "0.1", "--out", str(target)), "unwritable_file"
    )
    assert str(target) in line


@pytest.mark.parametrize("margin", ["1e-200", "1e-160", "0", "1", "nan"])
def test_inspection_plan_margin_out_of_range(run: Run, home: Path, margin: str) -> None:
    setup_market(home)
    refused(run("inspections", "plan", "--margin", margin), "invalid_input", "(field: margin)")


def test_detect_out_checked_before_the_screening(run: Run, tmp_path: Path) -> None:
    calls = calls_file(tmp_path)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    refused(
        run("detect", "--calls", str(calls), "--out", str(folder)),
        "unwritable_file",
        "it is a folder",
        "(field: out)",
    )
    refused(run("detect", "--calls", str(calls), "--out", str(calls)), "output_is_input")
    assert calls.read_text(encoding="utf-8") == CALLS_HEADER + CALL_ROW
    # The same file reached through the folder or a glob it was given as, or a new file in
    # that folder (the next run would read the risk list as call records).
    for given, out in (
        (tmp_path, calls),
        (tmp_path / "*.csv", calls),
        (tmp_path, tmp_path / "risk.csv"),
    ):
        refused(run("detect", "--calls", str(given), "--out", str(out)), "output_is_input")
    assert calls.read_text(encoding="utf-8") == CALLS_HEADER + CALL_ROW


def test_detect_out_never_overwrites_a_model_or_the_truth(run: Run, tmp_path: Path) -> None:
    calls = calls_file(tmp_path)
    for option in ("--truth", "--sms-model", "--behaviour-model", "--activations"):
        named = tmp_path / f"{option.strip('-')}.file"
        named.write_text("kept\n", encoding="utf-8")
        outcome = run("detect", "--calls", str(calls), option, str(named), "--out", str(named))
        refused(outcome, "output_is_input", named.name)
        assert named.read_text(encoding="utf-8") == "kept\n"


def test_detect_truth_that_is_not_utf8_is_refused_before_the_screening(
    run: Run, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_bytes(GBK_CSV)
    outcome = run(
        "detect",
        "--calls",
        str(calls_file(tmp_path)),
        "--out",
        str(tmp_path / "risk.csv"),
        "--truth",
        str(truth),
    )
    refused(outcome, "unreadable_file", "truth.csv", "not UTF-8", "(field: truth)")
    assert not (tmp_path / "risk.csv").exists()


# -- models -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sms_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mvnoguard.detection.sms_model import train_sms

    folder = tmp_path_factory.mktemp("sms")
    training = folder / "train.tsv"
    lines = [f"spam\t{text}" for text in SPAM] + [f"ham\t{text}" for text in HAM]
    training.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = folder / "sms.mvgmodel"
    train_sms([training]).save(model)
    return model


def test_sms_training_file_in_gbk_is_named_not_garbled(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "gbk.csv"
    data.write_bytes(GBK_CSV)
    outcome = run("model", "train", "sms", "--data", str(data), "--out", str(tmp_path / "m"))
    refused(outcome, "no_labelled_rows", "gbk.csv", "UTF-8", "(field: data)")


def test_sms_training_with_too_few_messages(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "few.tsv"
    data.write_text("spam\tWIN a prize now\nham\tsee you at lunch\n", encoding="utf-8")
    outcome = run("model", "eval", "sms", "--data", str(data))
    refused(outcome, "too_few_rows", "1 distinct spam", "1 distinct ham")


def test_sms_model_out_is_checked_before_training(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "few.tsv"
    data.write_text("spam\tWIN a prize now\nham\tsee you at lunch\n", encoding="utf-8")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    outcome = run("model", "train", "sms", "--data", str(data), "--out", str(folder))
    refused(outcome, "unwritable_file", "it is a folder")
    outcome = run("model", "train", "sms", "--data", str(data), "--out", str(data))
    refused(outcome, "output_is_input")


def test_sms_predict_never_overwrites_its_input(run: Run, tmp_path: Path, sms_model: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,content\n1,hello\n", encoding="utf-8")
    outcome = run(*predict_sms(sms_model, source, source))
    refused(outcome, "output_is_input", "in.csv")
    assert source.read_text(encoding="utf-8") == "id,content\n1,hello\n"


def test_sms_predict_failure_leaves_no_half_written_out(
    run: Run, tmp_path: Path, sms_model: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,content\n1,hello\n" + "2,恭喜\n".encode("gbk"))
    out = tmp_path / "out.csv"
    outcome = run(*predict_sms(sms_model, source, out))
    refused(outcome, "unreadable_file", "in.csv", "UTF-8")
    assert list(tmp_path.iterdir()) == [source]


def _sichuan_folder(folder: Path, labels: list[object], value: object = 1.0) -> Path:
    folder.mkdir()
    rows = [["phone_no_m", "calls", "sms", "label"]]
    rows += [
        [f"p{i}", str(i % 7 if i else value), str(i % 3), str(y)] for i, y in enumerate(labels)
    ]
    write_rows(folder / "train.csv", rows)
    return folder


def test_sichuan_training_data_mistakes_name_the_row(run: Run, tmp_path: Path) -> None:
    out = str(tmp_path / "m")
    header_only = _sichuan_folder(tmp_path / "empty", [])
    refused(
        run("model", "train", "sichuan", "--data", str(header_only), "--out", out),
        "too_few_rows",
        "0 fraud and 0 other",
    )
    one_class = _sichuan_folder(tmp_path / "one", [0] * 30)
    refused(run("model", "eval", "sichuan", "--data", str(one_class)), "too_few_rows")
    bad_label = _sichuan_folder(tmp_path / "label", [0, 1, 2, ""])
    refused(
        run("model", "train", "sichuan", "--data", str(bad_label), "--out", out),
        "bad_value",
        "train.csv row 3",
        "label must be 0 or 1",
    )
    text = _sichuan_folder(tmp_path / "text", [0, 1] * 5, value="abc")
    refused(
        run("model", "train", "sichuan", "--data", str(text), "--out", out),
        "bad_value",
        "train.csv row 1",
        "calls is 'abc'",
    )


def test_sichuan_data_must_name_the_folder(run: Run, tmp_path: Path) -> None:
    data = _sichuan_folder(tmp_path / "data", [0, 1] * 10)
    out = str(tmp_path / "m")
    refused(
        run("model", "eval", "sichuan", "--data", str(data / "train.csv")),
        "not_a_data_folder",
        "train.csv is a file",
        "(field: data)",
    )
    refused(
        run("model", "train", "sichuan", "--data", str(tmp_path), "--out", out),
        "not_a_data_folder",
        "holds no train.csv",
    )
    refused(
        run("model", "eval", "sichuan", "--data", str(tmp_path / "gone"), "--repeats", "2"),
        "not_a_data_folder",
        "gone does not exist",
    )


def test_sichuan_predict_out_checked_first(run: Run, tmp_path: Path) -> None:
    from mvnoguard.detection.sichuan_model import train_sichuan

    data = _sichuan_folder(tmp_path / "data", [0, 1] * 10)
    model = tmp_path / "sichuan.mvgmodel"
    train_sichuan(data).save(model)
    features = data / "train.csv"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    predict = ("model", "predict", "sichuan", "--model", str(model), "--data", str(features))
    refused(run(*predict, "--out", str(folder)), "unwritable_file", "it is a folder")
    before = features.read_bytes()
    refused(run(*predict, "--out", str(features)), "output_is_input")
    assert features.read_bytes() == before
    header, *rows = before.decode("utf-8").splitlines()
    twice = tmp_path / "twice.csv"
    column = header.split(",")[1]
    twice.write_text(
        "\n".join([f"{header},{column}", *(f"{r},{r.split(',')[1]}" for r in rows)]) + "\n",
        encoding="utf-8",
    )
    predict_twice = ("model", "predict", "sichuan", "--model", str(model), "--data", str(twice))
    out = str(tmp_path / "p.csv")
    refused(run(*predict_twice, "--out", out), "bad_header", f"{column} more than once")


def test_behaviour_labels_with_a_bad_number_name_the_row(run: Run, tmp_path: Path) -> None:
    labels = write_rows(
        tmp_path / "labels.csv", [["msisdn", "category"], ["17090000001", "fraud"], ["abc", ""]]
    )
    outcome = run(
        "model", "eval", "behaviour", "--calls", str(calls_file(tmp_path)), "--labels", str(labels)
    )
    refused(outcome, "invalid_number", "labels.csv row 2", "(field: msisdn)")
    no_column = write_rows(tmp_path / "nocol.csv", [["number", "category"], ["1", ""]])
    outcome = run(
        "model",
        "eval",
        "behaviour",
        "--calls",
        str(calls_file(tmp_path)),
        "--labels",
        str(no_column),
    )
    refused(outcome, "missing_column", "nocol.csv", "msisdn")


# -- files read by imports --------------------------------------------------------------------


def test_registry_import_of_a_folder_without_registry_files(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(run("registry", "import", str(empty)), "nothing_to_import", "(field: DIR)")


def _reference_files(folder: Path) -> Path:
    folder.mkdir()
    write_rows(
        folder / "enterprises.csv",
        [
            ["enterprise_code", "name", "host_network", "approved_on", "license_no"],
            ["E01", "远岸移动", "unicom", "2014-01-01", "L1"],
        ],
    )
    write_rows(
        folder / "number_blocks.csv",
        [["enterprise_code", "first_number", "last_number"], ["E01", "17090000000", "17090009999"]],
    )
    write_rows(
        folder / "outlets.csv",
        [
            ["outlet_code", "enterprise_code", "kind", "region_code", "authorized"],
            ["E01-OWN", "E01", "own", "110101", "true"],
        ],
    )
    return folder


def _quarantine(home: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((home / "quarantine").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_registry_import_quarantines_a_nan_face_score(run: Run, home: Path, tmp_path: Path) -> None:
    folder = _reference_files(tmp_path / "market")
    subscribers = pa.table(
        {
            "msisdn": ["17090000001", "17090000002"],
            "enterprise_code": ["E01", "E01"],
            "status": ["active", "active"],
            "activated_at": ["2016-03-01T10:00:00", "2016-03-01T11:00:00"],
            "doc_type": ["RIC", "RIC"],
            "doc_number": [HOLDER, HOLDER],
            "name": ["王小明", "王小明"],
            "verification_method": ["reader", "reader"],
            "face_score": [math.nan, 0.93],
            "outlet_code": ["E01-OWN", "E01-OWN"],
        }
    )
    pq.write_table(subscribers, folder / "subscribers.parquet")
    outcome = run("registry", "import", str(folder))
    assert outcome.status == 0, outcome.err
    summary = json.loads(outcome.out)
    assert summary["rows_loaded"] == 1
    problems = [(p["file"], p["row"], p["field"], p["code"]) for p in _quarantine(home)]
    assert problems == [("subscribers.parquet", "1", "face_score", "bad_face_score")]


def test_registry_import_skips_an_unreadable_subscriber_file(
    run: Run, home: Path, tmp_path: Path
) -> None:
    folder = _reference_files(tmp_path / "market")
    (folder / "subscribers.csv").write_bytes(GBK_CSV.replace(b"label", "标签".encode("gbk")))
    outcome = run("registry", "import", str(folder))
    assert outcome.status == 0, outcome.err
    assert "subscribers.csv: the header row is not UTF-8 text" in outcome.err
    assert "Traceback" not in outcome.err
    assert [(p["file"], p["code"]) for p in _quarantine(home)] == [
        ("subscribers.csv", "unreadable_file")
    ]


def test_parquet_cells_holding_lists_or_bytes_go_to_quarantine(
    run: Run, home: Path, tmp_path: Path
) -> None:
    setup_market(home)
    inspections = pa.table(
        {
            "inspection_id": ["I1", "I2", "I3"],
            "enterprise_code": ["E01", "E01", "E01"],
            "outlet_code": [b"E01-OWN", b"\xff\xfe", b"E01-OWN"],
            "inspected_on": ["2016-07-01", "2016-07-01", "2016-07-01"],
            "outcome": ["pass", "pass", "violation"],
            "violations": pa.array([None, None, ["no_id_check"]], pa.list_(pa.string())),
        }
    )
    source = tmp_path / "inspections.parquet"
    pq.write_table(inspections, source)
    outcome = run("inspections", "import", str(source))
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out)["loaded"] == 1
    problems = [(p["row"], p["field"], p["code"]) for p in _quarantine(home)]
    assert problems == [("2", "outlet_code", "bad_encoding"), ("3", "violations", "bad_value")]


def test_complaints_parquet_with_a_list_column(run: Run, home: Path, tmp_path: Path) -> None:
    complaints = pa.table(
        {
            "reported_number": pa.array([[17090000001]], pa.list_(pa.int64())),
            "category": ["fraud"],
            "received_at": ["2016-05-31T09:00:00+08:00"],
        }
    )
    source = tmp_path / "complaints.parquet"
    pq.write_table(complaints, source)
    outcome = run("complaints", "import", str(source), "--json")
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out)["quarantined"] == 1


def test_id_validate_names_the_line_that_is_not_utf8(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    source.write_bytes(f"RIC:{HOLDER}\n".encode() + "王小明\n".encode("gbk"))
    refused(run("id", "validate", str(source)), "unreadable_file", "ids.txt line 2", "UTF-8")


# -- option values ----------------------------------------------------------------------------


@pytest.mark.parametrize("score", ["nan", "inf", "1.5", "-0.1"])
def test_a_face_score_outside_0_to_1_is_refused(run: Run, home: Path, score: str) -> None:
    setup_market(home)
    outcome = run(
        *REGISTER,
        "--face-score",
        score,
    )
    refused(outcome, "bad_face_score", "from 0 to 1", "(field: face_score)")


def test_a_case_is_not_issued_or_closed_ahead_of_its_history(
    run: Run, home: Path, tmp_path: Path
) -> None:
    """A back-dated issue would give a deadline already past: the case's times keep order."""
    setup_market(home)
    july = write_inspections(tmp_path / "july.csv", violating=5, passing=5)
    assert run("inspections", "import", str(july), "--at", "2016-08-01T09:00:00").status == 0
    assert run("enforce", "propose", "--period", "2016-07", "--at", "2016-08-01T10:00").status == 0
    refused(
        run("enforce", "issue", "1", "--at", "2016-06-01T09:00:00"),
        "before_proposal",
        "(field: at)",
    )
    close = ("enforce", "close", "2", "--reason", "withdrawn", "--at")
    refused(run(*close, "2015-01-01T00:00:00"), "before_proposal", "(field: at)")
    blank = run("enforce", "close", "2", "--reason", " ", "--at", "2016-08-02T00:00:00")
    refused(blank, "bad_reason", "(field: reason)")
    assert run("enforce", "issue", "1", "--at", "2016-08-02T09:00:00").status == 0
    refused(
        run("enforce", "close", "1", "--reason", "done", "--at", "2016-08-02T08:00:00"),
        "before_issue",
    )
    assert run(*close, "2016-08-02T00:00:00").status == 0


def write_inspections(path: Path, *, violating: int, passing: int) -> Path:
    """A July 2016 round at E01: ``violating`` outlets in violation, then ``passing`` passing."""
    header = [
        "inspection_id",
        "enterprise_code",
        "outlet_code",
        "inspected_on",
        "outcome",
        "violations",
    ]
    rows = [
        [
            f"J-{i}",
            "E01",
            f"E01-S{i:02d}",
            "2016-07-10",
            *(("violation", "no_id_check") if i < violating else ("pass", "")),
        ]
        for i in range(violating + passing)
    ]
    return write_rows(path, [header, *rows])


def test_a_cancellation_must_fall_between_activation_and_now(run: Run, home: Path) -> None:
    """Retention runs from the cancellation: a back-dated one would purge early, a future one
    would keep the identity too long."""
    setup_market(home)
    assert run(*REGISTER, "--face-score", "0.9", "--at", "2016-03-01T10:00:00").status == 0
    cancel = ("subscriber", "cancel", "17090000001", "--reason", "r", "--at")
    refused(run(*cancel, "2016-02-01T10:00:00"), "before_activation", "(field: at)")
    refused(run(*cancel, "2999-01-01T00:00:00"), "future_time", "(field: at)")
    refused(run(*cancel, "0001-01-01T00:00:00+14:00"), "invalid_input", "out of range")
    assert run(*cancel, "2016-04-01T10:00:00").status == 0


def test_sign_up_json_takes_the_at_option(run: Run, home: Path, tmp_path: Path) -> None:
    setup_market(home)
    body = {
        "msisdn": "17090000001",
        "enterprise_code": "E01",
        "outlet_code": "E01-OWN",
        "holder": {"doc_type": "RIC", "number": HOLDER, "name": "王小明"},
        "verification_method": "reader",
        "face_score": 0.9,
    }
    path = tmp_path / "sign-up.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    outcome = run(*REGISTER[:2], "--from-json", str(path), "--at", "2016-03-01T10:00:00+08:00")
    assert outcome.status == 0, outcome.err
    assert json.loads(outcome.out)["activated_at"].startswith("2016-03-01T02:00:00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"face_score": True}, "face_score"),
        ({"at": "yesterday"}, "at"),
        ({"holder": {"doc_type": "RIC", "number": HOLDER, "name": {"given": "x"}}}, "holder.name"),
        ({"msisdn": ["17090000001"]}, "msisdn"),
    ],
)
def test_sign_up_json_of_the_wrong_type_names_the_field(
    run: Run, home: Path, tmp_path: Path, change: dict[str, object], field: str
) -> None:
    setup_market(home)
    sign_up: dict[str, object] = {
        "msisdn": "17090000001",
        "enterprise_code": "E01",
        "outlet_code": "E01-OWN",
        "verification_method": "reader",
        "face_score": 0.9,
        "holder": {"doc_type": "RIC", "number": HOLDER, "name": "王小明"},
    }
    source = tmp_path / "sign-up.json"
    source.write_text(json.dumps(sign_up | change), encoding="utf-8")
    line = refused(run("subscriber", "register", "--from-json", str(source)), "invalid_input")
    assert line.endswith(f"(field: {field})"), line
    assert HOLDER not in line


def test_blank_or_overlong_codes_are_refused(run: Run, home: Path) -> None:
    refused(run("enterprise", "add", " ", "名", "--host-network", "unicom"), "missing_value")
    refused(
        run("enterprise", "add", "E" * 33, "名", "--host-network", "unicom"),
        "too_long",
        "(field: enterprise_code)",
    )
    setup_market(home)
    refused(run("outlet", "add", "", "--enterprise", "E01", "--kind", "own"), "missing_value")


def test_unknown_filter_values_are_refused_not_answered_empty(run: Run, home: Path) -> None:
    setup_market(home)
    refused(run("enforce", "list", "--status", "open"), "bad_status", "proposed, issued, closed")
    refused(run("enforce", "list", "--enterprise", "E99"), "unknown_enterprise")
    refused(run("tasks", "list", "--kind", "review"), "bad_task_kind", "card_count_review")


# -- settings ---------------------------------------------------------------------------------


def test_a_sqlite_file_that_is_not_a_database(run: Run, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(bytes(range(256)) * 8)
    outcome = run(
        "enterprise",
        "add",
        "E01",
        "名",
        "--host-network",
        "unicom",
        env={"MVNOGUARD_DATABASE_URL": f"sqlite:///{garbage}"},
    )
    refused(outcome, "configuration", "file is not a database", status=3)
    assert garbage.read_bytes() == bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://user@127.0.0.1/x", "unsupported database 'mysql'"),
        ("postgresql://postgres:secret@127.0.0.1:1/x", "check that the server is running"),
    ],
)
def test_a_database_url_that_cannot_work(run: Run, url: str, words: str) -> None:
    outcome = run("subscriber", "show", "17090000001", env={"MVNOGUARD_DATABASE_URL": url})
    line = refused(outcome, "configuration", words, status=3)
    assert "secret" not in line


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[[face_score_min]]\nsince = 2013-09-01\nvalue = "high"\n', "a number"),
        ("[[card_limit_per_enterprise]]\nsince = 2013-09-01\nvalue = 5.5\n", "a whole number"),
        ('[[allowed_verification_methods]]\nsince = 2013-09-01\nvalue = "reader"\n', "list"),
        ("[[face_score_min]]\nsince = 2013-09-01\nvalue = 0.8\nfrom = 1\n", "unknown key(s)"),
        ("face_score_min = [0.8]\n", "needs [[face_score_min]] versions"),
        ("[[face_score_min]]\nsince = 2013-09-01\nvalue = 1.5\n", "from 0 to 1"),
    ],
)
def test_a_malformed_policy_file(run: Run, tmp_path: Path, toml: str, words: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(toml, encoding="utf-8")
    outcome = run(
        *REGISTER,
        env={"MVNOGUARD_POLICY_FILE": str(policy)},
    )
    refused(outcome, "configuration", "policy.toml", words, status=3)


def test_a_policy_file_that_is_not_utf8(run: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_bytes("# 政策\n".encode("gbk"))
    outcome = run(
        *REGISTER,
        env={"MVNOGUARD_POLICY_FILE": str(policy)},
    )
    refused(outcome, "configuration", "not UTF-8", status=3)


def test_an_unknown_environment_setting(run: Run) -> None:
    outcome = run("stats", env={"MVNOGUARD_ENVIRONMENT": "prod"})
    refused(
        outcome, "configuration", "MVNOGUARD_ENVIRONMENT", "development or production", status=3
    )


def test_a_new_home_is_the_owners_alone(run: Run, home: Path) -> None:
    run("stats")  # refused (nothing imported yet), but the home is made first
    assert home.is_dir()
    assert stat.S_IMODE(home.stat().st_mode) & 0o077 == 0, oct(home.stat().st_mode)


@pytest.mark.parametrize("name", ["r3[1]", "state*", "home{a,b}"])
def test_a_home_whose_path_reads_as_a_file_pattern_is_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DuckDB and Spark read folders under the home as file patterns: a bracket in its path
    made `registry import` fail with a traceback and leave staging files behind."""
    home = tmp_path / name
    monkeypatch.setattr(sys, "argv", ["mvnoguard", "--home", str(home), "stats"])
    with pytest.raises(SystemExit) as ended:
        main()
    outcome = Outcome(int(str(ended.value.code)), "", capsys.readouterr().err)
    refused(outcome, "bad_home", "file pattern", status=3)
    assert not home.exists()


def test_production_refuses_a_home_open_to_others(run: Run, home: Path) -> None:
    home.mkdir()
    home.chmod(0o755)
    outcome = run(
        "stats",
        # Refused before any connection: the URL is never dialled.
        env={
            "MVNOGUARD_ENVIRONMENT": "production",
            "MVNOGUARD_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
        },
    )
    refused(outcome, "home_open_to_others", str(home), "mode 755", "chmod 700", status=3)
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # refused, not changed behind the user


@pytest.mark.parametrize("folder", ["quarantine", "reports", "registry", "traffic"])
def test_a_file_where_the_home_keeps_a_folder(
    run: Run, home: Path, tmp_path: Path, folder: str
) -> None:
    home.mkdir()
    (home / folder).write_text("in the way\n", encoding="utf-8")
    outcome = run("detect", "--calls", str(calls_file(tmp_path)), "--out", str(tmp_path / "r.csv"))
    refused(outcome, "configuration", f"{home / folder} is a file", status=3)
    assert (home / folder).read_text(encoding="utf-8") == "in the way\n"


def test_a_damaged_snapshot_in_the_home_is_one_clear_error(
    run: Run, home: Path, tmp_path: Path
) -> None:
    market = tmp_path / "market"
    assert run("synth", "market", "--out", str(market), "--scale", "0.0002").status == 0
    assert run("registry", "import", str(market)).status == 0
    damaged = home / "registry" / "subscribers" / "E01.parquet"
    damaged.write_bytes(b"PAR1 not what it was")
    keys = (home / "keys" / "vault.json").read_bytes()
    for args in (("stats",), ("retention", "purge"), ("vault", "rotate")):
        refused(run(*args), "unreadable_file", "import that enterprise's snapshot again")
    assert (home / "keys" / "vault.json").read_bytes() == keys  # the rotation moved nothing


def test_a_purge_dated_in_the_future_is_refused(run: Run, home: Path) -> None:
    # A purge cannot be undone: replaying a past day is fine, running ahead of the clock is not.
    setup_market(home)
    refused(run("retention", "purge", "--at", "2999-01-01"), "future_time", "(field: at)")
    done = run("retention", "purge", "--at", "2018-04-01")
    assert (done.status, done.out.splitlines()[0]) == (0, "0 identities purged")


@pytest.mark.parametrize(
    "args",
    [
        ("risk", "expire", "--at", "0001-01-07T00:00:00Z"),
        ("complaints", "submit", "17090000001", "--category", "spam", "--at", "9999-12-31"),
    ],
)
def test_an_at_far_from_today_is_refused(run: Run, home: Path, args: tuple[str, ...]) -> None:
    setup_market(home)
    refused(run(*args), "invalid_input", "out of range", "(field: at)")


def test_complaints_are_never_dated_ahead_of_the_clock(run: Run, home: Path) -> None:
    setup_market(home)
    ahead = ("complaints", "submit", "17090000001", "--category", "fraud", "--at", "2999-01-01")
    refused(run(*ahead), "future_time", "(field: at)")


def test_complaint_mistakes_at_the_command_line(run: Run, home: Path, tmp_path: Path) -> None:
    setup_market(home)
    refused(run("complaints", "reporter", str(2**70), "--purpose", "x"), "unknown_complaint")
    letters = run("complaints", "submit", "abc17090000001", "--category", "spam")
    refused(letters, "bad_number")
    upper = run("complaints", "submit", "17090000001", "--category", "FRAUD")
    assert upper.status == 0, upper.err
    assert json.loads(upper.out)["category"] == "fraud"
    feed = tmp_path / "complaints.csv"
    feed.write_text(
        "reported_number,reporter_number,category,received_at,text,channel\n"
        "17090000001,,spam,2016-05-01T10:00:00+08:00,bulk,hotline\n",
        encoding="utf-8",
    )
    loaded = run("complaints", "import", str(feed))
    assert loaded.status == 0, loaded.err
    assert "warning: complaints.csv: ignored unknown column(s) channel" in loaded.err


def test_a_column_in_capitals_is_named_in_the_missing_column_error(
    run: Run, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS_HEADER.replace("msisdn", "MSISDN", 1) + CALL_ROW, encoding="utf-8")
    outcome = run("detect", "--calls", str(calls), "--out", str(tmp_path / "r.csv"))
    refused(outcome, "missing_column", "the file has MSISDN: column names are lower case")


def test_a_complaint_from_an_unknown_enterprise_is_refused(run: Run, home: Path) -> None:
    setup_market(home)
    outcome = run(
        "complaints", "submit", "17090000001", "--category", "spam", "--enterprise", "E99"
    )
    refused(outcome, "unknown_enterprise", "E99")
    accepted = run(
        "complaints", "submit", "17090000001", "--category", "spam", "--enterprise", "E01"
    )
    assert accepted.status == 0, accepted.err
    assert json.loads(accepted.out)["duplicate"] is False


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_home_setting_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    # Empty, MVNOGUARD_HOME would make whatever folder the command runs in the home.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MVNOGUARD_HOME", value)
    monkeypatch.setattr(sys, "argv", ["mvnoguard", "stats"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    refused(
        Outcome(int(exit_info.value.code or 0), "", err),
        "configuration",
        "MVNOGUARD_HOME",
        status=3,
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "field"),
    [(("--users", "100000000"), "users"), (("--calls", "5000000000", "--days", "1"), "calls")],
)
def test_synthetic_traffic_beyond_what_one_run_can_draw(
    run: Run, tmp_path: Path, options: tuple[str, ...], field: str
) -> None:
    out = tmp_path / "traffic"
    outcome = run("synth", "traffic", "--out", str(out), *options)
    refused(outcome, "out_of_range", "10,000,000", f"(field: {field})")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("content", ["{bad", '{"enterprises": 5}', '{"enterprises": [{}]}'])
def test_a_damaged_saved_audit_is_one_clear_error(run: Run, home: Path, content: str) -> None:
    setup_market(home)
    saved = RegistryStore(home).latest_audit
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(content, encoding="utf-8")
    refused(run("violations", "--json"), "damaged_state", "run `mvnoguard audit` again", status=3)
