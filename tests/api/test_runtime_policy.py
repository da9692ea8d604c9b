"""The routes judge by the server's own policy file, not by the embedded default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mvnoguard.config import Settings
from mvnoguard.policy import default_policy_text
from mvnoguard.runtime import Runtime
from tests.api.conftest import HOLDER_B, NUMBER_B, LiveServer, seed_market, serving

# Each line differs from the embedded policy, so each answer below would differ under it.
STRICTER = {
    "corroborating_enterprises = 2": "corroborating_enterprises = 1",
    "medium_score = 0.7": "medium_score = 0.95",
    "codes_per_hour = 5": "codes_per_hour = 1",
}


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("api-policy")
    text = default_policy_text()
    for embedded, changed in STRICTER.items():
        assert embedded in text
        text = text.replace(embedded, changed)
    policy_file = home / "policy.toml"
    policy_file.write_text(text, encoding="utf-8")
    runtime = Runtime(Settings(home=home / "home", policy_file=policy_file))
    secrets = seed_market(runtime)
    with serving(runtime) as base_url:
        yield LiveServer(base_url, runtime, secrets)
    runtime.close()


def test_one_enterprise_confirms_under_the_servers_policy(strict: LiveServer) -> None:
    body = {"msisdn": "+8613912340101", "category": "spam", "score": 0.9, "evidence": "bulk"}
    with strict.client("E01") as client:
        pushed = client.post("/v1/risk-numbers", json=body)
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["status"] == "confirmed"


def test_the_reputation_levels_by_the_servers_policy(strict: LiveServer) -> None:
    body = {"msisdn": "+8613912340102", "category": "spam", "score": 0.9, "evidence": "bulk"}
    with strict.client("regulator") as client:
        assert client.post("/v1/risk-numbers", json=body).status_code == 201
        reputation = client.get("/v1/numbers/+8613912340102/reputation")
    assert reputation.json()["risk_level"] == "low"  # 0.9 is below this policy's 0.95


def test_citizen_codes_are_limited_by_the_servers_policy(strict: LiveServer) -> None:
    asker = {"doc_type": "RIC", "doc_number": HOLDER_B.number, "name": "李秀英", "msisdn": NUMBER_B}
    with strict.citizen("127.0.0.31") as client:
        first = client.post("/v1/citizen/codes", json=asker)
        second = client.post("/v1/citizen/codes", json=asker)
    assert first.status_code == 202
    assert second.status_code == 429
