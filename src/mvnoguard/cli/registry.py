"""Registry commands: reference data, subscribers and their lifecycle, retention, keys, schema."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli.context import AtOption, print_json, runtime, when
from mvnoguard.domain.calendar import not_in_future, utc_now
from mvnoguard.domain.subscribers import HostNetwork, LifecycleEventKind, OutletKind
from mvnoguard.errors import ConfigurationError, InvalidInput, RegistrationRefused
from mvnoguard.identity.documents import parse_document_input
from mvnoguard.identity.key_ring import VAULT_CHECK_FILE
from mvnoguard.identity.vault import VAULT_KEY_FILE, PiiVault
from mvnoguard.linkage import complaints
from mvnoguard.registry import catalog
from mvnoguard.registry.identities import rotate_keys
from mvnoguard.registry.records import iso_utc, subscriber_record
from mvnoguard.registry.registration import SignUp, compared_name, record_name_refusal
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.registry.snapshot_keys import check_snapshots, rotate_snapshots
from mvnoguard.registry.snapshot_retention import purge_snapshots
from mvnoguard.registry.subscribers import latest_subscriber
from mvnoguard.runtime import Runtime
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import current_revision, upgrade

ACTOR = "cli"

db_app = typer.Typer(help="The OLTP store's schema.", no_args_is_help=True)
vault_app = typer.Typer(help="The PII vault's keys.", no_args_is_help=True)
enterprise_app = typer.Typer(help="Enterprises and their number blocks.", no_args_is_help=True)
outlet_app = typer.Typer(help="Outlets and the agent blacklist.", no_args_is_help=True)
subscriber_app = typer.Typer(help="Subscribers: sign-up and lifecycle.", no_args_is_help=True)
retention_app = typer.Typer(help="Identity data retention.", no_args_is_help=True)
registry_app = typer.Typer(help="Whole-registry jobs.", no_args_is_help=True)

EnterpriseOption = Annotated[
    str | None, typer.Option("--enterprise", help="Act as this enterprise (its numbers only).")
]


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every pending schema migration (also done automatically on first use)."""
    rt = runtime(ctx)
    database = rt.database
    upgrade(database.engine, vault=lambda: rt.vault)
    typer.echo(f"schema at revision {current_revision(database.engine)}")


@vault_app.command("rotate")
def vault_rotate(ctx: typer.Context) -> None:
    """Move identity records and complainants' numbers to a new key version; retire the old."""
    rt = runtime(ctx)
    if rt.settings.vault_key is not None:
        raise ConfigurationError(
            "the vault key comes from MVNOGUARD_VAULT_KEY: rotate it where it is kept, "
            "or unset it to use the key file under the home"
        )
    path = rt.settings.keys_dir / VAULT_KEY_FILE
    check_snapshots(RegistryStore(rt.settings.home))  # a damaged file stops it before any move
    old_ring = rt.vault.ring
    rt.key_lease.take_alone()  # no other process may go on sealing under a version we retire
    new_ring = old_ring.rotate()
    new_ring.save(path)  # both versions saved before any record moves
    new_ring.check_against(rt.settings.keys_dir / VAULT_CHECK_FILE)  # the new version recorded
    new_vault = PiiVault(new_ring)
    with rt.database.transaction() as session:
        moved = rotate_keys(session, new_vault)
        moved_complaints = complaints.rotate_keys(session, new_vault)
    # The imported snapshots too, before their key is retired (it alone opens them).
    moved_rows = rotate_snapshots(RegistryStore(rt.settings.home), new_vault)
    final = new_ring
    for version in old_ring.versions:
        final = final.retire(version)
    final.save(path)
    with rt.database.transaction() as session:
        audit_log.append(
            session,
            actor=ACTOR,
            action="vault.rotate",
            subject=f"key version {final.current}",
            detail=(
                f"{moved} identities, {moved_complaints} complaint reporter numbers, "
                f"{moved_rows} registry snapshot rows resealed; retired version(s) "
                + ", ".join(str(v) for v in old_ring.versions)
            ),
        )
    typer.echo(f"{moved} identity records now under key version {final.current}")
    typer.echo(
        f"{moved_complaints} complaint reporter numbers now under key version {final.current}"
    )
    typer.echo(f"{moved_rows} registry snapshot rows now under key version {final.current}")


@enterprise_app.command("add")
def enterprise_add(
    ctx: typer.Context,
    code: str,
    name: str,
    host_network: Annotated[HostNetwork, typer.Option("--host-network")],
    approved_on: Annotated[datetime | None, typer.Option("--approved-on")] = None,
    license_no: Annotated[str | None, typer.Option("--license-no")] = None,
) -> None:
    """Add or update an approved enterprise."""
    spec = catalog.EnterpriseSpec(
        code, name, host_network, approved_on.date() if approved_on else None, license_no
    )
    with runtime(ctx).database.transaction() as session:
        catalog.upsert_enterprise(session, spec, actor=ACTOR)
    typer.echo(f"enterprise {code} saved")


