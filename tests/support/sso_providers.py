"""Real identity providers for the single sign-on tests, started here on loopback ports:
npm `oidc-provider` (tests/support/oidc_server.mjs) and SimpleSAMLphp from Debian under PHP's built-in
server, with configuration made in a temporary folder. Plus an httpx "browser" that submits their forms.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from http.cookiejar import Cookie, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import Request

import httpx
from joserfc.jwk import RSAKey

REPO = Path(__file__).resolve().parents[2]
OIDC_SCRIPT = Path(__file__).with_name("oidc_server.mjs")
SIMPLESAMLPHP_WWW = Path("/usr/share/simplesamlphp/www")
START_TIMEOUT = 120.0  # a busy machine can take long to start node or php


LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


class LoopbackIsSecure(DefaultCookiePolicy):
    """Browsers send Secure cookies to http://127.0.0.1 and localhost (secure contexts); Python's cookie
    jar sends them over https only. Strongroom's SAML sign-in cookie is Secure (SameSite=None needs it)."""

    def return_ok_secure(self, cookie: Cookie, request: Request) -> bool:
        if urlsplit(request.get_full_url()).hostname in LOOPBACK:
            return True
        return bool(super().return_ok_secure(cookie, request))


class Browser(httpx.Client):
    """httpx playing a browser: cookies kept as a browser keeps them (LoopbackIsSecure), redirects
    followed by hand."""

    def __init__(self) -> None:
        super().__init__(follow_redirects=False, timeout=60)
        self.cookies.jar.set_policy(LoopbackIsSecure())

    def build_request(self, method: str, url: httpx._types.URLTypes, **kwargs: Any) -> httpx.Request:
        # httpx copies the jar into each request, and the copy has Python's default policy again.
        request = super().build_request(method, url, **kwargs)
        if request.url.host in LOOPBACK:
            request.headers.pop("cookie", None)
            self.cookies.set_cookie_header(request)
        return request


def browser_client() -> httpx.Client:
    return Browser()


@dataclass
class RunningProvider:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"provider exited early: {log.read_text(errors='replace')[-2000:]}"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    msg = f"provider at {url} did not start within {START_TIMEOUT} s"
    raise RuntimeError(msg)


def oidc_missing() -> str | None:
    if shutil.which("node") is None:
        return "node (apt-get install nodejs)"
    if not (REPO / "node_modules" / "oidc-provider").exists():
        return "oidc-provider (npm install, from package.json)"
    return None


