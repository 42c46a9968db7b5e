"""SAML 2.0 service provider (pysaml2; signatures checked in this process by libxmlsec1, see
identity.saml_crypto).

Held to: signed assertions only (an unsigned one, or one whose signature covers other XML than what is
read, is refused), our entity id in the audience, our ACS URL as recipient, NotOnOrAfter, InResponseTo
naming a request this server sent and has not seen answered (identity.sso.finish), and each assertion
id accepted once (identity.sso.remember_assertion). Answers nobody asked for (IdP-initiated) are
refused: they are how a captured assertion is most easily replayed.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT

from strongroom.config import SamlSettings
from strongroom.errors import SignInRefused, Unavailable
from strongroom.identity.saml_crypto import InProcessXmlSec
from strongroom.identity.sso import SsoProfile

SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Started:
    url: str
    request_id: str


@dataclass(frozen=True)
class Answer:
    profile: SsoProfile
    assertion_id: str
    expires_at: datetime


class SamlClient:
    """One configured IdP; pysaml2's client (metadata parsed once) is built on first use."""

    def __init__(self, settings: SamlSettings, *, public_url: str) -> None:
        self.settings = settings
        self.entity_id = settings.entity_id or f"{public_url}/auth/saml/metadata"
        self.acs_url = f"{public_url}/auth/saml/acs"
        self._lock = threading.Lock()
        self._client: Saml2Client | None = None

    def _idp_metadata(self) -> str:
        if self.settings.idp_metadata_file is not None:
            return Path(self.settings.idp_metadata_file).read_text(encoding="utf-8")
        if not self.settings.idp_metadata_url:
            raise Unavailable("Single sign-on with SAML has no identity provider metadata configured.")
        try:
            response = httpx.get(self.settings.idp_metadata_url, timeout=10)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise Unavailable("The sign-in provider did not answer. Try again in a minute.") from exc
        return response.text

    def client(self) -> Saml2Client:
        with self._lock:
            if self._client is None:
                config = SPConfig()
                config.load(self._config(self._idp_metadata()))
                client = Saml2Client(config)
                # The same checks as pysaml2's xmlsec1 backend, without three processes per signature.
                client.sec.crypto = InProcessXmlSec(allow_sha1=self.settings.allow_sha1)
                self._client = client
            return self._client

    def _config(self, idp_metadata: str) -> dict[str, Any]:
        return {
            "entityid": self.entity_id,
            "xmlsec_binary": str(self.settings.xmlsec_binary),
            "metadata": {"inline": [idp_metadata]},
            "allow_unknown_attributes": True,
            "accepted_time_diff": self.settings.clock_skew_seconds,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)]},
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "authn_requests_signed": False,
                    # Off unless the setting says so; solicited answers are still matched to a request
                    # of this browser (web.pages.sso) before pysaml2 sees them.
                    "allow_unsolicited": self.settings.allow_idp_initiated,
                    "name_id_format": NAMEID_FORMAT_PERSISTENT,
                }
            },
        }

    def idp_entity_id(self) -> str:
        idps = list(self.client().metadata.identity_providers())
        if len(idps) != 1:
            raise Unavailable("The SAML metadata must name exactly one identity provider.")
        return str(idps[0])

    def metadata_xml(self) -> str:
        return str(create_metadata_string(None, config=self.client().config, valid=None, sign=False))

    def start(self, *, relay_state: str) -> Started:
        """An AuthnRequest for the IdP (HTTP-Redirect binding) and its id, to remember."""
        request_id, info = self.client().prepare_for_authenticate(
            entityid=self.idp_entity_id(), relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
        )
        return Started(url=dict(info["headers"])["Location"], request_id=str(request_id))

    def answered_request(self, saml_response: str) -> str:
        """The request id an answer claims to answer (InResponseTo), read with a hardened XML parser
        before anything else. Raises SignInRefused."""
        root = _parse(saml_response)
        if root.tag != f"{SAMLP}Response":
            raise SignInRefused("The sign-in answer is not a SAML response.", reason="malformed")
        return str(root.get("InResponseTo") or "")

    def answer(self, saml_response: str, *, request_id: str) -> Answer:
        """The checked identity in a response to `request_id` ("" for an IdP-initiated one, when
        allowed). Raises SignInRefused."""
        _parse(saml_response)  # hardened parse first: no DTDs, no entities, size-limited
        try:
            # pysaml2 checks the Recipient only when given conv_info (tests/identity/test_saml.py found it).
            response = self.client().parse_authn_request_response(
                saml_response,
                BINDING_HTTP_POST,
                outstanding={request_id: "/"} if request_id else {},
                conv_info={"entity_id": self.entity_id},
            )
        except Exception as exc:  # pysaml2 raises many unrelated types for a bad answer; each is a refusal
            reason = type(exc).__name__
            raise SignInRefused("The sign-in answer is not valid. Start again.", reason=reason) from exc
        if response is None or response.assertion is None or not response.assertion.signature:
            raise SignInRefused("The sign-in answer is not valid. Start again.", reason="unsigned")
        return self._read(response)

    def _read(self, response: Any) -> Answer:
        assertion = response.assertion
        name_id = response.name_id
        if name_id is None or not name_id.text:
            raise SignInRefused("The sign-in provider sent no usable identity.", reason="no_subject")
        recipients = {
            confirmation.subject_confirmation_data.recipient
            for confirmation in assertion.subject.subject_confirmation
            if confirmation.subject_confirmation_data is not None
        }
        if recipients != {self.acs_url}:
            raise SignInRefused("The sign-in answer was meant for another service.", reason="wrong_recipient")
        identity: dict[str, list[str]] = response.get_identity() or {}
        email = _first(identity.get(self.settings.email_attribute))
        expires = _not_on_or_after(assertion) or datetime.now(UTC) + timedelta(hours=1)
        profile = SsoProfile(
            protocol="saml",
            provider=str(assertion.issuer.text),
            subject=str(name_id.text)[:400],
            email=email,
            email_verified=email is not None,  # SAML has no such flag: the IdP signed the attribute
            name=_first(identity.get(self.settings.name_attribute)),
            groups=tuple(str(value) for value in identity.get(self.settings.groups_attribute) or []),
        )
        return Answer(profile=profile, assertion_id=str(assertion.id), expires_at=expires)


def _first(values: list[str] | None) -> str | None:
    return str(values[0]) if values else None


def _not_on_or_after(assertion: Any) -> datetime | None:
    conditions = assertion.conditions
    text = getattr(conditions, "not_on_or_after", None)
    if not text:
        return None
    return datetime.fromisoformat(str(text))


def _parse(saml_response: str) -> Any:
    if len(saml_response) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise SignInRefused("The sign-in answer is too large.", reason="too_large")
    try:
        xml = base64.b64decode("".join(saml_response.split()), validate=True)
        return SafeTree.fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (binascii.Error, ValueError, SafeTree.ParseError, DefusedXmlException) as exc:
        raise SignInRefused("The sign-in answer is not valid XML.", reason="malformed") from exc