@enterprise_app.command("add-block")
def enterprise_add_block(
    ctx: typer.Context, code: str, first_number: str, last_number: str
) -> None:
    """Allocate an inclusive block of 11-digit numbers to an enterprise."""
    with runtime(ctx).database.transaction() as session:
        catalog.add_block(session, code, first_number, last_number, actor=ACTOR)
    typer.echo(f"block {first_number}-{last_number} allocated to {code}")


@outlet_app.command("add")
def outlet_add(
    ctx: typer.Context,
    code: str,
    enterprise: Annotated[str, typer.Option("--enterprise")],
    kind: Annotated[OutletKind, typer.Option("--kind")],
    region_code: Annotated[str | None, typer.Option("--region")] = None,
    authorized: Annotated[bool, typer.Option("--authorized/--unauthorized")] = True,
    delegated_by: Annotated[
        str | None, typer.Option("--delegated-by", help="Agent that sub-delegated it.")
    ] = None,
) -> None:
    """Add or update an outlet of an enterprise."""
    spec = catalog.OutletSpec(code, enterprise, kind, region_code, authorized, delegated_by)
    with runtime(ctx).database.transaction() as session:
        catalog.upsert_outlet(session, spec, actor=ACTOR)
    typer.echo(f"outlet {code} saved")


@outlet_app.command("blacklist")
def outlet_blacklist(
    ctx: typer.Context,
    code: str,
    reason: Annotated[str, typer.Option("--reason")],
    at: AtOption = None,
) -> None:
    """Put an outlet caught violating on the agent blacklist."""
    with runtime(ctx).database.transaction() as session:
        catalog.blacklist_outlet(session, code, reason=reason, at=when(at), actor=ACTOR)
    typer.echo(f"outlet {code} blacklisted")


def _document(
    text: str | None, name: str | None, birth_date: datetime | None = None
) -> PresentedDocument | None:
    if text is None:
        return None
    doc_type, number, nationality = parse_document_input(text)
    return PresentedDocument(
        doc_type, number, nationality, name, birth_date.date() if birth_date else None
    )


def _sign_up_from_json(source: str) -> SignUp:
    """Read a sign-up as JSON (keeps identity numbers off the command line and shell history)."""
    where = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the sign-up JSON from {where}: {exc.strerror or type(exc).__name__}",
            field="json",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"the sign-up JSON in {where} is not UTF-8", field="json") from None
    try:
        loaded: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the sign-up JSON in {where} is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})",
            field="json",
        ) from None
    if not isinstance(loaded, dict):
        raise InvalidInput("the sign-up JSON must be an object", field="json")
    raw: dict[str, Any] = loaded
    # Values are left out of the messages below: they may be personal data.

    def text_of(body: dict[str, Any], key: str, name: str, *, required: bool) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                raise InvalidInput(f"the sign-up needs {name}", field=name)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidInput(f"{name} must be a string", field=name)
        return str(value)

    def doc(key: str) -> PresentedDocument | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or "doc_type" not in value or "number" not in value:
            raise InvalidInput(f"{key} needs doc_type and number", field=key)
        born = value.get("birth_date")
        try:
            birth_date = date.fromisoformat(born) if born else None
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{key}.birth_date must be a date as YYYY-MM-DD", field=f"{key}.birth_date"
            ) from None
        return PresentedDocument(
            str(text_of(value, "doc_type", f"{key}.doc_type", required=True)),
            str(text_of(value, "number", f"{key}.number", required=True)),
            text_of(value, "nationality", f"{key}.nationality", required=False),
            text_of(value, "name", f"{key}.name", required=False),
            birth_date,
        )

    holder = doc("holder")
    if holder is None:
        raise InvalidInput("the sign-up needs a holder document", field="holder")
    face_score = raw.get("face_score")
    if face_score is not None and (
        isinstance(face_score, bool) or not isinstance(face_score, int | float)
    ):
        raise InvalidInput("face_score must be a number from 0 to 1", field="face_score")
    at = raw.get("at")
    try:
        moment = datetime.fromisoformat(at) if at else None
    except (TypeError, ValueError):
        raise InvalidInput(
            "at must be an ISO 8601 time such as 2016-03-01T10:00:00+08:00", field="at"
        ) from None
    return SignUp(
        msisdn=str(text_of(raw, "msisdn", "msisdn", required=True)),
        enterprise_code=str(text_of(raw, "enterprise_code", "enterprise_code", required=True)),
        outlet_code=str(text_of(raw, "outlet_code", "outlet_code", required=True)),
        holder=holder,
        verification_method=str(
            text_of(raw, "verification_method", "verification_method", required=True)
        ),
        face_score=None if face_score is None else float(face_score),
        guardian=doc("guardian"),
        agent=doc("agent"),
        at=moment,
    )


