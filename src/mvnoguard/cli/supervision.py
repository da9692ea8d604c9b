"""The regulator's commands: inspections, violation rates, enforcement, the bulletin."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mvnoguard.analytics.statistics import market_statistics
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli.context import AtOption, SeedOption, print_json, runtime, when
from mvnoguard.domain.calendar import local_date, utc_now
from mvnoguard.supervision import enforcement
from mvnoguard.supervision.inspection_records import (
    attach_evidence,
    import_inspections,
    inspectable_outlets,
    parse_result,
    record,
)
from mvnoguard.supervision.nuisance_rates import nuisance_rates, overall_nuisance
from mvnoguard.supervision.periods import Period, parse_period
from mvnoguard.supervision.sampling import plan_inspections, write_plan_csv
from mvnoguard.supervision.violation_rates import violation_rates

ACTOR = "regulator-cli"

inspections_app = typer.Typer(
    help="Secret inspections: plans, results, evidence.", no_args_is_help=True
)
enforce_app = typer.Typer(
    help="Enforcement cases: propose, issue, close, list.", no_args_is_help=True
)

PeriodOption = Annotated[str, typer.Option("--period", help="YYYY, YYYY-Qn or YYYY-MM.")]


@inspections_app.command("plan")
def inspections_plan(
    ctx: typer.Context,
    margin: Annotated[float, typer.Option("--margin", help="Target margin of error, e.g. 0.05.")],
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    seed: SeedOption = 0,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="The round's period (YYYY, YYYY-Qn or YYYY-MM), in the draw and the "
            "inspection ids. Default: this month.",
        ),
    ] = None,
    previous: Annotated[
        str | None, typer.Option("--previous", help="Period whose rates weight the sample.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Plan CSV (default under reports).")
    ] = None,
) -> None:
    """Draw a stratified random sample of outlets to inspect, per enterprise and outlet kind.

    One seed and one period give one plan; another round's period draws afresh, under ids of
    its own.
    """
    rt = runtime(ctx)
    today = local_date(utc_now())
    rounds = parse_period(period) if period is not None else parse_period(f"{today:%Y-%m}")
    with rt.database.transaction() as session:
        outlets = inspectable_outlets(session)
        rates = None
        if previous is not None:
            measured = violation_rates(session, parse_period(previous))
            rates = {
                row.enterprise_code: row.rate.rate
                for row in measured.enterprises
                if row.rate.rate is not None
            }
    plan = plan_inspections(
        outlets,
        margin=margin,
        confidence=confidence,
        seed=seed,
        period=rounds,
        previous_rates=rates,
    )
    name = f"inspection-plan-{rounds.label}-seed{seed}.csv"
    target = out or rt.settings.reports_dir / "plans" / name
    write_plan_csv(plan, target)
    per_enterprise: dict[str, int] = {}
    for item in plan:
        per_enterprise[item.enterprise_code] = per_enterprise.get(item.enterprise_code, 0) + 1
    print_json(
        {
            "plan": str(target),
            "period": rounds.label,
            "inspections": len(plan),
            "per_enterprise": per_enterprise,
        }
    )


@inspections_app.command("import")
def inspections_import(ctx: typer.Context, file: Path, at: AtOption = None) -> None:
    """Load inspection results (the inspections contract); bad rows are quarantined."""
    rt = runtime(ctx)
    moment = when(at)
    with rt.database.transaction() as session:
        summary = import_inspections(
            session, file, quarantine_dir=rt.settings.quarantine_dir, actor=ACTOR, at=moment
        )
        closed = enforcement.close_passed_rectifications(session, at=moment, actor=ACTOR)
    body = summary.__dict__ | {"rectifications_closed": [c.id for c in closed]}
    print_json(body)


@inspections_app.command("record")
def inspections_record(
    ctx: typer.Context,
    inspection_id: str,
    enterprise: Annotated[str, typer.Option("--enterprise")],
    outlet: Annotated[str, typer.Option("--outlet")],
    outcome: Annotated[str, typer.Option("--outcome", help="pass or violation")],
    violations: Annotated[str, typer.Option("--violations", help="kinds, ;-separated")] = "",
    inspected_on: Annotated[datetime | None, typer.Option("--inspected-on")] = None,
    evidence: Annotated[
        list[Path] | None, typer.Option("--evidence", help="File(s) to attach.")
    ] = None,
    at: AtOption = None,
) -> None:
    """Record one inspection result (and its evidence files)."""
    rt = runtime(ctx)
    moment = when(at)
    day = local_date(inspected_on) if inspected_on else local_date(moment)  # Beijing date
    result = parse_result(
        {
            "inspection_id": inspection_id,
            "enterprise_code": enterprise,
            "outlet_code": outlet,
            "inspected_on": day.isoformat(),
            "outcome": outcome,
            "violations": violations,
        },
        today=local_date(moment),
    )
    with rt.database.transaction() as session:
        recorded = record(session, result, actor=ACTOR, at=moment)
        stored = [
            attach_evidence(
                session,
                inspection_id,
                path,
                evidence_dir=rt.settings.home / "evidence",
                actor=ACTOR,
            ).sha256
            for path in evidence or []
        ]
        closed = enforcement.close_passed_rectifications(session, at=moment, actor=ACTOR)
    print_json(
        {
            "inspection_id": inspection_id,
            "recorded": recorded.changed,
            "warnings": [recorded.outlet_note] if recorded.outlet_note else [],
            "evidence": stored,
            "rectifications_closed": [c.id for c in closed],
        }
    )


def _period_or_none(period: str | None) -> Period | None:
    return parse_period(period) if period else None


def registry_users(home: Path) -> dict[str, int] | None:
    """Users per enterprise of the imported registry (not in the OLTP store), if one exists."""
    store = RegistryStore(home)
    if not store.reference("enterprises").exists():
        return None
    return {e.enterprise_code: e.users for e in market_statistics(store).enterprises}


def violations(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="YYYY, YYYY-Qn or YYYY-MM; with a period, complaints and confirmed fraud "
            "numbers per 10,000 users per 30 days are shown too.",
        ),
    ] = None,
) -> None:
    """Violation rates from inspections, with Wilson 95% intervals, tiers and trends."""
    rt = runtime(ctx)
    measured = _period_or_none(period)
    with rt.database.transaction() as session:
        rates = violation_rates(
            session,
            measured,
            registry_rates=RegistryStore(rt.settings.home).registry_violation_rates(),
        )
        if measured is not None:
            nuisance = nuisance_rates(
                session, measured, registry_users=registry_users(rt.settings.home)
            )
            rates.attach_nuisance(nuisance, overall_nuisance(nuisance, measured))
    if as_json:
        print_json(rates.to_json())
        return
    table = Table(title=f"Violation rates{' ' + period if period else ''} (Wilson 95%)")
    for header in (
        "tier",
        "enterprise",
        "inspected",
        "violations",
        "rate",
        "95% interval",
        "trend",
        "complaints /10k/30d",
        "fraud numbers /10k/30d",
    ):
        table.add_column(header)

    def per_10k(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for row in [*rates.enterprises, rates.overall]:
        r, n = row.rate, row.nuisance
        table.add_row(
            str(row.tier or ""),
            row.enterprise_code,
            str(r.inspected),
            str(r.violations),
            "-" if r.rate is None else f"{r.rate:.1%}",
            f"{r.ci_low:.1%} - {r.ci_high:.1%}",
            row.trend,
            per_10k(n.complaints_per_10k_per_30d if n else None),
            per_10k(n.fraud_numbers_per_10k_per_30d if n else None),
        )
    for n in rates.uninspected:
        table.add_row(
            "",
            n.enterprise_code,
            "0",
            "0",
            "-",
            "-",
            "",
            per_10k(n.complaints_per_10k_per_30d),
            per_10k(n.fraud_numbers_per_10k_per_30d),
        )
    Console().print(table)


@enforce_app.command("propose")
def enforce_propose(ctx: typer.Context, period: PeriodOption, at: AtOption = None) -> None:
    """Propose the measures the period's violation and nuisance rates call for."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        created = enforcement.propose_cases(
            session,
            rt.policy,
            parse_period(period),
            at=when(at),
            actor=ACTOR,
            registry_users=registry_users(rt.settings.home),
        )
        print_json([enforcement.CaseView(c, False).to_json() for c in created])


