"""Forged ID tokens are refused: the checks in identity.oidc, against the real provider's metadata and
published keys. The tests hold the provider's signing key (they gave it to the provider), so each
forgery breaks exactly one rule and a genuine token built the same way passes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from strongroom.config import OidcSettings
from strongroom.errors import SignInRefused
from strongroom.identity.oidc import OidcClient
from tests.support import sso_providers

pytestmark = pytest.mark.interop

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def client(oidc_provider: sso_providers.RunningProvider, app_url: str) -> OidcClient:
    settings = OidcSettings(
        issuer=oidc_provider.url, client_id="strongroom", client_secret="strongroom-secret"
    )
    return OidcClient(settings, redirect_uri=f"{app_url}/auth/oidc/callback")


def _claims(issuer: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "alice",
        "aud": "strongroom",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _signed(key: RSAKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _refusal(client: OidcClient, token: str) -> str:
    with pytest.raises(SignInRefused) as caught:
        client.verify_id_token(token, nonce=NONCE, now=time.time())
    return str(caught.value.data["reason"])


def test_a_genuine_token_passes(client: OidcClient, oidc_signing_key: RSAKey) -> None:
    claims = client.verify_id_token(
        _signed(oidc_signing_key, _claims(client.settings.issuer)), nonce=NONCE, now=time.time()
    )
    assert claims["sub"] == "alice"


def test_alg_none_is_refused(client: OidcClient) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(client.settings.issuer))}."
    assert _refusal(client, token) == "bad_signature"


def test_hs256_signed_with_the_public_key_is_refused(client: OidcClient, oidc_signing_key: RSAKey) -> None:
    # Made by hand: joserfc itself refuses to use a public key as an HMAC secret.
    public_pem = oidc_signing_key.as_pem(private=False)
    signing_input = (
        f"{_b64({'alg': 'HS256', 'kid': oidc_signing_key.kid})}.{_b64(_claims(client.settings.issuer))}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert _refusal(client, forged) == "bad_signature"


def test_a_token_signed_by_another_key_is_refused(client: OidcClient, oidc_signing_key: RSAKey) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": str(oidc_signing_key.kid)})
    assert _refusal(client, _signed(impostor, _claims(client.settings.issuer))) == "bad_signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "http://127.0.0.1:1/"}, "wrong_issuer"),
        ({"aud": "another-client"}, "wrong_audience"),
        ({"aud": ["strongroom", "another-client"], "azp": "another-client"}, "wrong_audience"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iat": int(time.time()) + 3600}, "issued_in_future"),
        ({"nonce": "another-sign-in"}, "bad_nonce"),
        ({"nonce": None}, "bad_nonce"),
    ],
)
def test_each_broken_claim_is_refused(
    client: OidcClient, oidc_signing_key: RSAKey, changes: dict[str, Any], reason: str
) -> None:
    token = _signed(oidc_signing_key, _claims(client.settings.issuer, **changes))
    assert _refusal(client, token) == reason


def test_a_tampered_payload_is_refused(client: OidcClient, oidc_signing_key: RSAKey) -> None:
    header, _, signature = _signed(oidc_signing_key, _claims(client.settings.issuer)).split(".")
    tampered = _b64(_claims(client.settings.issuer, sub="admin"))
    assert _refusal(client, f"{header}.{tampered}.{signature}") == "bad_signature"


def test_metadata_without_asymmetric_algorithms_accepts_nothing(
    client: OidcClient, oidc_signing_key: RSAKey
) -> None:
    assert "none" not in client.metadata().algorithms
    assert all(not alg.startswith("HS") for alg in client.metadata().algorithms)
    assert "RS256" in client.metadata().algorithms