@subscriber_app.command("register")
def subscriber_register(
    ctx: typer.Context,
    msisdn: Annotated[str | None, typer.Option("--msisdn")] = None,
    enterprise: Annotated[str | None, typer.Option("--enterprise")] = None,
    outlet: Annotated[str | None, typer.Option("--outlet")] = None,
    doc: Annotated[str | None, typer.Option("--doc", help="TYPE:NUMBER[:NATIONALITY]")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    birth_date: Annotated[datetime | None, typer.Option("--birth-date")] = None,
    verification: Annotated[str, typer.Option("--verification")] = "reader",
    face_score: Annotated[float | None, typer.Option("--face-score")] = None,
    guardian_doc: Annotated[str | None, typer.Option("--guardian-doc")] = None,
    guardian_name: Annotated[str | None, typer.Option("--guardian-name")] = None,
    agent_doc: Annotated[str | None, typer.Option("--agent-doc")] = None,
    agent_name: Annotated[str | None, typer.Option("--agent-name")] = None,
    from_json: Annotated[
        str | None, typer.Option("--from-json", help="Read the sign-up as JSON from FILE or -.")
    ] = None,
    at: AtOption = None,
) -> None:
    """Sign a subscriber up under the real-name rules; prints the masked record."""
    if from_json is not None:
        sign_up = _sign_up_from_json(from_json)
        if at is not None:  # --at names the moment whatever the JSON says
            sign_up = dataclasses.replace(sign_up, at=at)
    else:
        holder = _document(doc, name, birth_date)
        missing = [
            flag
            for flag, value in (
                ("--msisdn", msisdn),
                ("--enterprise", enterprise),
                ("--outlet", outlet),
                ("--doc", holder),
            )
            if value is None
        ]
        if missing or holder is None or msisdn is None or enterprise is None or outlet is None:
            raise InvalidInput(f"missing {', '.join(missing)} (or use --from-json)")
        sign_up = SignUp(
            msisdn=msisdn,
            enterprise_code=enterprise,
            outlet_code=outlet,
            holder=holder,
            verification_method=verification,
            face_score=face_score,
            guardian=_document(guardian_doc, guardian_name),
            agent=_document(agent_doc, agent_name),
            at=at,
        )
    rt = runtime(ctx)
    with _name_refusals_audited(rt, sign_up), rt.database.transaction() as session:
        registration = rt.registration.register(session, sign_up, actor=ACTOR)
        record = subscriber_record(session, registration.subscriber, actor=ACTOR)
        if registration.review_task is not None:
            record["review_task"] = registration.review_task.reason
    print_json(record)


@contextlib.contextmanager
def _name_refusals_audited(rt: Runtime, sign_up: SignUp) -> Iterator[None]:
    try:
        yield
    except RegistrationRefused as exc:
        if compared_name(exc):
            with rt.database.transaction() as session:
                record_name_refusal(session, sign_up.msisdn, actor=ACTOR, code=exc.code)
        raise


@subscriber_app.command("transfer")
def subscriber_transfer(
    ctx: typer.Context,
    from_json: Annotated[
        str, typer.Option("--from-json", help="The new holder's sign-up, FILE or -.")
    ],
) -> None:
    """Hand a live number to a new holder (a full re-registration)."""
    rt = runtime(ctx)
    sign_up = _sign_up_from_json(from_json)
    with _name_refusals_audited(rt, sign_up), rt.database.transaction() as session:
        registration = rt.registration.transfer(session, sign_up, actor=ACTOR)
        print_json(subscriber_record(session, registration.subscriber, actor=ACTOR))


@subscriber_app.command("show")
def subscriber_show(ctx: typer.Context, msisdn: str, enterprise: EnterpriseOption = None) -> None:
    """The masked record of a number's live (or latest) holder, with its history."""
    with runtime(ctx).database.transaction() as session:
        owner = catalog.get_enterprise(session, enterprise) if enterprise else None
        subscriber = latest_subscriber(session, msisdn, owner)
        print_json(subscriber_record(session, subscriber, actor=ACTOR))


ReasonOption = Annotated[str, typer.Option("--reason")]


def _add_lifecycle_command(name: str, kind: LifecycleEventKind, summary: str) -> None:
    def command(
        ctx: typer.Context,
        msisdn: str,
        reason: ReasonOption,
        at: AtOption = None,
        enterprise: EnterpriseOption = None,
    ) -> None:
        rt = runtime(ctx)
        with rt.database.transaction() as session:
            subscriber = rt.lifecycle.apply(
                kind,
                session,
                msisdn,
                reason=reason,
                at=when(at),
                actor=ACTOR,
                enterprise_code=enterprise,
            )
            print_json(subscriber_record(session, subscriber, actor=ACTOR, with_history=False))

    command.__doc__ = summary
    subscriber_app.command(name)(command)


for _name, _kind, _summary in (
    ("suspend-out", LifecycleEventKind.SUSPENDED_OUT, "Suspend outgoing service."),
    ("suspend", LifecycleEventKind.SUSPENDED, "Suspend all service."),
    (
        "cancel",
        LifecycleEventKind.CANCELLED,
        "Cancel the number; identity data is kept for the retention period, then purged.",
    ),
):
    _add_lifecycle_command(_name, _kind, _summary)


@subscriber_app.command("resume")
def subscriber_resume(
    ctx: typer.Context,
    msisdn: str,
    outlet: Annotated[str, typer.Option("--outlet")],
    verification: Annotated[str, typer.Option("--verification")] = "reader",
    face_score: Annotated[float | None, typer.Option("--face-score")] = None,
    at: AtOption = None,
    enterprise: EnterpriseOption = None,
) -> None:
    """Restore service after the holder re-verifies."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        subscriber = rt.lifecycle.resume(
            session,
            msisdn,
            method=verification,
            face_score=face_score,
            outlet_code=outlet,
            at=when(at),
            actor=ACTOR,
            enterprise_code=enterprise,
        )
        print_json(subscriber_record(session, subscriber, actor=ACTOR, with_history=False))


@subscriber_app.command("require-reverification")
def subscriber_require_reverification(
    ctx: typer.Context, msisdn: str, reason: ReasonOption, at: AtOption = None
) -> None:
    """Give the holder the policy's hours to re-verify, or be suspended by `registry enforce`."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        task = rt.lifecycle.require_reverification(
            session, msisdn, reason=reason, at=when(at), actor=ACTOR
        )
        print_json({"msisdn": msisdn, "task": task.kind, "due_at": iso_utc(task.due_at)})


