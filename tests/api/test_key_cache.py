"""The API's cache of authenticated keys: what it keeps, for how long, and what a revoke does."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from mvnoguard.access import keys
from mvnoguard.access.keys import PrincipalCache
from mvnoguard.config import Settings
from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.errors import Unauthorized
from mvnoguard.runtime import Runtime
from mvnoguard.storage.models import ApiKey
from tests.api.conftest import serving

PRINCIPAL = Principal("k1", Role.REGULATOR)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(Settings(home=tmp_path))


def new_key(runtime: Runtime) -> tuple[str, str]:
    with runtime.database.transaction() as session:
        info, secret = keys.create(
            session, role=Role.REGULATOR, enterprise_code=None, label="t", now=utc_now()
        )
    return info.key_id, secret


def test_an_authenticated_key_is_served_from_the_cache_until_revoked(runtime: Runtime) -> None:
    cache = PrincipalCache(ttl=60)
    key_id, secret = new_key(runtime)
    assert keys.cached_principal(cache, secret) is None
    with runtime.database.sessions() as session:
        principal = keys.authenticate(session, secret, cache=cache)
    assert keys.cached_principal(cache, secret) == principal
    with runtime.database.transaction() as session:
        keys.revoke(session, key_id, now=utc_now())
    assert keys.cached_principal(cache, secret) is None
    with runtime.database.sessions() as session, pytest.raises(Unauthorized):
        keys.authenticate(session, secret, cache=cache)
    assert keys.cached_principal(cache, secret) is None  # refused keys are never cached
    runtime.close()


def test_unknown_and_malformed_keys_are_refused_and_not_cached(runtime: Runtime) -> None:
    cache = PrincipalCache(ttl=60)
    with runtime.database.sessions() as session:
        for secret in ("mvg_unknown", "not-ours", "mvg_" + "x" * 200):
            with pytest.raises(Unauthorized):
                keys.authenticate(session, secret, cache=cache)
    assert cache.get(keys.secret_digest("mvg_unknown")) is None
    with pytest.raises(Unauthorized):
        keys.cached_principal(cache, "not-ours")
    runtime.close()


def test_entries_expire_and_the_least_recently_used_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock[0])
    cache = PrincipalCache(ttl=2.0, entries=2)
    cache.put("a", PRINCIPAL)
    cache.put("b", Principal("k2", Role.INSPECTOR))
    assert cache.get("a") == PRINCIPAL  # "a" is now the most recently used
    cache.put("c", Principal("k3", Role.INSPECTOR))
    assert cache.get("b") is None
    assert cache.get("a") == PRINCIPAL
    clock[0] += 2.0
    assert cache.get("a") is None
    assert cache.get("c") is None


def test_a_revoke_elsewhere_is_honoured_within_the_ttl(runtime: Runtime) -> None:
    """Another process (the CLI, another worker) revoking: this server's cache cannot hear it."""
    key_id, secret = new_key(runtime)
    headers = {"Authorization": f"Bearer {secret}"}
    with (
        serving(runtime, principal_ttl=1.5) as base_url,
        httpx.Client(base_url=base_url, headers=headers) as client,
    ):
        assert client.get("/v1/tasks").status_code == 200
        with runtime.database.engine.begin() as conn:  # as another process would
            conn.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(revoked_at=utc_now()))
        assert client.get("/v1/tasks").status_code == 200  # still cached
        time.sleep(1.6)
        assert client.get("/v1/tasks").status_code == 401
    runtime.close()
