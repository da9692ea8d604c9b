"""Schemathesis against the live server's ``/openapi.json``: no 5xx, answers match the schema.

Each operation gets a bounded number of generated requests (valid and invalid), sent with an
enterprise key (the citizens' routes ignore it; their rate limits soon answer 429, which the
schema declares), so the run stays well under a minute. It runs on both servers: PostgreSQL
refuses values SQLite takes (NUL characters, integers past 64 bits), and those must be 4xx too.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import LiveServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_conforms_to_the_schema(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {live.keys['E01']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    sent: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)
            sent.append(case.operation.label)

        run()
    assert {operation.label for operation in operations} <= set(sent)