@enforce_app.command("issue")
def enforce_issue(ctx: typer.Context, case_id: int, at: AtOption = None) -> None:
    """Issue a proposed case; writes its notice (HTML and PDF) under HOME/reports/notices/."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        case = enforcement.issue_case(
            session,
            rt.policy,
            case_id,
            at=when(at),
            notices_dir=rt.settings.reports_dir / "notices",
            actor=ACTOR,
            registry_rates=RegistryStore(rt.settings.home).registry_violation_rates(),
            registry_users=registry_users(rt.settings.home),
        )
        print_json(enforcement.CaseView(case, False).to_json())


@enforce_app.command("close")
def enforce_close(
    ctx: typer.Context,
    case_id: int,
    reason: Annotated[str, typer.Option("--reason")],
    at: AtOption = None,
) -> None:
    """Close a case (rectified, withdrawn, superseded...)."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        case = enforcement.close_case(session, case_id, reason=reason, at=when(at), actor=ACTOR)
        print_json(enforcement.CaseView(case, False).to_json())


@enforce_app.command("list")
def enforce_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status")] = None,
    enterprise: Annotated[str | None, typer.Option("--enterprise")] = None,
    at: AtOption = None,
) -> None:
    """Cases, overdue rectifications first."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        views = enforcement.list_cases(
            session, at=when(at), status=status, enterprise_code=enterprise
        )
        print_json([v.to_json() for v in views])


def bulletin(
    ctx: typer.Context,
    period: PeriodOption,
    published_on: Annotated[datetime | None, typer.Option("--published-on")] = None,
) -> None:
    """Publish the period's bulletin of enterprises and violations (HTML and PDF)."""
    from mvnoguard.supervision.publication import publish_bulletin

    rt = runtime(ctx)
    day: date = local_date(published_on) if published_on else local_date(utc_now())
    with rt.database.transaction() as session:
        html, pdf = publish_bulletin(
            session, parse_period(period), rt.settings.reports_dir / "bulletins", published_on=day
        )
    print_json({"html": str(html), "pdf": str(pdf)})
