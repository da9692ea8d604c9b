"""Authentication and the one error shape, over HTTP against the live server."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from mvnoguard.access import keys
from mvnoguard.api.app import create_app
from mvnoguard.api.errors import BodySizeLimit
from mvnoguard.domain.access import Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.runtime import Runtime
from tests.api.conftest import NUMBER_A, LiveServer
from tests.api.test_subscribers import assert_error, sign_up_body
from tests.registry.builders import row_counts


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer mvg_not-a-key", "Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
def test_no_or_bad_key_is_401_with_the_error_shape(
    live: LiveServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=live.base_url, headers=headers) as client:
        response = client.get(f"/v1/subscribers/{NUMBER_A}")
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", [None, "Bearer mvg_not-a-key"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/risk-numbers", b"{"),
        ("POST", "/v1/complaints", b'{"x": 1}'),
        ("GET", "/v1/subscribers/" + "1" * 40, None),
        ("GET", "/v1/risk-numbers/changes?limit=0", None),
        ("GET", "/v1/tasks?after=-1", None),
    ],
)
def test_without_a_valid_key_nothing_else_is_judged(
    live: LiveServer, authorization: str | None, method: str, path: str, body: bytes | None
) -> None:
    """No key, or a bad one, is 401 before the path, query or body are read: a caller without
    a key learns nothing of what the service would make of the rest."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    with httpx.Client(base_url=live.base_url, headers=headers) as client:
        response = client.request(method, path, content=body)
    assert_error(response, 401, "unauthorized")


def test_a_revoked_key_is_refused_from_then_on(live: LiveServer) -> None:
    with live.runtime.database.transaction() as session:
        info, secret = keys.create(
            session, role=Role.REGULATOR, enterprise_code=None, label="short-lived", now=utc_now()
        )
    client = httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {secret}"})
    with client:
        assert client.get(f"/v1/subscribers/{NUMBER_A}").status_code == 200
        with live.runtime.database.transaction() as session:
            keys.revoke(session, info.key_id, now=utc_now())
        assert_error(client.get(f"/v1/subscribers/{NUMBER_A}"), 401, "unauthorized")


def test_unknown_routes_and_methods_answer_the_error_shape(live: LiveServer) -> None:
    with live.client("E01") as client:
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")
        assert_error(client.get("/"), 404, "not_found")
        assert_error(client.delete(f"/v1/subscribers/{NUMBER_A}"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outlet_code": "E01-OWN"}, "msisdn"),
        ({**sign_up_body("17090000400"), "face_score": 2}, "face_score"),
        ({**sign_up_body("17090000400"), "face_score": True}, "face_score"),
        ({**sign_up_body("17090000400"), "face_score": "0.9"}, "face_score"),
        ({**sign_up_body("17090000400"), "holder": {"doc_type": "RIC"}}, "holder.number"),
        ({**sign_up_body("17090000400"), "unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field_and_store_nothing(
    live: LiveServer, body: dict[str, object], field: str
) -> None:
    before = row_counts(live.runtime.database)
    with live.client("E01") as client:
        response = client.post("/v1/subscribers", json=body)
    error = assert_error(response, 422, "invalid_input")
    assert error["field"] == field
    assert row_counts(live.runtime.database) == before


@pytest.mark.parametrize("number", ["12345", "+1 202 555 0100", "1709000000x", "０" * 40])
def test_bad_numbers_are_refused(live: LiveServer, number: str) -> None:
    with live.client("E01") as client:
        response = client.get(f"/v1/subscribers/{number}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"invalid_number", "invalid_input"}


def test_malformed_json_is_422(live: LiveServer) -> None:
    with live.client("E01") as client:
        response = client.post(
            "/v1/subscribers", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    error = assert_error(response, 422, "invalid_input")
    assert (error["field"], error["message"]) == ("body", "body: not valid JSON")


def test_an_oversized_body_is_413_before_parsing(live: LiveServer) -> None:
    before = row_counts(live.runtime.database)
    padding = "x" * (70 * 1024)
    with live.client("E01") as client:
        declared = client.post(
            "/v1/subscribers", json={**sign_up_body("17090000500"), "p": padding}
        )

        def chunks() -> object:
            for _ in range(70):
                yield b"x" * 1024

        chunked = client.post(
            "/v1/subscribers", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert_error(declared, 413, "body_too_large")
    assert_error(chunked, 413, "body_too_large")
    assert row_counts(live.runtime.database) == before


def test_a_chunked_body_is_counted_whatever_length_it_declares() -> None:
    """``Content-Length: 10`` beside ``Transfer-Encoding: chunked``: some servers read all the
    chunks, so the limit counts the bytes that arrive, not the declared length."""
    reached: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append((await receive())["body"])

    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": b"y" * 8192, "more_body": True}] * 10

    async def receive() -> Message:
        return chunks.pop() if chunks else {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")]
    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/complaints", "headers": headers}
    asyncio.run(BodySizeLimit(app, limit=64 * 1024)(scope, receive, send))
    assert reached == []
    assert sent[0]["status"] == 413


def test_an_unexpected_failure_is_a_bare_500(tmp_path: object) -> None:
    from pathlib import Path

    from mvnoguard.config import Settings

    assert isinstance(tmp_path, Path)
    runtime = Runtime(Settings(home=tmp_path))
    app: FastAPI = create_app(runtime)

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret detail 110101199003071234")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/v1/boom")

    import asyncio

    response = asyncio.run(call())
    assert_error(response, 500, "internal")
    assert "secret" not in response.text and "1101" not in response.text
    runtime.close()


def test_openapi_and_docs_are_served(live: LiveServer) -> None:
    with httpx.Client(base_url=live.base_url) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert docs.status_code == 200
    assert all(path.startswith("/v1/") for path in schema["paths"])
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
