"""Mail over TLS checks who it talks to: STARTTLS and SMTPS verify the server's certificate against the
force's CA (`[mail] ca_file`) and its name, against a real aiosmtpd server with its own certificates."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strongroom import mail
from strongroom.config import MailSettings
from tests.support.live import free_port
from tests.support.smtp import MailSink

MESSAGE = mail.Mail(to="cps.lawyer@cps.test", subject="Your code", body="123456")


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    other_ca_file: Path
    right_name: ssl.SSLContext  # a server certificate for 127.0.0.1, signed by the CA
    wrong_name: ssl.SSLContext  # signed by the same CA, but for another host


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca(tmp: Path, label: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} CA"))
        .issuer_name(_name(f"{label} CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = tmp / f"{label}-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def _server_context(
    tmp: Path,
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    names: list[x509.GeneralName],
    label: str,
) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(label))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{label}.pem", tmp / f"{label}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca_key, ca, ca_file = _ca(tmp, "force")
    _, _, other_ca_file = _ca(tmp, "elsewhere")
    right = _server_context(
        tmp, ca_key, ca, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], "mail-right"
    )
    wrong = _server_context(tmp, ca_key, ca, [x509.DNSName("mail.elsewhere.test")], "mail-wrong")
    return Pki(ca_file=ca_file, other_ca_file=other_ca_file, right_name=right, wrong_name=wrong)


def serve(sink: MailSink, *, mode: str, context: ssl.SSLContext) -> Controller:
    if mode == "starttls":
        controller = Controller(
            sink, hostname=sink.host, port=sink.port, tls_context=context, require_starttls=True
        )
    else:
        controller = Controller(sink, hostname=sink.host, port=sink.port, ssl_context=context)
    controller.start()
    return controller


@pytest.fixture(params=["starttls", "smtps"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sink() -> MailSink:
    return MailSink(port=free_port())


def settings_for(sink: MailSink, mode: str, ca_file: Path | None) -> MailSettings:
    return MailSettings(
        host=sink.host, port=sink.port, starttls=mode == "starttls", smtps=mode == "smtps", ca_file=ca_file
    )


def test_mail_is_refused_when_the_server_certificate_is_not_from_a_trusted_ca(
    pki: Pki, sink: MailSink, mode: str
) -> None:
    controller = serve(sink, mode=mode, context=pki.right_name)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            mail.send_mail(settings_for(sink, mode, None), MESSAGE)  # the system's CAs do not know it
        with pytest.raises(ssl.SSLCertVerificationError):
            mail.send_mail(settings_for(sink, mode, pki.other_ca_file), MESSAGE)
        assert sink.messages == []
        mail.send_mail(settings_for(sink, mode, pki.ca_file), MESSAGE)
        assert MailSink.body(sink.wait_for("cps.lawyer@cps.test")[0]).strip() == "123456"
    finally:
        controller.stop()


def test_mail_is_refused_when_the_certificate_names_another_host(pki: Pki, sink: MailSink, mode: str) -> None:
    controller = serve(sink, mode=mode, context=pki.wrong_name)
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            mail.send_mail(settings_for(sink, mode, pki.ca_file), MESSAGE)
        assert sink.messages == []
    finally:
        controller.stop()


def test_starttls_and_smtps_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        MailSettings(host="mail.force.test", starttls=True, smtps=True)
