"""Attacks on the in-process signature check (identity.saml_crypto) itself: a signature that signs
something other than the named assertion, a key from the document, transforms outside the allowed list,
duplicate IDs. Each must be a plain refusal (False), never an exception or an acceptance."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from strongroom.identity.saml_crypto import InProcessXmlSec

ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "{http://www.w3.org/2000/09/xmldsig#}"
DOC = (
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r1">'
    f'<saml:Assertion xmlns:saml="{SAML}" ID="a1"><saml:Subject><saml:NameID>officer@force.test'
    "</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"
)


def _key_pair(tmp_path: Path, name: str) -> tuple[bytes, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_file = tmp_path / f"{name}.crt"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, cert_file


def _sign(
    doc: str,
    key_pem: bytes,
    cert_file: Path,
    *,
    uri: str = "#a1",
    extra_transform: object = None,
    extra_reference: str | None = None,
    method: object = xmlsec.constants.TransformRsaSha256,
) -> str:
    root = etree.fromstring(doc.encode())
    assertion = root.find(f"{{{SAML}}}Assertion")
    signature = xmlsec.template.create(assertion, xmlsec.constants.TransformExclC14N, method)
    assertion.insert(0, signature)
    ref = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri=uri)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    if extra_transform is not None:
        xpath = xmlsec.template.add_transform(ref, extra_transform)
        expression = etree.SubElement(xpath, f"{DSIG}XPath", nsmap={"dsig": DSIG[1:-1]})
        expression.text = "not(ancestor-or-self::dsig:Signature)"
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    if extra_reference is not None:
        xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri=extra_reference)
    key_info = xmlsec.template.ensure_key_info(signature)
    xmlsec.template.add_x509_data(key_info)
    context = xmlsec.SignatureContext()
    context.register_id(assertion, "ID")
    context.register_id(root, "ID")
    key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_file(str(cert_file), xmlsec.constants.KeyDataFormatPem)
    context.key = key
    context.sign(signature)
    return etree.tostring(root).decode()


@pytest.fixture
def idp(tmp_path: Path) -> tuple[bytes, Path]:
    return _key_pair(tmp_path, "idp")


def _check(xml: str, cert_file: Path) -> bool:
    return bool(InProcessXmlSec().validate_signature(xml, str(cert_file), "pem", ASSERTION, "a1"))


def test_the_idps_own_signature_is_accepted(idp: tuple[bytes, Path]) -> None:
    assert _check(_sign(DOC, *idp), idp[1])


def test_a_signature_by_another_key_with_its_own_keyinfo_is_refused(
    idp: tuple[bytes, Path], tmp_path: Path
) -> None:
    other = _key_pair(tmp_path, "attacker")
    assert not _check(_sign(DOC, *other), idp[1])


def test_an_xpath_transform_is_refused(idp: tuple[bytes, Path]) -> None:
    signed = _sign(DOC, *idp, extra_transform=xmlsec.constants.TransformXPath)
    assert not _check(signed, idp[1])


def test_a_second_reference_is_refused(idp: tuple[bytes, Path]) -> None:
    assert not _check(_sign(DOC, *idp, extra_reference="#r1"), idp[1])


def test_a_reference_to_the_whole_document_is_refused(idp: tuple[bytes, Path]) -> None:
    assert not _check(_sign(DOC, *idp, uri=""), idp[1])


def test_an_xml_id_twin_of_the_assertion_id_is_refused_not_an_error(idp: tuple[bytes, Path]) -> None:
    signed = _sign(DOC, *idp)
    twin = signed.replace("<saml:Assertion", '<saml:Evidence xml:id="a1"/><saml:Assertion', 1)
    assert not _check(twin, idp[1])


def test_a_second_element_with_the_same_id_is_refused(idp: tuple[bytes, Path]) -> None:
    signed = _sign(DOC, *idp)
    twin = signed.replace("<saml:Assertion", '<saml:Evidence ID="a1"/><saml:Assertion', 1)
    assert not _check(twin, idp[1])


def test_an_altered_name_id_is_refused(idp: tuple[bytes, Path]) -> None:
    signed = _sign(DOC, *idp)
    assert not _check(signed.replace("officer@force.test", "chief@force.test"), idp[1])


def test_a_comment_inside_the_name_id_does_not_cut_the_name_short() -> None:
    # The 2018 attack on several SAML libraries: the IdP signs "chief@force.test<!---->.evil.example",
    # the SP reads the text before the comment. pysaml2's parser keeps the whole name.
    from saml2.saml import name_id_from_string

    xml = f'<saml:NameID xmlns:saml="{SAML}">chief@force.test<!---->.evil.example</saml:NameID>'
    assert name_id_from_string(xml).text == "chief@force.test.evil.example"


def test_sha1_signatures_are_refused_unless_the_force_allows_them(idp: tuple[bytes, Path]) -> None:
    signed = _sign(DOC, *idp, method=xmlsec.constants.TransformRsaSha1)
    assert not _check(signed, idp[1])
    allowed = InProcessXmlSec(allow_sha1=True)
    assert allowed.validate_signature(signed, str(idp[1]), "pem", ASSERTION, "a1")
