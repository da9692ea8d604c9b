"""The PII vault: encryption round trips, tokens, key rotation, the key file, masking."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvnoguard.config import Settings
from mvnoguard.domain.documents import DocType
from mvnoguard.errors import ConfigurationError, InvalidInput, MvnoguardError
from mvnoguard.identity.vault import (
    CODE_KEY_MISSING,
    CODE_TAMPERED,
    KeyRing,
    PiiVault,
    mask_name,
    mask_number,
)

RIC = "110101199003071234"
NAME = "张三丰"
TOKEN_SHAPE = re.compile(r"^v[0-9]+:[0-9a-f]{48}$")


@pytest.fixture
def vault() -> PiiVault:
    return PiiVault(KeyRing.generate())


def _key_material(ring: KeyRing) -> list[str]:
    keys = json.loads(ring.to_json())["keys"]
    return [entry[part] for entry in keys.values() for part in ("enc", "mac")]


# -- encryption ---------------------------------------------------------------------------


def test_round_trip(vault: PiiVault) -> None:
    for text, context in [(RIC, "doc_number"), (NAME, "name"), ("", "name"), ("J. Smith", "n")]:
        assert vault.decrypt(vault.encrypt(text, context=context), context=context) == text


def test_blob_layout(vault: PiiVault) -> None:
    blob = vault.encrypt(RIC, context="doc_number")
    assert blob[0] == 1
    assert int.from_bytes(blob[1:3], "big") == 1
    assert len(blob) == 1 + 2 + 12 + len(RIC) + 16
    assert vault.key_version_of(blob) == 1


def test_random_nonce_gives_a_new_ciphertext_each_time(vault: PiiVault) -> None:
    first = vault.encrypt(RIC, context="doc_number")
    second = vault.encrypt(RIC, context="doc_number")
    assert first != second
    assert first[3:15] != second[3:15]
    assert vault.decrypt(first, context="doc_number") == vault.decrypt(second, context="doc_number")


def test_context_is_bound(vault: PiiVault) -> None:
    blob = vault.encrypt(NAME, context="name")
    with pytest.raises(MvnoguardError) as caught:
        vault.decrypt(blob, context="doc_number")
    assert caught.value.code == CODE_TAMPERED
    assert NAME not in str(caught.value)


def test_every_flipped_byte_is_detected(vault: PiiVault) -> None:
    blob = vault.encrypt(RIC, context="doc_number")
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises(MvnoguardError) as caught:
            vault.decrypt(bytes(tampered), context="doc_number")
        # A flipped key-version byte names a version the ring lacks; everything else is tampering.
        expected = CODE_KEY_MISSING if position in (1, 2) else CODE_TAMPERED
        assert caught.value.code == expected, position
        assert RIC not in str(caught.value)


def test_truncated_blob_is_tampered(vault: PiiVault) -> None:
    blob = vault.encrypt(RIC, context="doc_number")
    for cut in (0, 3, 20, len(blob) - 1):
        with pytest.raises(MvnoguardError) as caught:
            vault.decrypt(blob[:cut], context="doc_number")
        assert caught.value.code == CODE_TAMPERED


def test_header_pointing_at_another_key_version_fails() -> None:
    vault = PiiVault(KeyRing.generate().rotate())
    blob = bytearray(vault.encrypt(RIC, context="doc_number"))
    blob[1:3] = (1).to_bytes(2, "big")
    with pytest.raises(MvnoguardError) as caught:
        vault.decrypt(bytes(blob), context="doc_number")
    assert caught.value.code == CODE_TAMPERED


def test_memoryview_blob_decrypts(vault: PiiVault) -> None:
    blob = vault.encrypt(RIC, context="doc_number")
    assert vault.decrypt(memoryview(blob), context="doc_number") == RIC  # type: ignore[arg-type]


def test_lone_surrogate_is_invalid_input(vault: PiiVault) -> None:
    with pytest.raises(InvalidInput) as caught:
        vault.encrypt("ab\ud800", context="name")
    assert caught.value.field == "name"
    assert caught.value.__cause__ is None


# -- tokens -------------------------------------------------------------------------------


def test_token_is_stable_and_shaped(vault: PiiVault) -> None:
    token = vault.token("identity", "RIC:" + RIC)
    assert token == vault.token("identity", "RIC:" + RIC)
    assert TOKEN_SHAPE.match(token)
    assert token.startswith("v1:")
    assert len(token) <= 64
    assert RIC not in token


def test_token_differs_across_kinds_values_and_versions() -> None:
    ring = KeyRing.generate()
    vault = PiiVault(ring)
    base = vault.token("identity", RIC)
    assert vault.token("msisdn", RIC) != base
    assert vault.token("identity", RIC[:-1] + "5") != base
    assert PiiVault(KeyRing.generate()).token("identity", RIC) != base
    rotated = PiiVault(ring.rotate())
    assert rotated.token("identity", RIC, version=1) == base
    assert rotated.token("identity", RIC).startswith("v2:")
    assert rotated.token("identity", RIC) != base
    assert rotated.tokens("identity", RIC) == (rotated.token("identity", RIC), base)


def test_token_kind_cannot_smuggle_the_separator(vault: PiiVault) -> None:
    with pytest.raises(ValueError):
        vault.token("a\x1fb", "c")
    with pytest.raises(ValueError):
        vault.token("", "c")


def test_token_for_a_missing_version(vault: PiiVault) -> None:
    with pytest.raises(ConfigurationError) as caught:
        vault.token("identity", RIC, version=7)
    assert caught.value.code == CODE_KEY_MISSING


def test_identity_token_normalises_the_pair(vault: PiiVault) -> None:
    token = vault.identity_token("RIC", "11010119900307123X")
    assert vault.identity_token(" ric ", "11010119900307123x") == token
    assert (
        vault.identity_token("RIC", "１１０１０１１９９００３０７１２３Ｘ") == token
    )  # full width
    assert token == vault.token("identity", "RIC:11010119900307123X")
    assert vault.identity_token("HKMO", "11010119900307123X") != token
    assert vault.identity_tokens("RIC", "11010119900307123X") == (token,)


# -- key ring and rotation ----------------------------------------------------------------


def test_rotation_keeps_old_blobs_readable_until_retired() -> None:
    ring1 = KeyRing.generate()
    old = PiiVault(ring1)
    blobs = {
        ctx: old.encrypt(text, context=ctx) for ctx, text in [("doc_number", RIC), ("name", NAME)]
    }

    ring2 = ring1.rotate()
    assert (ring2.current, ring2.versions) == (2, (1, 2))
    assert ring1.versions == (1,)  # rings are immutable
    vault = PiiVault(ring2)
    moved = {}
    for ctx, blob in blobs.items():
        assert vault.needs_rotation(blob)
        moved[ctx] = vault.reencrypt(blob, context=ctx)
        assert vault.key_version_of(moved[ctx]) == 2
        assert not vault.needs_rotation(moved[ctx])
        assert vault.decrypt(blob, context=ctx) == vault.decrypt(moved[ctx], context=ctx)

    retired = PiiVault(ring2.retire(1))
    assert retired.ring.versions == (2,)
    assert retired.decrypt(moved["doc_number"], context="doc_number") == RIC
    assert retired.decrypt(moved["name"], context="name") == NAME
    with pytest.raises(ConfigurationError) as caught:
        retired.decrypt(blobs["doc_number"], context="doc_number")
    assert caught.value.code == CODE_KEY_MISSING


def test_retire_refuses_current_and_unknown_versions() -> None:
    ring = KeyRing.generate().rotate()
    with pytest.raises(ConfigurationError, match="rotate first"):
        ring.retire(2)
    with pytest.raises(ConfigurationError, match="no version 5"):
        ring.retire(5)


def test_json_round_trip() -> None:
    ring = KeyRing.generate().rotate().retire(1)
    again = KeyRing.from_json(ring.to_json())
    assert again.to_json() == ring.to_json()
    assert (again.current, again.versions) == (2, (2,))
    blob = PiiVault(ring).encrypt(NAME, context="name")
    assert PiiVault(again).decrypt(blob, context="name") == NAME


def test_repr_shows_no_key_material() -> None:
    ring = KeyRing.generate().rotate()
    for text in (repr(ring), repr(PiiVault(ring))):
        assert "versions=[1, 2]" in text
        for secret in _key_material(ring):
            assert secret not in text


def _broken_rings() -> list[tuple[str, str]]:
    doc = json.loads(KeyRing.generate().to_json())
    short = {**doc, "keys": {"1": {**doc["keys"]["1"], "enc": "c2hvcnQ="}}}
    same = {**doc, "keys": {"1": {**doc["keys"]["1"], "mac": doc["keys"]["1"]["enc"]}}}
    not_b64 = {**doc, "keys": {"1": {**doc["keys"]["1"], "mac": "%%%"}}}
    return [
        ("truncated", json.dumps(doc)[:-5]),
        ("list", "[]"),
        ("no current", json.dumps({"keys": doc["keys"]})),
        ("bool current", json.dumps({**doc, "current": True})),
        ("current missing", json.dumps({**doc, "current": 2})),
        ("version zero", json.dumps({"current": 0, "keys": {"0": doc["keys"]["1"]}})),
        ("short key", json.dumps(short)),
        ("same keys", json.dumps(same)),
        ("not base64", json.dumps(not_b64)),
    ]


@pytest.mark.parametrize(("case", "text"), _broken_rings(), ids=[c for c, _ in _broken_rings()])
def test_broken_ring_is_a_configuration_error_without_key_material(case: str, text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KeyRing.from_json(text, source="MVNOGUARD_VAULT_KEY")
    message = str(caught.value)
    assert "\n" not in message
    assert "MVNOGUARD_VAULT_KEY" in message
    assert caught.value.__cause__ is None
    for value in re.findall(r'"(?:enc|mac)": "([^"]*)"', text):
        assert value not in message


# -- key file -----------------------------------------------------------------------------


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "vault.json"
    ring = KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert KeyRing.load_or_create(path).to_json() == ring.to_json()
    assert sorted(p.name for p in path.parent.iterdir()) == ["vault.json"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660], ids=oct)
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "vault.json"
    KeyRing.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match=re.escape(f"chmod 600 {path}")):
        KeyRing.load_or_create(path)


def test_corrupt_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "vault.json"
    KeyRing.load_or_create(path)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match=re.escape(str(path))):
        KeyRing.load_or_create(path)
    assert path.read_text() == "{not json"


def test_save_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "vault.json"
    ring = KeyRing.load_or_create(path).rotate()
    ring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyRing.load_or_create(path).to_json() == ring.to_json()
    assert sorted(p.name for p in path.parent.iterdir()) == ["vault.json"]


def test_ring_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MVNOGUARD_VAULT_KEY", raising=False)
    ring = KeyRing.generate()
    given_key = Settings(home=tmp_path, vault_key=ring.to_json())
    assert KeyRing.from_settings(given_key).to_json() == ring.to_json()
    assert not (tmp_path / "keys" / "vault.json").exists()  # no key on disk, its check only

    other = tmp_path / "other"
    from_file = KeyRing.from_settings(Settings(home=other))
    assert (other / "keys" / "vault.json").exists()
    assert KeyRing.from_settings(Settings(home=other)).to_json() == from_file.to_json()


def test_a_lost_or_foreign_key_ring_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh ring where one was used, or another home's ring, would store new identities
    beside data it cannot open."""
    monkeypatch.delenv("MVNOGUARD_VAULT_KEY", raising=False)
    home = Settings(home=tmp_path)
    first = KeyRing.from_settings(home)
    foreign = Settings(home=tmp_path, vault_key=KeyRing.generate().to_json())
    with pytest.raises(ConfigurationError) as refused:
        KeyRing.from_settings(foreign)
    assert refused.value.code == "vault_key_mismatch"
    assert (
        KeyRing.from_settings(Settings(home=tmp_path, vault_key=first.to_json())).to_json()
        == first.to_json()
    )  # the home's own ring, given in the environment
    check = tmp_path / "keys" / "vault.check"
    stranger = first.rotate().retire(first.current)  # a version 2 this home never saw
    with pytest.raises(ConfigurationError) as unseen:
        KeyRing.from_settings(Settings(home=tmp_path, vault_key=stranger.to_json()))
    assert unseen.value.code == "vault_key_mismatch"
    rotated = first.rotate()
    rotated.check_against(check)  # as vault rotate does, before it retires the old version
    rotated.retire(first.current).save(tmp_path / "keys" / "vault.json")
    assert KeyRing.from_settings(home).current == rotated.current  # a rotation is no stranger
    with pytest.raises(ConfigurationError) as stale:  # the key file from before the rotation
        KeyRing.from_settings(Settings(home=tmp_path, vault_key=first.to_json()))
    assert stale.value.code == "vault_key_stale"
    for damaged in ("[1, 2]", '{"1": 5}', '{"one": "x"}'):
        saved = check.read_text(encoding="utf-8")
        check.write_text(damaged, encoding="utf-8")
        with pytest.raises(ConfigurationError) as unreadable:
            KeyRing.from_settings(home)
        assert "vault check file" in unreadable.value.message
        check.write_text(saved, encoding="utf-8")
    (tmp_path / "keys" / "vault.json").unlink()
    with pytest.raises(ConfigurationError) as lost:
        KeyRing.from_settings(home)
    assert lost.value.code == "vault_key_missing"
    assert not (tmp_path / "keys" / "vault.json").exists()


