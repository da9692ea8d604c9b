"""Service commands: ``serve`` the HTTP API, manage its ``keys``, verify the ``audit-log``."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from mvnoguard.access import keys
from mvnoguard.cli.context import print_json, runtime
from mvnoguard.domain.access import Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.storage.audit_log import verify_chain

ACTOR = "cli"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


keys_app = typer.Typer(help="API keys of the HTTP service.", no_args_is_help=True)
audit_log_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (one per core). Each caches authenticated keys: a key "
            "revoked with `keys revoke` while the server runs is refused within "
            f"{keys.PRINCIPAL_TTL_SECONDS:g} s.",
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Least severe server message shown.")
    ] = LogLevel.INFO,
) -> None:
    """Run the HTTP API (OpenAPI pages at /docs) until interrupted.

    uvicorn picks uvloop and httptools (from its "standard" extra) by itself. On Linux each
    of several workers listens on its own socket, so connections spread evenly over them.
    """
    from mvnoguard.api.server import ServeOptions
    from mvnoguard.api.server import serve as run_server

    rt = runtime(ctx)
    rt.database  # noqa: B018 (migrate once here, not racing in every worker)
    rt.vault  # noqa: B018 (create the key file once, before the workers read it)
    os.environ["MVNOGUARD_HOME"] = str(rt.settings.home.resolve())
    rt.close()
    run_server(
        ServeOptions(
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            log_level=log_level.value,
        )
    )


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option("--role", help="What the key may do.")],
    enterprise: Annotated[
        str | None, typer.Option("--enterprise", help="The enterprise of an enterprise key.")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="A note to recognise the key by.")] = "",
) -> None:
    """Issue a key. The secret is printed once, alone on the last line, and never again."""
    with runtime(ctx).database.transaction() as session:
        info, secret = keys.create(
            session, role=role, enterprise_code=enterprise, label=label, now=utc_now(), actor=ACTOR
        )
    scope = f" for {info.enterprise_code}" if info.enterprise_code else ""
    typer.echo(
        f"created {info.role.value} key {info.key_id}{scope}; store it now, it is shown once:"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key (never its secret): id, role, enterprise, label, created, revoked."""
    with runtime(ctx).database.transaction() as session:
        infos = keys.list_keys(session, actor=ACTOR)
    if as_json:
        print_json([info.to_json() for info in infos])
        return
    for info in infos:
        state = f"revoked {info.revoked_at.isoformat()}" if info.revoked_at else "active"
        scope = info.enterprise_code or "-"
        typer.echo(f"{info.key_id}\t{info.role.value}\t{scope}\t{state}\t{info.label}")


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str) -> None:
    """Revoke a key by its id; requests with it are refused from then on."""
    with runtime(ctx).database.transaction() as session:
        info = keys.revoke(session, key_id, now=utc_now(), actor=ACTOR)
    assert info.revoked_at is not None
    typer.echo(f"key {info.key_id} revoked at {info.revoked_at.isoformat()}")


@audit_log_app.command("verify")
def audit_log_verify(
    ctx: typer.Context,
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="A head hash printed by an earlier verify and kept outside the database; "
            "the chain must still pass through it (repeatable).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the hash chain: exit 0 when intact, 2 naming the first broken entry. Prints the
    head hash: keep it where the database's writers cannot reach, and give it to a later verify
    as --anchor."""
    with runtime(ctx).database.sessions() as session:
        check = verify_chain(session, anchors=anchor or ())
    if as_json:
        print_json(
            {
                "ok": check.ok,
                "entries": check.entries,
                "first_bad_id": check.first_bad_id,
                "problem": check.problem,
                "head": check.head,
                "head_restored_at": list(check.restored_at),
            }
        )
    elif check.ok:
        typer.echo(f"chain intact: {check.entries} entries, head {check.head}")
    else:
        where = (
            f"entry {check.first_bad_id}"
            if check.first_bad_id
            else f"its end ({check.entries} left)"
        )
        typer.echo(f"chain broken at {where}: {check.problem}", err=True)
    if check.restored_at and not as_json:
        typer.echo(
            "warning: the chain head went missing and was restored at entry(s) "
            + ", ".join(str(i) for i in check.restored_at)
            + ": entries at the log's end before each may have been deleted",
            err=True,
        )
    if not check.ok:
        raise typer.Exit(2)
