"""``mvnoguard demo``: prints what the demo did."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from mvnoguard import demo
from mvnoguard.cli.context import runtime
from mvnoguard.runtime import Runtime


def run_demo(ctx: typer.Context) -> None:
    rt = runtime(ctx)
    console = Console()
    console.print(f"[bold]mvnoguard demo[/bold] in {rt.settings.home.resolve()}")
    counter = demo.counter_runtime(rt)
    try:
        result = demo.run(counter)
    finally:
        counter.close()
    table = Table(title="Real-name registration: sign-ups at the counter")
    table.add_column("attempt")
    table.add_column("outcome")
    table.add_column("why")
    for line in result.registered:
        table.add_row(line, "[green]registered[/green]", "")
    for label, code, message in result.refusals:
        table.add_row(label, f"[red]refused: {code}[/red]", message)
    console.print(table)
    console.print(
        f"{len(result.registered)} registered, {len(result.refusals)} refused; "
        "identity data is stored encrypted and shown masked."
    )
    console.print("\n[bold]The market[/bold]: synthetic market -> import -> audit -> statistics")
    stage = demo.stage_runtime(rt, demo.MARKET_STAGE)
    try:
        _run_stage(console, rt, stage)
    finally:
        stage.close()


def _run_stage(console: Console, rt: Runtime, stage: Runtime) -> None:
    """The market, supervision, detection and linkage demos in ``stage``; the report in ``rt``."""
    market = demo.run_market(stage)
    worst = sorted(
        (e for e in market.audit["enterprises"] if e["audited"]),
        key=lambda e: -e["violation_rate"],
    )[:5]
    audit_table = Table(title=f"Registry audit of {market.users_total:,} users: worst enterprises")
    for header in ("enterprise", "audited", "violating", "rate"):
        audit_table.add_column(header)
    for e in worst:
        audit_table.add_row(
            e["enterprise_code"],
            f"{e['audited']:,}",
            f"{e['violating']:,}",
            f"{e['violation_rate'] * 100:.2f}%",
        )
    console.print(audit_table)
    verdict = "exactly the planted defects" if market.exact else "NOT the planted defects"
    console.print(f"The audit found {verdict}.")
    console.print("\n[bold]Supervision[/bold]: secret inspections, rates, enforcement")
    supervision = demo.run_supervision(stage, market)
    rounds = Table(title="Secret inspection rounds (Wilson 95% intervals)")
    for header in ("round", "inspected", "violations", "rate", "95% interval"):
        rounds.add_column(header)
    for r in supervision.rounds:
        rounds.add_row(
            str(r["period"]),
            str(r["inspected"]),
            str(r["violations"]),
            f"{float(r['rate'] or 0):.1%}",
            f"{float(r['ci_low']):.1%} - {float(r['ci_high']):.1%}",
        )
    console.print(rounds)
    console.print(
        f"{len(supervision.cases_issued)} enforcement cases issued; "
        f"{len(supervision.notices)} notices written under {stage.settings.reports_dir / 'notices'}"
    )
    console.print(f"Bulletin: {supervision.bulletin}")
    console.print("\n[bold]Detection[/bold]: a week of calls and messages, screened")
    detection = demo.run_detection(stage)
    found = Table(title=f"Top risk numbers of {detection.numbers_seen:,} screened")
    for header in ("number", "category", "score", "reasons"):
        found.add_column(header)
    for item in detection.top[:5]:
        found.add_row(item["msisdn"], item["category"], f"{item['score']:.2f}", item["reasons"])
    console.print(found)
    ev = detection.evaluation
    console.print(
        f"{detection.flagged:,} numbers flagged: {ev['recall']:.1%} of planted nuisance numbers "
        f"caught (precision {ev['precision']:.1%}); {ev['heavy_flagged_share']:.1%} of legitimate "
        f"heavy callers and {ev['ordinary_flagged_share']:.2%} of ordinary users flagged. "
        f"Risk list: {detection.risk_list}"
    )
    console.print("\n[bold]Linkage[/bold]: the shared risk-number database")
    linkage = demo.run_linkage(stage, detection)
    console.print(
        f"{linkage.pushed} risk numbers pushed, {linkage.confirmed} confirmed, "
        f"{linkage.feed_items} changes in the feed; re-verification tasks from identity linkage: "
        + (", ".join(f"{code} {n}" for code, n in sorted(linkage.tasks.items())) or "none")
    )
    report = demo.write_demo_report(
        rt,
        market,
        [supervision.section_html, detection.section_html, linkage.section_html],
    )
    console.print(f"Report: {report}")
