"""``keys create|list|revoke`` and ``audit-log verify`` through a Typer app holding them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
import typer
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from mvnoguard.access import keys
from mvnoguard.cli import service
from mvnoguard.cli.context import set_home
from mvnoguard.config import Settings
from mvnoguard.domain.subscribers import HostNetwork
from mvnoguard.errors import Unauthorized
from mvnoguard.registry import catalog
from mvnoguard.runtime import Runtime
from mvnoguard.storage.models import AuditEntry

app = typer.Typer()


@app.callback()
def root(ctx: typer.Context, home: Annotated[Path, typer.Option("--home")]) -> None:
    set_home(ctx, home)


app.add_typer(service.keys_app, name="keys")
app.add_typer(service.audit_log_app, name="audit-log")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    runtime = Runtime(Settings(home=tmp_path))
    with runtime.database.transaction() as session:
        catalog.upsert_enterprise(
            session, catalog.EnterpriseSpec("E01", "远岸移动", HostNetwork.UNICOM), actor="t"
        )
    runtime.close()
    return tmp_path


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_key_is_printed_once_listed_without_secret_and_revoked(home: Path) -> None:
    code, out, _ = run(home, "keys", "create", "--role", "enterprise", "--enterprise", "E01")
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("mvg_") and len(secret) > 40 and " " not in secret
    runtime = Runtime(Settings(home=home))
    with runtime.database.transaction() as session:
        principal = keys.authenticate(session, secret)
    assert principal.enterprise_code == "E01"
    code, listing, _ = run(home, "keys", "list", "--json")
    assert code == 0 and secret not in listing
    (row,) = json.loads(listing)
    assert row["key_id"] == principal.key_id and row["active"] is True
    assert run(home, "keys", "revoke", principal.key_id)[0] == 0
    with runtime.database.transaction() as session, pytest.raises(Unauthorized):
        keys.authenticate(session, secret)
    assert json.loads(run(home, "keys", "list", "--json")[1])[0]["active"] is False
    with runtime.database.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"api_key.create", "api_key.list", "api_key.revoke"} <= set(actions)
    assert not any(secret in str(value) for value in actions)
    runtime.close()


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "enterprise"],
        ["--role", "enterprise", "--enterprise", "E99"],
        ["--role", "regulator", "--enterprise", "E01"],
    ],
)
def test_bad_key_requests_are_refused(home: Path, args: list[str]) -> None:
    from mvnoguard.errors import MvnoguardError

    with pytest.raises(MvnoguardError):
        run(home, "keys", "create", *args)


def test_audit_log_verify_finds_an_edited_and_a_deleted_entry(home: Path) -> None:
    for label in ("a", "b", "c"):
        run(home, "keys", "create", "--role", "inspector", "--label", label)
    code, out, _ = run(home, "audit-log", "verify")
    assert code == 0
    entries = int(out.split("chain intact: ")[1].split()[0])
    assert entries >= 4
    head = out.split("head ")[1].split()[0]
    run(home, "keys", "create", "--role", "inspector", "--label", "d")
    assert run(home, "audit-log", "verify", "--anchor", head)[0] == 0
    assert run(home, "audit-log", "verify", "--anchor", "f" * 64)[0] == 2  # never in the chain
    runtime = Runtime(Settings(home=home))
    with runtime.database.sessions() as session:
        ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    middle = ids[len(ids) // 2]
    with runtime.database.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == middle).values(detail="x"))
    code, out, err = run(home, "audit-log", "verify", "--json")
    assert code == 2
    assert json.loads(out)["first_bad_id"] == middle
    with runtime.database.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == middle))
    code, _, err = run(home, "audit-log", "verify")
    assert code == 2
    assert f"entry {ids[ids.index(middle) + 1]}" in err
    runtime.close()