@registry_app.command("enforce")
def registry_enforce(ctx: typer.Context, at: AtOption = None) -> None:
    """Suspend overdue re-verifications and unregistered numbers past the catch-up deadline."""
    rt = runtime(ctx)
    with rt.database.transaction() as session:
        run = rt.lifecycle.enforce(session, at=when(at), actor=ACTOR)
    print_json(run.__dict__)


@retention_app.command("purge")
def retention_purge(ctx: typer.Context, at: AtOption = None) -> None:
    """Purge identity data kept past the retention period after cancellation.

    Both the store's identities and the imported snapshots' rows of long-cancelled periods.

    ``--at`` may replay a past day, never a future one: a purge cannot be undone.
    """
    rt = runtime(ctx)
    moment = not_in_future(when(at), now=utc_now(), what="a purge", field="at")
    with rt.database.transaction() as session:
        purged = rt.lifecycle.purge_expired(session, at=moment, actor=ACTOR)
    typer.echo(f"{purged} identities purged")
    cutoff = rt.lifecycle.retention_cutoff(moment)
    if cutoff is None:
        return
    # The imported snapshots' own copies: each row of a period cancelled before the cut-off.
    rows = purge_snapshots(RegistryStore(rt.settings.home), cutoff=cutoff)
    if rows:
        with rt.database.transaction() as session:
            audit_log.append(
                session,
                actor=ACTOR,
                action="registry.purge",
                subject="registry snapshots",
                detail=f"{rows} rows cancelled before {cutoff.isoformat()}",
            )
    typer.echo(f"{rows} registry snapshot rows purged")


@registry_app.command("import")
def registry_import(ctx: typer.Context, folder: Path) -> None:
    """Load enterprises, number blocks, outlets and subscriber snapshots found in FOLDER."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mvnoguard.registry.bulk_import import import_registry

    rt = runtime(ctx)
    columns = (
        TextColumn("importing"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("rows", total=None, rate="")
        started = utc_now()

        def advance(rows: int) -> None:
            bar.advance(task, rows)
            seconds = max((utc_now() - started).total_seconds(), 1e-6)
            done = bar.tasks[0].completed
            bar.update(task, rate=f"{done / seconds:,.0f} rows/s")

        summary = import_registry(
            folder, home=rt.settings.home, database=rt.database, vault=rt.vault, progress=advance
        )
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    print_json(summary.__dict__)
