"""``mvnoguard model`` commands on small made-up data (real-data figures: tests/detection)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from mvnoguard.cli import app

runner = CliRunner()
ITEMS = ["phone", "holiday", "voucher", "camera", "laptop", "ringtone"]
WORDS = ["CLAIM", "PRIZE", "WIN", "GO"]
PEOPLE = ["mum", "Tom", "the team", "Anna", "my brother", "the doctor"]
PLANS = ["lunch", "the meeting", "dinner", "the train"]
# Distinct messages: copies that normalise alike are kept in one fold, so repeats teach nothing.
SPAM = [f"WIN a free {item} now! Text {word} to claim" for item in ITEMS for word in WORDS]
SPAM += [
    f"恭喜您获得{item}大奖，回复{word}领取" for item in ("手机", "话费", "红包") for word in WORDS
]
HAM = [f"tell {who} I will be late for {plan}" for who in PEOPLE for plan in PLANS]
HAM += [
    f"{who}说{plan}改到明天"
    for who in ("妈妈", "老师", "同事")
    for plan in ("开会", "吃饭", "上课", "见面")
]


def predict_sms(model: Path, source: Path, out: Path) -> tuple[str, ...]:
    """The arguments of ``model predict sms``."""
    return (
        "model",
        "predict",
        "sms",
        "--model",
        str(model),
        "--data",
        str(source),
        "--out",
        str(out),
    )


def train_sms_model(folder: Path) -> tuple[Path, str]:
    """Train the SMS model on the tiny corpus above through the CLI: the file and its output."""
    training = folder / "train.tsv"
    lines = [f"spam\t{text}" for text in SPAM] + [f"ham\t{text}" for text in HAM]
    training.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = folder / "sms.mvgmodel"
    trained = runner.invoke(
        app, ["model", "train", "sms", "--data", str(training), "--out", str(model)]
    )
    assert trained.exit_code == 0, trained.output
    return model, trained.output


def test_sms_model_trains_and_predicts_through_the_cli(tmp_path: Path) -> None:
    model, output = train_sms_model(tmp_path)
    assert 0.0 < json.loads(output)["threshold"] < 1.0
    source = tmp_path / "in.csv"
    source.write_text(
        "id,content\n7,WIN a free cruise now! Text WIN to claim\n"
        "8,tell Anna I will be late for the bus\n9,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    predicted = runner.invoke(app, list(predict_sms(model, source, out)))
    assert predicted.exit_code == 0, predicted.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["7", "8", "9"]
    assert [r["is_spam"] for r in rows] == ["1", "0", "0"]


def test_detect_scores_message_texts_with_an_sms_model(tmp_path: Path) -> None:
    """``detect --sms-model`` once died on DuckDB 2's ``.arrow()`` (a reader, not a table)."""
    model, _ = train_sms_model(tmp_path)
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "msisdn,other_party,direction,start_time,duration_s,cell_id,imei\n"
        "17090000001,13800138000,out,2026-03-02T10:00:00,30,c1,i1\n",
        encoding="utf-8",
    )
    messages = tmp_path / "messages.csv"
    with messages.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["msisdn", "other_party", "direction", "sent_at", "content"])
        for i, text in enumerate(SPAM[:5] + HAM[:5]):
            writer.writerow(["17090000001", f"1380013{i:04d}", "out", "2026-03-02T11:00:00", text])
    out = tmp_path / "risk.csv"
    detected = runner.invoke(
        app,
        [
            "--home",
            str(tmp_path / "home"),
            "detect",
            "--calls",
            str(calls),
            "--messages",
            str(messages),
            "--sms-model",
            str(model),
            "--out",
            str(out),
        ],
    )
    assert detected.exit_code == 0, (detected.output, detected.exception)
    assert json.loads(detected.stdout)["records"]["messages"]["accepted"] == 10
    assert out.is_file()


def test_sichuan_eval_repeats_fold_seeds_and_shows_intervals(tmp_path: Path) -> None:
    from tests.detection.test_sichuan_model import _write_dataset

    _write_dataset(tmp_path)
    base = ["model", "eval", "sichuan", "--data", str(tmp_path), "--seed", "3"]
    shown = runner.invoke(app, [*base, "--repeats", "2"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for text in ("fold seed 3", "fold seed 4", "mean of seeds", "95% bootstrap intervals"):
        assert text in shown.output
    answer = json.loads(runner.invoke(app, [*base, "--repeats", "2", "--json"]).output)
    assert answer["seeds"] == [3, 4]
    means = [run["mean"]["macro_f1"] for run in answer["runs"]]
    assert answer["mean_of_runs"]["macro_f1"] == sum(means) / 2
    single = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert "[[tn,fp],[fn,tp]]" in single.output  # a header, not Rich markup
    assert "pooled" in single.output and "95% bootstrap intervals" in single.output
    refused = runner.invoke(app, [*base, "--repeats", "0"])
    assert refused.exit_code == 2