# -- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧***"),
        (" 王 小明 ", "王**"),
        ("John Smith", "J*** S****"),
        ("  mary   ann  lee ", "m*** a** l**"),
        ("O'Brien", "O******"),
        ("", ""),
        ("   ", ""),
        ("A", "*"),  # a rule that keeps the first letter would show it all
        ("张", "*"),
        ("J K", "* *"),
        ("J K Rowling", "J K R******"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        (RIC, "1101**********1234"),
        ("H12345678", "H1*****78"),  # a permit or passport: at most half shows
        ("AB1234567", "AB*****67"),
        ("12345678(B)", "12*******B)"),
        ("110101900307123", "1101*******7123"),  # a 15-digit card
        ("12345678", "1******8"),
        ("123", "1*3"),
        ("12", "**"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


# -- property: a document's round trip through the vault ----------------------------------

PROPERTY_VAULT = PiiVault(KeyRing.generate())

ric_like = st.text(alphabet="0123456789", min_size=17, max_size=17).flatmap(
    lambda body: st.sampled_from("0123456789X").map(lambda check: body + check)
)
numbers = st.one_of(ric_like, st.text(max_size=40))
chinese_names = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=6
)
names = st.one_of(chinese_names, st.text(max_size=40))


def _assert_sealed(plaintext: str, blob: bytes) -> None:
    raw = plaintext.encode("utf-8")
    # A random ciphertext may contain a few given bytes by chance; 8 or more it never will.
    if len(raw) >= 8:
        assert raw not in blob


@given(number=numbers, name=names, doc_type=st.sampled_from(list(DocType)))
def test_document_round_trip_through_the_vault(number: str, name: str, doc_type: DocType) -> None:
    vault = PROPERTY_VAULT
    number_blob = vault.encrypt(number, context="doc_number")
    name_blob = vault.encrypt(name, context="name")

    assert vault.decrypt(number_blob, context="doc_number") == number
    assert vault.decrypt(name_blob, context="name") == name
    _assert_sealed(number, number_blob)
    _assert_sealed(name, name_blob)

    token = vault.identity_token(doc_type, number)
    assert token == vault.identity_token(doc_type, number)
    assert TOKEN_SHAPE.match(token)

    masked = mask_number(number)
    n = len(number)
    assert len(masked) == n
    kept = 4 if n >= 15 else 2 if n >= 9 else 1 if n > 2 else 0
    assert 2 * kept <= n // 2 + 1  # never most of the number
    assert masked[:kept] == number[:kept]
    assert masked[kept : n - kept] == "*" * (n - 2 * kept)
    if kept:
        assert masked[n - kept :] == number[n - kept :]
    middle = number[kept : n - kept]
    if len(middle) > kept and "*" not in middle:
        assert middle not in masked

    initials = {word[0] for word in name.split()}
    assert set(mask_name(name)) <= initials | {"*", " "}
