"""Linkage database commands: risk numbers, complaints, review tasks.

Commands act as the regulator (``Principal("cli", regulator)``) unless ``--enterprise CODE``
names the enterprise to act as.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mvnoguard.cli.context import AtOption, print_json, runtime, when
from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.calendar import not_in_future, utc_now
from mvnoguard.domain.risk import ComplaintCategory, DisposalAction, RiskStatus
from mvnoguard.linkage import complaints, risk_numbers
from mvnoguard.linkage.identity_links import tasks_for

CLI_KEY = "cli"

risk_app = typer.Typer(help="The shared risk-number database.", no_args_is_help=True)
complaints_app = typer.Typer(help="Complaints about numbers.", no_args_is_help=True)
tasks_app = typer.Typer(help="Review tasks of enterprises.", no_args_is_help=True)

EnterpriseOption = Annotated[
    str | None, typer.Option("--enterprise", help="Act as this enterprise (default: regulator).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class FeedFormat(StrEnum):
    CONTRACT = "contract"
    FTC = "ftc"


def principal(enterprise: str | None) -> Principal:
    if enterprise:
        return Principal(CLI_KEY, Role.ENTERPRISE, enterprise)
    return Principal(CLI_KEY, Role.REGULATOR)


def _print_entries(entries: list[risk_numbers.RiskEntry], as_json: bool) -> None:
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    for e in entries:
        owner = e.enterprise_code or "-"
        typer.echo(f"{e.msisdn}\t{e.status.value}\t{e.category.value}\t{e.score:.2f}\t{owner}")


@risk_app.command("list")
def risk_list(
    ctx: typer.Context,
    status: Annotated[RiskStatus | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    enterprise: EnterpriseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Risk numbers, newest change first."""
    with runtime(ctx).database.transaction() as session:
        found = risk_numbers.entries(session, principal(enterprise), status=status, limit=limit)
    _print_entries(found, as_json)


@risk_app.command("confirm")
def risk_confirm(ctx: typer.Context, msisdn: str, at: AtOption = None) -> None:
    """Confirm a reported number (regulator); fraud puts the holder's numbers under review."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        entry = risk_numbers.confirm(
            session, principal(None), msisdn, now=when(at), policy=rt.policy
        )
    print_json(entry.to_json())


@risk_app.command("dispose")
def risk_dispose(
    ctx: typer.Context,
    msisdn: str,
    action: Annotated[DisposalAction, typer.Option("--action")],
    enterprise: Annotated[
        str, typer.Option("--enterprise", help="The enterprise answerable for the number.")
    ],
    at: AtOption = None,
) -> None:
    """Record what the answerable enterprise did with a confirmed number."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        entry = risk_numbers.dispose(
            session, principal(enterprise), msisdn, action, now=when(at), policy=rt.policy
        )
    print_json(entry.to_json())


@risk_app.command("clear")
def risk_clear(
    ctx: typer.Context,
    msisdn: str,
    reason: Annotated[str, typer.Option("--reason")],
    at: AtOption = None,
) -> None:
    """Clear a number (an appeal upheld)."""
    with runtime(ctx).database.transaction() as session:
        entry = risk_numbers.clear(session, principal(None), msisdn, reason, now=when(at))
    print_json(entry.to_json())


@risk_app.command("overdue")
def risk_overdue(
    ctx: typer.Context, enterprise: EnterpriseOption = None, at: AtOption = None
) -> None:
    """Confirmed numbers not disposed of by their deadline."""
    with runtime(ctx).database.transaction() as session:
        found = risk_numbers.overdue(session, principal(enterprise), now=when(at))
    print_json([e.to_json() for e in found])


@risk_app.command("expire")
def risk_expire(ctx: typer.Context, at: AtOption = None) -> None:
    """Clear every number whose evidence is older than the policy's evidence days."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        cleared = risk_numbers.expire(session, now=when(at), policy=rt.policy)
    print_json({"cleared": cleared})


def _not_ahead(at: datetime | None) -> datetime:
    """A complaint's ``--at`` may replay a past moment, never run ahead of the clock: a
    complaint dated in the future would count after any later clear of its number."""
    return not_in_future(when(at), now=utc_now(), what="a complaint", field="at")


@complaints_app.command("import")
def complaints_import(
    ctx: typer.Context,
    file: Path,
    feed_format: Annotated[FeedFormat, typer.Option("--format")] = FeedFormat.CONTRACT,
    as_json: JsonOption = False,
    at: AtOption = None,
) -> None:
    """Load a complaints file (the contract, or the FTC Do-Not-Call file); bad rows quarantined."""
    rt = runtime(ctx)
    load = complaints.import_ftc if feed_format is FeedFormat.FTC else complaints.import_feed
    with rt.database.transaction() as session:
        result = load(
            session,
            file,
            vault=rt.vault,
            quarantine_dir=rt.settings.quarantine_dir,
            now=_not_ahead(at),
            policy=rt.policy,
        )
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        print_json(result.to_json())
    else:
        typer.echo(
            f"{result.accepted} accepted, {result.quarantined} quarantined, "
            f"{result.duplicates} already loaded"
            + (f" (quarantine: {result.quarantine_file})" if result.quarantine_file else "")
        )


@complaints_app.command("submit")
def complaints_submit(
    ctx: typer.Context,
    reported_number: str,
    category: Annotated[ComplaintCategory, typer.Option("--category", case_sensitive=False)],
    reporter: Annotated[str | None, typer.Option("--reporter", help="Who complains.")] = None,
    text: Annotated[str | None, typer.Option("--text")] = None,
    enterprise: EnterpriseOption = None,
    at: AtOption = None,
) -> None:
    """Record one complaint, received at ``--at`` (default: now; the same complaint again
    the same day is then a duplicate)."""
    rt = runtime(ctx)
    now = _not_ahead(at)
    received = now if at is not None else None
    complaint = complaints.ComplaintIn(reported_number, reporter, category, received, text)
    with rt.database.transaction() as session:
        entry = complaints.submit(
            session, principal(enterprise), complaint, vault=rt.vault, now=now, policy=rt.policy
        )
    print_json(entry.to_json())


@complaints_app.command("reporter")
def complaints_reporter(
    ctx: typer.Context,
    complaint_id: int,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Why the complainant's number is needed (audited).")
    ],
    at: AtOption = None,
) -> None:
    """Show a complainant's number for follow-up (regulator); the access is audited."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        number = complaints.reveal_reporter(
            session, rt.vault, principal(None), complaint_id, purpose=purpose, now=when(at)
        )
    print_json({"complaint_id": complaint_id, "reporter_number": number})


@tasks_app.command("list")
def tasks_list(
    ctx: typer.Context,
    enterprise: EnterpriseOption = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
) -> None:
    """Review tasks (an enterprise's own with --enterprise)."""
    with runtime(ctx).database.transaction() as session:
        found = tasks_for(session, principal(enterprise), kind=kind)
    print_json([t.to_json() for t in found])