def start_oidc_provider(
    *, port: int, app_url: str, signing_key: RSAKey, accounts: dict[str, dict[str, object]], log: Path
) -> RunningProvider:
    private = signing_key.as_dict(private=True)
    private.update({"use": "sig", "alg": "RS256"})
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_REDIRECT_URIS": json.dumps([f"{app_url}/auth/oidc/callback"]),
        "OIDC_POST_LOGOUT_URIS": json.dumps([f"{app_url}/login?signed_out=1"]),
        "OIDC_SIGNING_JWK": json.dumps(private),
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["node", str(OIDC_SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
    url = f"http://127.0.0.1:{port}"
    _wait_ready(f"{url}/.well-known/openid-configuration", process, log)
    return RunningProvider(url=url, process=process, log=log)


def saml_missing() -> str | None:
    missing = [
        tool
        for tool, present in (
            ("php", shutil.which("php") is not None),
            ("simplesamlphp", SIMPLESAMLPHP_WWW.exists()),
            ("xmlsec1", shutil.which("xmlsec1") is not None),
        )
        if not present
    ]
    if missing:
        return (
            "apt-get install -y --no-install-recommends simplesamlphp php-xml php-mbstring php-curl xmlsec1"
        )
    return None


SAML_USERS: dict[str, dict[str, object]] = {
    "alice": {
        "password": "alice-pw",
        "uid": ["alice"],
        "mail": ["alice@force.police.test"],
        "displayName": ["Alice Smith"],
        "groups": ["CID", "Major Crime"],
    },
    "carol": {
        "password": "carol-pw",
        "uid": ["carol"],
        "mail": ["carol@force.police.test"],
        "displayName": ["Carol Jones"],
        "groups": ["Custody"],
    },
}


def _php_list(values: object) -> str:
    assert isinstance(values, list)
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def write_simplesamlphp_config(directory: Path, *, idp_url: str, app_url: str) -> tuple[Path, Path]:
    """A SimpleSAMLphp config folder (COMPONENTS.md §4) that knows Strongroom's SP; returns the IdP's
    private key and certificate paths, which the forging tests sign with."""
    for sub in ("cert", "log", "data", "tmp", "metadata"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    key, cert = directory / "cert" / "idp.key", directory / "cert" / "idp.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=strongroom-test-idp",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    (directory / "config.php").write_text(f"""<?php
$dir = __DIR__;
$config = [
    'baseurlpath' => '{idp_url}/',
    'certdir' => $dir . '/cert/', 'loggingdir' => $dir . '/log/', 'datadir' => $dir . '/data/',
    'tempdir' => $dir . '/tmp', 'metadatadir' => $dir . '/metadata/',
    'secretsalt' => 'strongroom-test-salt', 'auth.adminpassword' => 'admin',
    'admin.protectindexpage' => false,
    'technicalcontact_email' => 'na@example.org', 'timezone' => 'UTC',
    'logging.level' => SimpleSAML\\Logger::INFO, 'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
    'session.cookie.secure' => false, 'session.cookie.samesite' => null,
    'session.cookie.name' => 'SimpleSAMLSessionID',
    'session.phpsession.cookiename' => 'SimpleSAMLphp',
    'store.type' => 'phpsession', 'metadata.sources' => [['type' => 'flatfile']],
    'language.available' => ['en'], 'language.default' => 'en',
];
""")
    users = ",\n    ".join(
        f"'{name}:{info['password']}' => ["
        + ", ".join(f"'{attr}' => {_php_list(values)}" for attr, values in info.items() if attr != "password")
        + "]"
        for name, info in SAML_USERS.items()
    )
    (directory / "authsources.php").write_text(f"""<?php
$config = ['admin' => ['core:AdminPassword'],
  'example-userpass' => ['exampleauth:UserPass',
    {users}]];
""")
    (directory / "metadata" / "saml20-idp-hosted.php").write_text("""<?php
$metadata['__DYNAMIC:1__'] = ['host' => '__DEFAULT__', 'privatekey' => 'idp.key', 'certificate' => 'idp.crt',
  'auth' => 'example-userpass', 'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  'simplesaml.nameidattribute' => 'uid'];  // a stable persistent NameID (else a new one each time)
""")
    (directory / "metadata" / "saml20-sp-remote.php").write_text(f"""<?php
$metadata['{app_url}/auth/saml/metadata'] = ['AssertionConsumerService' => '{app_url}/auth/saml/acs',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'];
""")
    return key, cert


def start_simplesamlphp(*, port: int, config_dir: Path, log: Path) -> RunningProvider:
    env = {**os.environ, "SIMPLESAMLPHP_CONFIG_DIR": str(config_dir)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(SIMPLESAMLPHP_WWW)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    _wait_ready(f"{url}/saml2/idp/metadata.php", process, log)
    return RunningProvider(url=url, process=process, log=log)


def drive_oidc(browser: httpx.Client, start_url: str, *, app_url: str, login: str) -> httpx.Response:
    """Follow a sign-in from Strongroom's start URL through the provider's login and consent forms,
    back to Strongroom; returns Strongroom's answer to the callback (not followed further)."""
    return browser.get(callback_url(browser, start_url, app_url=app_url, login=login))


def callback_url(browser: httpx.Client, start_url: str, *, app_url: str, login: str) -> str:
    """Like drive_oidc, but stop at the provider's redirect back: the callback URL, not yet opened."""
    response = browser.get(start_url)
    for _ in range(20):
        if response.status_code in {302, 303}:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(f"{app_url}/auth/oidc/callback"):
                return location
            response = browser.get(location)
            continue
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        assert action is not None
        assert prompt is not None
        response = browser.post(
            urljoin(str(response.url), html.unescape(action.group(1))),
            data={"prompt": prompt.group(1), "login": login, "password": "any"},
        )
    msg = "sign-in did not come back to Strongroom"
    raise AssertionError(msg)


def saml_response_for(browser: httpx.Client, start_url: str, *, user: str) -> tuple[str, str]:
    """Sign in at SimpleSAMLphp from Strongroom's start URL; returns the SAMLResponse and RelayState the
    IdP's auto-submitting form would post to Strongroom (not posted yet)."""
    response = browser.get(start_url, follow_redirects=True)
    if 'name="AuthState"' in response.text:
        state = re.search(r'name="AuthState" value="([^"]+)"', response.text)
        assert state is not None
        response = browser.post(
            str(response.url),
            data={
                "username": user,
                "password": str(SAML_USERS[user]["password"]),
                "AuthState": html.unescape(state.group(1)),
            },
            follow_redirects=True,
        )
    saml = re.search(r'name="SAMLResponse" value="([^"]+)"', response.text)
    relay = re.search(r'name="RelayState" value="([^"]*)"', response.text)
    assert saml is not None, response.text[:1000]
    return html.unescape(saml.group(1)), html.unescape(relay.group(1)) if relay else ""
