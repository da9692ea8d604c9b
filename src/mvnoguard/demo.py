"""The demo: the main job end to end on embedded defaults, in a fresh or existing home.

It runs on stages of its own under the home (``HOME/counter-demo`` and ``HOME/demo``, each with
its own SQLite store and key ring, made afresh every run), so it never touches the registry,
store or keys the user keeps in the home; its report goes to the home's ``reports/``.

So far it runs the real-name registration core: two enterprises with their blocks and outlets,
lawful sign-ups, and one attempt against each registration rule, refused with its code.
Every identity is made up here and shown masked only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.errors import RegistrationRefused
from mvnoguard.identity.documents import ric_check_character
from mvnoguard.registry import catalog
from mvnoguard.registry.registration import SignUp
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.runtime import Runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTOR = "demo"
SIGN_UP_TIME = datetime(2016, 3, 1, 10, 0, tzinfo=CHINA_TZ)


def made_up_ric(region: str, birth: str, sequence: int) -> str:
    first17 = f"{region}{birth}{sequence:03d}"
    return first17 + ric_check_character(first17)


@dataclass
class DemoResult:
    registered: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str, str]] = field(default_factory=list)  # attempt, code, message


def _setup(rt: Runtime) -> None:
    with rt.database.transaction() as session:
        for spec in (
            catalog.EnterpriseSpec("E01", "远岸移动", HostNetwork.UNICOM, None, "A2.B1-2013-0001"),
            catalog.EnterpriseSpec("E02", "青禾通信", HostNetwork.TELECOM, None, "A2.B1-2013-0002"),
        ):
            catalog.upsert_enterprise(session, spec, actor=ACTOR)
        catalog.add_block(session, "E01", "17090000000", "17090009999", actor=ACTOR)
        catalog.add_block(session, "E02", "17000000000", "17000009999", actor=ACTOR)
        for outlet in (
            catalog.OutletSpec("E01-OWN-1", "E01", OutletKind.OWN, "110101"),
            catalog.OutletSpec("E01-WEB", "E01", OutletKind.ONLINE, None),
            catalog.OutletSpec("E01-AGT-7", "E01", OutletKind.AGENT, "310104"),
            catalog.OutletSpec("E02-OWN-1", "E02", OutletKind.OWN, "440106"),
        ):
            catalog.upsert_outlet(session, outlet, actor=ACTOR)
        catalog.blacklist_outlet(
            session,
            "E01-AGT-7",
            reason="secret inspection: pre-activated cards",
            at=SIGN_UP_TIME,
            actor=ACTOR,
        )


COUNTER_STAGE = "counter-demo"
MARKET_STAGE = "demo"


def stage_runtime(rt: Runtime, name: str) -> Runtime:
    """A fresh home of its own under the user's (``HOME/name``), with its own SQLite store and
    key ring, so each demo run starts clean and never touches the user's registry, store or
    keys: a demo market imported beside a real one would mix with it."""
    import shutil

    home = rt.settings.home / name
    shutil.rmtree(home, ignore_errors=True)
    return Runtime(rt.settings.model_copy(update={"home": home, "database_url": None}))


def counter_runtime(rt: Runtime) -> Runtime:
    """The counter demo's stage: its made-up enterprises never meet the synthetic market's."""
    return stage_runtime(rt, COUNTER_STAGE)


def run(rt: Runtime) -> DemoResult:
    result = DemoResult()
    _setup(rt)
    adult = PresentedDocument("RIC", made_up_ric("110101", "19900307", 123), name="王小明")
    minor = PresentedDocument("RIC", made_up_ric("440106", "20050101", 456), name="李想")
    parent = PresentedDocument("RIC", made_up_ric("440106", "19750612", 789), name="李建国")

    def attempt(label: str, msisdn: str, **changes: object) -> None:
        base: dict[str, object] = {
            "msisdn": msisdn,
            "enterprise_code": "E01",
            "outlet_code": "E01-OWN-1",
            "holder": adult,
            "verification_method": "reader",
            "face_score": 0.93,
            "at": SIGN_UP_TIME,
        }
        base.update(changes)
        sign_up = SignUp(**base)  # type: ignore[arg-type]
        try:
            with rt.database.transaction() as session:
                rt.registration.register(session, sign_up, actor=ACTOR)
            result.registered.append(f"{label}: {msisdn}")
        except RegistrationRefused as refusal:
            result.refusals.append((label, refusal.code, refusal.message))

    for i in range(5):
        attempt(f"card {i + 1} of 5 at E01", f"1709000010{i}")
    attempt("sixth card at E01", "17090000200")
    attempt(
        "sixth card, at another enterprise",
        "17000000001",
        enterprise_code="E02",
        outlet_code="E02-OWN-1",
    )
    attempt("manual entry", "17090000300", holder=parent, verification_method="manual")
    attempt("face score 0.62 at own shop", "17090000301", holder=parent, face_score=0.62)
    attempt(
        "online sign-up, no face score",
        "17090000302",
        holder=parent,
        outlet_code="E01-WEB",
        face_score=None,
        verification_method="online",
    )
    attempt("under 16 without guardian", "17090000303", holder=minor)
    attempt("under 16 with guardian", "17090000304", holder=minor, guardian=parent)
    attempt("number of another enterprise", "17000000500", holder=parent)
    attempt("blacklisted agent outlet", "17090000305", holder=parent, outlet_code="E01-AGT-7")
    return result


DEMO_SCALE = 0.005  # about 103,000 users: the whole chain in seconds


@dataclass
class MarketDemo:
    users_total: int
    audit: dict[str, Any]
    exact: bool  # the audit found exactly the planted defects
    stats: Any  # MarketStatistics


def write_demo_report(rt: Runtime, market: MarketDemo, sections: list[str]) -> Path:
    from mvnoguard.reports.market_report import render_market_report, write_report

    html = render_market_report(market.stats, market.audit, sections=sections)
    return write_report(html, rt.settings.reports_dir)


def run_market(rt: Runtime, *, scale: float = DEMO_SCALE, seed: int = 2015) -> MarketDemo:
    """Synthetic market -> registry import -> audit -> statistics -> HTML report."""
    import json
    import shutil

    from mvnoguard.analytics.audit import run_audit
    from mvnoguard.analytics.statistics import market_statistics
    from mvnoguard.analytics.store import RegistryStore
    from mvnoguard.registry.bulk_import import import_registry
    from mvnoguard.synth import generate_market

    market_dir = rt.settings.home / "demo-market"
    generate_market(market_dir, scale=scale, seed=seed)
    import_registry(market_dir, home=rt.settings.home, database=rt.database, vault=rt.vault)
    store = RegistryStore(rt.settings.home)
    audit = run_audit(store, rt.policy).to_json()
    store.save_audit(audit)
    truth = json.loads((market_dir / "truth.json").read_text(encoding="utf-8"))
    # The generated snapshots hold (made-up) document numbers and names in clear: once
    # imported, sealed, they are not left lying in the home.
    shutil.rmtree(market_dir / "subscribers", ignore_errors=True)
    found = {e["enterprise_code"]: e for e in audit["enterprises"]}
    exact = all(
        found[t["enterprise_code"]][key] == t[key]
        for t in truth["enterprises"]
        for key in ("audited", "violating", "violations")
    )
    stats = market_statistics(store)
    return MarketDemo(stats.users_total, audit, exact, stats)


@dataclass
class SupervisionDemo:
    rounds: list[dict[str, Any]]  # per round: period, inspected, violations, rate, ci
    cases_issued: list[dict[str, Any]]
    notices: list[str]
    bulletin: str
    section_html: str


def _inspection_round(
    rt: Runtime, *, period: str, day: str, seed: int, severity: dict[str, float], path: Path
) -> Path:
    """Plan a round on the registry's outlets and play it out: an outlet is found in violation
    with its enterprise's chance (a made-up rate that tracks the planted registry defects)."""
    import random

    from mvnoguard.supervision.inspection_records import inspectable_outlets
    from mvnoguard.supervision.periods import parse_period
    from mvnoguard.supervision.sampling import plan_inspections

    with rt.database.transaction() as session:
        outlets = inspectable_outlets(session)
    plan = plan_inspections(
        outlets, margin=0.15, confidence=0.95, seed=seed, period=parse_period(period)
    )
    chance = random.Random(seed)  # noqa: S311 - a made-up inspection round, not security
    lines = ["inspection_id,enterprise_code,outlet_code,inspected_on,outcome,violations"]
    for item in plan:
        bad = chance.random() < severity.get(item.enterprise_code, 0.0)
        kinds = chance.choice(["no_id_check", "pre_activated_card", "no_face_check;manual_entry"])
        lines.append(
            f"{item.inspection_id},{item.enterprise_code},{item.outlet_code},{day},"
            f"{'violation' if bad else 'pass'},{kinds if bad else ''}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_supervision(rt: Runtime, market: MarketDemo) -> SupervisionDemo:
    """Two secret-inspection rounds, violation rates, proposed and issued cases, a bulletin."""
    from datetime import UTC

    from mvnoguard.reports.market_report import bar_chart
    from mvnoguard.supervision import enforcement
    from mvnoguard.supervision.inspection_records import import_inspections
    from mvnoguard.supervision.periods import parse_period
    from mvnoguard.supervision.publication import publish_bulletin
    from mvnoguard.supervision.violation_rates import violation_rates

    registry_rates = {
        str(e["enterprise_code"]): float(e["violation_rate"] or 0.0)
        for e in market.audit["enterprises"]
    }
    # Outlet-level violations are far commoner than number-level ones: a shop that skips the
    # face check does so for everyone. The second round follows the notices and is better.
    july = {code: min(0.85, 0.06 + 4 * rate) for code, rate in registry_rates.items()}
    november = {code: rate / 2.5 for code, rate in july.items()}
    folder = rt.settings.home / "demo-inspections"
    folder.mkdir(parents=True, exist_ok=True)
    rounds: list[dict[str, Any]] = []
    issued_cases: list[dict[str, Any]] = []
    notices: list[str] = []
    for period, day, seed, severity, issue_on in (
        ("2016-07", "2016-07-12", 7, july, datetime(2016, 8, 1, 10, tzinfo=CHINA_TZ)),
        ("2016-11", "2016-11-20", 11, november, datetime(2016, 12, 1, 10, tzinfo=CHINA_TZ)),
    ):
        path = _inspection_round(
            rt,
            period=period,
            day=day,
            seed=seed,
            severity=severity,
            path=folder / f"inspections-{period}.csv",
        )
        with rt.database.transaction() as session:
            import_inspections(
                session,
                path,
                quarantine_dir=rt.settings.quarantine_dir,
                actor=ACTOR,
                at=issue_on.astimezone(UTC),
            )
            enforcement.close_passed_rectifications(session, at=issue_on, actor=ACTOR)
            rates = violation_rates(session, parse_period(period))
            overall = rates.overall.rate
            rounds.append(
                {
                    "period": period,
                    "inspected": overall.inspected,
                    "violations": overall.violations,
                    "rate": overall.rate,
                    "ci_low": overall.ci_low,
                    "ci_high": overall.ci_high,
                    "enterprises": [r.to_json() for r in rates.enterprises],
                }
            )
            enforcement.propose_cases(
                session, rt.policy, parse_period(period), at=issue_on, actor=ACTOR
            )
            for view in enforcement.list_cases(session, at=issue_on, status="proposed"):
                enforcement.issue_case(
                    session,
                    rt.policy,
                    view.case.id,
                    at=issue_on,
                    notices_dir=rt.settings.reports_dir / "notices",
                    actor=ACTOR,
                    registry_rates=registry_rates,
                )
            bulletin_html, _pdf = publish_bulletin(
                session,
                parse_period(period),
                rt.settings.reports_dir / "bulletins",
                published_on=issue_on.date(),
            )
    with rt.database.transaction() as session:
        for view in enforcement.list_cases(session, at=datetime(2016, 12, 31, tzinfo=CHINA_TZ)):
            issued_cases.append(view.to_json())
            if view.case.document:
                notices.append(view.case.document)
    last = rounds[0]["enterprises"]
    chart = bar_chart(
        "July 2016 inspection violation rate by enterprise",
        [(str(e["enterprise_code"]), 100 * float(e["rate"] or 0)) for e in last],
        unit="%",
    )
    round_rows = "".join(
        f"<tr><td>{r['period']}</td><td>{r['inspected']}</td><td>{r['violations']}</td>"
        f"<td>{100 * float(r['rate'] or 0):.1f}%</td>"
        f"<td>{100 * float(r['ci_low']):.1f}% - {100 * float(r['ci_high']):.1f}%</td></tr>"
        for r in rounds
    )
    case_rows = "".join(
        f"<tr><td>{c['case_id']}</td><td>{c['enterprise_code']}</td><td>{c['kind']}</td>"
        f"<td>{c['period']}</td><td>{c['deadline'] or ''}</td></tr>"
        for c in issued_cases
    )
    section = (
        "<h2>Secret inspections</h2><table><thead><tr><th>round</th><th>inspected</th>"
        "<th>violations</th><th>rate</th><th>Wilson 95%</th></tr></thead><tbody>"
        f"{round_rows}</tbody></table>{chart}"
        "<h2>Enforcement cases issued</h2><table><thead><tr><th>case</th><th>enterprise</th>"
        f"<th>measure</th><th>period</th><th>deadline</th></tr></thead><tbody>{case_rows}"
        "</tbody></table>"
    )
    return SupervisionDemo(rounds, issued_cases, notices, str(bulletin_html), section)


DEMO_TRAFFIC_USERS = 20_000


@dataclass
class DetectionDemo:
    records: int
    numbers_seen: int
    flagged: int
    evaluation: dict[str, Any]
    top: list[dict[str, Any]]  # the highest-scored findings, numbers masked
    risk_list: Path
    section_html: str


def masked_msisdn(e164: str) -> str:
    """A phone number for a report: country code and first three digits, last four."""
    return e164[:6] + "*" * max(0, len(e164) - 10) + e164[-4:]


def run_detection(
    rt: Runtime, *, users: int = DEMO_TRAFFIC_USERS, seed: int = 2016
) -> DetectionDemo:
    """A week of synthetic calls and messages of the market's subscribers, screened; the risk
    list under ``HOME/reports/`` and its precision and recall against the planted truth."""
    import shutil
    from html import escape

    from mvnoguard.detection.evaluation import evaluate, read_truth
    from mvnoguard.detection.screening import screen
    from mvnoguard.detection.settings import DetectionSettings
    from mvnoguard.synth.traffic import generate_traffic

    folder = rt.settings.home / "demo-traffic"
    # The imported registry (numbers in clear, identities sealed) gives the subscribers' numbers.
    registry = rt.settings.home / "registry"
    has_registry = (registry / "subscribers").is_dir()
    generate_traffic(folder, users=users, seed=seed, market=registry if has_registry else None)
    risk_list = rt.settings.reports_dir / "risk-list.csv"
    result = screen(
        calls=[folder / "calls.csv"],
        messages=[folder / "messages.csv"],
        complaints=[folder / "complaints.csv"],
        activations=folder / "activations.csv",
        work=rt.settings.home / "traffic",
        quarantine_dir=rt.settings.quarantine_dir,
        settings=DetectionSettings.from_policy(rt.policy),
        out=risk_list,
    )
    evaluation = evaluate(
        ((f"+{f.msisdn}", f.category.value) for f in result.findings),
        read_truth(folder / "truth.csv"),
    ).to_json()
    # The raw records name every complainant's number in clear: once screened, they go.
    shutil.rmtree(folder, ignore_errors=True)
    top: list[dict[str, Any]] = [
        {
            "msisdn": masked_msisdn(f"+{f.msisdn}"),
            "category": f.category.value,
            "score": f.score,
            "reasons": "; ".join(f.reasons),
        }
        for f in result.findings[:10]
    ]
    rows = "".join(
        f"<tr><td>{escape(t['msisdn'])}</td><td>{t['category']}</td><td>{t['score']:.2f}</td>"
        f"<td>{escape(t['reasons'])}</td></tr>"
        for t in top
    )
    kinds = "".join(
        f"<tr><td>{escape(kind)}</td><td>{v['numbers']:,}</td><td>{v['flagged']:,}</td></tr>"
        for kind, v in evaluation["by_kind"].items()
    )
    records = sum(r.accepted for r in result.ingested)
    section = (
        "<h2>Nuisance numbers in a week of calls and messages</h2>"
        f"<p>{records:,} records of {result.numbers_seen:,} numbers screened; "
        f"{len(result.findings):,} numbers judged risky. Against the planted truth: "
        f"{evaluation['recall']:.1%} of nuisance numbers caught, precision "
        f"{evaluation['precision']:.1%}, {evaluation['heavy_flagged_share']:.1%} of legitimate "
        f"heavy callers and {evaluation['ordinary_flagged_share']:.2%} of ordinary users "
        "flagged.</p><table><thead><tr><th>number</th><th>category</th><th>score</th>"
        f"<th>reasons</th></tr></thead><tbody>{rows}</tbody></table>"
        "<table><thead><tr><th>kind (planted)</th><th>numbers</th><th>flagged</th></tr></thead>"
        f"<tbody>{kinds}</tbody></table>"
    )
    return DetectionDemo(
        records, result.numbers_seen, len(result.findings), evaluation, top, risk_list, section
    )


@dataclass
class LinkageDemo:
    pushed: int
    confirmed: int
    feed_items: int
    tasks: dict[str, int]  # per enterprise code, re-verification tasks from identity linkage
    section_html: str


def _authorised_outlet(session: Session, enterprise_code: str) -> str | None:
    from sqlalchemy import select

    from mvnoguard.storage.models import Enterprise, Outlet

    return session.scalar(
        select(Outlet.code)
        .join(Enterprise, Enterprise.id == Outlet.enterprise_id)
        .where(
            Enterprise.code == enterprise_code,
            Outlet.authorized.is_(True),
            Outlet.blacklisted_at.is_(None),
            Outlet.kind == OutletKind.OWN.value,
        )
        .order_by(Outlet.code)
        .limit(1)
    )


def _spare_number(session: Session, enterprise_code: str) -> str | None:
    """The number at the top of the enterprise's first block (the synthetic market fills
    blocks from the bottom)."""
    from sqlalchemy import select

    from mvnoguard.storage.models import Enterprise, NumberBlock

    last = session.scalar(
        select(NumberBlock.last_number)
        .join(Enterprise, Enterprise.id == NumberBlock.enterprise_id)
        .where(Enterprise.code == enterprise_code)
        .order_by(NumberBlock.first_number)
        .limit(1)
    )
    return str(last) if last else None


def run_linkage(rt: Runtime, detection: DetectionDemo, *, top: int = 20) -> LinkageDemo:
    """Detection results pushed to the shared risk database by the enterprises that hold the
    numbers, corroborated or confirmed, and the holder of a confirmed fraud number linked across
    enterprises: each gets re-verification tasks for its own numbers of that holder."""
    import csv
    from collections import Counter

    from mvnoguard.domain.access import Principal, Role
    from mvnoguard.domain.risk import RiskCategory
    from mvnoguard.linkage import identity_links, risk_numbers
    from mvnoguard.linkage.numbers import live_holder
    from mvnoguard.registry.catalog import block_owner, enterprise_codes

    now = datetime(2026, 3, 9, 10, 0, tzinfo=CHINA_TZ)
    regulator = Principal("demo-regulator", Role.REGULATOR)
    with detection.risk_list.open(encoding="utf-8", newline="") as handle:
        findings = list(csv.DictReader(handle))[:top]
    pushed = confirmed = 0
    holder = PresentedDocument("RIC", made_up_ric("350102", "19880214", 417), name="陈某某")
    with rt.database.transaction() as session:
        owners = {}
        for f in findings:
            owner = block_owner(session, f["msisdn"].removeprefix("+86"))
            if owner is not None:
                owners[f["msisdn"]] = owner.code
        fraud = next(
            (f for f in findings if f["category"] == "fraud" and f["msisdn"] in owners), None
        )
        # The holder of the first fraud number also holds cards at two other enterprises.
        if fraud is not None:
            home = owners[fraud["msisdn"]]
            cards: list[tuple[str, str | None, str]] = [  # enterprise, outlet, number
                (home, _authorised_outlet(session, home), fraud["msisdn"].removeprefix("+86"))
            ]
            for code in sorted(enterprise_codes(session) - {home}):
                outlet, spare = _authorised_outlet(session, code), _spare_number(session, code)
                if outlet is not None and spare is not None:
                    cards.append((code, outlet, spare))
                if len(cards) == 3:
                    break
            for code, outlet, msisdn in cards:
                if outlet is None or block_owner(session, msisdn) is None:
                    continue
                held = live_holder(session, msisdn)
                if held is not None and held.identity_id is not None:
                    continue  # registered by an earlier demo run in this home
                rt.registration.register(
                    session,
                    SignUp(
                        msisdn=msisdn,
                        enterprise_code=code,
                        outlet_code=outlet,
                        holder=holder,
                        verification_method="reader",
                        face_score=0.91,
                        at=datetime(2025, 6, 1, 10, 0, tzinfo=CHINA_TZ),
                    ),
                    actor=ACTOR,
                )
        for f in findings:
            owner_code = owners.get(f["msisdn"])
            if owner_code is None:
                continue
            code = owner_code
            risk_numbers.push(
                session,
                Principal(f"demo-{code}", Role.ENTERPRISE, code),
                risk_numbers.RiskPush(
                    f["msisdn"], RiskCategory(f["category"]), float(f["score"]), f["reasons"]
                ),
                now=now,
                policy=rt.policy,
            )
            pushed += 1
        for f in findings[:5]:
            if f["msisdn"] in owners:
                risk_numbers.confirm(session, regulator, f["msisdn"], now=now, policy=rt.policy)
                confirmed += 1
        if fraud is not None and fraud not in findings[:5]:
            risk_numbers.confirm(session, regulator, fraud["msisdn"], now=now, policy=rt.policy)
            confirmed += 1
        feed = risk_numbers.changes(session, regulator, since=0, limit=1000)
        tasks = Counter(
            t.enterprise_code for t in identity_links.tasks_for(session, regulator, kind="reverify")
        )
    task_rows = "".join(
        f"<tr><td>{code}</td><td>{n}</td></tr>" for code, n in sorted(tasks.items())
    )
    section = (
        "<h2>The shared risk-number database</h2>"
        f"<p>{pushed} risk numbers pushed by the enterprises that hold them, {confirmed} confirmed "
        f"by the regulator, {len(feed.items)} changes in the feed every enterprise pulls. The "
        "holder of a confirmed fraud number was found by identity token at every enterprise; "
        "each got 24-hour re-verification tasks for its own numbers of that holder only.</p>"
        "<table><thead><tr><th>enterprise</th><th>re-verification tasks</th></tr></thead>"
        f"<tbody>{task_rows}</tbody></table>"
    )
    return LinkageDemo(pushed, confirmed, len(feed.items), dict(tasks), section)
