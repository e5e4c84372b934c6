from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from services.ingest.auth import AuthResult, authenticate, check_bearer, sign

TOKENS = [SecretStr("token-one-is-long-enough"), SecretStr("token-two-is-long-enough")]
KEYS = [SecretStr("old-key-still-valid-0001"), SecretStr("new-key-after-rotation-02")]
BODY = b'[{"id": "e-1"}]'
NOW = 1_800_000_000.0


def signed(key: str = "new-key-after-rotation-02", at: float = NOW) -> dict[str, str]:
    timestamp = str(int(at))
    return {"x-nazorg-timestamp": timestamp, "x-nazorg-signature": sign(key, timestamp, BODY)}


def verdict(headers: dict[str, str], body: bytes = BODY, skew: float = 300) -> AuthResult:
    return authenticate(headers, body, TOKENS, KEYS, NOW, skew)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"k" * 16, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("k" * 16, "1700000000", BODY) == f"sha256={expected}"


@pytest.mark.parametrize("token", ["token-one-is-long-enough", "token-two-is-long-enough"])
def test_any_configured_bearer_token_is_accepted(token: str) -> None:
    assert verdict({"authorization": f"Bearer {token}"}) is AuthResult.OK
    assert verdict({"authorization": f"bearer   {token} "}) is AuthResult.OK


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer token-one-is-long-enoug",
        "Bearer token-one-is-long-enough2",
        "Bearer ",
        "Bearer",
        "Bearer tökén",
        "Bearer \udcff",
    ],
)
def test_a_wrong_bearer_token_is_refused_even_with_a_valid_signature(authorization: str) -> None:
    assert verdict({"authorization": authorization, **signed()}) is AuthResult.BAD_TOKEN


def test_no_credentials_at_all_is_missing() -> None:
    assert verdict({}) is AuthResult.MISSING
    assert verdict({"authorization": "Basic dXNlcjpwYXNz"}) is AuthResult.MISSING
    assert verdict({"x-nazorg-timestamp": str(int(NOW))}) is AuthResult.MISSING


def test_no_tokens_configured_refuses_every_token() -> None:
    assert check_bearer({"authorization": "Bearer x"}, []) is AuthResult.BAD_TOKEN
    assert check_bearer({}, TOKENS) is None


@pytest.mark.parametrize("key", ["old-key-still-valid-0001", "new-key-after-rotation-02"])
def test_a_signature_by_any_configured_key_is_accepted(key: str) -> None:
    assert verdict(signed(key)) is AuthResult.OK


def test_a_signature_over_other_bytes_or_by_another_key_is_refused() -> None:
    assert verdict(signed(), body=BODY + b" ") is AuthResult.BAD_SIGNATURE
    assert verdict(signed("a-key-we-never-configured")) is AuthResult.BAD_SIGNATURE
    tampered = signed() | {"x-nazorg-timestamp": str(int(NOW) + 1)}
    assert verdict(tampered) is AuthResult.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, AuthResult.OK),
        (-300, AuthResult.OK),
        (300, AuthResult.OK),
        (-301, AuthResult.STALE_TIMESTAMP),
        (301, AuthResult.STALE_TIMESTAMP),
        (-86_400, AuthResult.STALE_TIMESTAMP),
    ],
)
def test_the_timestamp_must_be_within_the_skew(offset: int, expected: AuthResult) -> None:
    assert verdict(signed(at=NOW + offset)) is expected


def test_the_skew_is_configurable() -> None:
    assert verdict(signed(at=NOW - 100), skew=60) is AuthResult.STALE_TIMESTAMP


@pytest.mark.parametrize("timestamp", ["١٨٠٠٠٠٠٠٠٠", "1.8e9", "-1", "", "18000000000000", "abc"])
def test_a_malformed_timestamp_is_refused_not_a_crash(timestamp: str) -> None:
    headers = {"x-nazorg-timestamp": timestamp, "x-nazorg-signature": "sha256=00"}
    assert verdict(headers) in (AuthResult.STALE_TIMESTAMP, AuthResult.MISSING)


@pytest.mark.parametrize("signature", ["sha256=é", "\udcff", "sha256=" + "0" * 64, "x" * 10_000])
def test_a_malformed_signature_is_refused_not_a_crash(signature: str) -> None:
    headers = {"x-nazorg-timestamp": str(int(NOW)), "x-nazorg-signature": signature}
    assert verdict(headers) is AuthResult.BAD_SIGNATURE


def test_every_refusal_has_a_detail_that_names_no_secret() -> None:
    for result in AuthResult:
        if result is not AuthResult.OK:
            assert result.detail
            assert all(s.get_secret_value() not in result.detail for s in TOKENS + KEYS)
