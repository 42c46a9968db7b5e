"""The deployment files (deploy/) say what the operations guide promises: non-root, read-only root file
system, migrations once, probes on /healthz and /readyz, graceful worker stop, pinned dependencies.
The Helm chart is rendered here without helm (helm_subset.py) and its objects checked field by field."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helm_subset import UnsupportedTemplate, render, render_chart

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "strongroom"


def _pod(document: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = document["spec"]["template"]["spec"]
    return spec


def _assert_locked_down(pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_helm_chart_renders_locked_down_app_and_worker() -> None:
    chart = render_chart(CHART, release="evidence")
    (app,) = chart["deployment-app.yaml"]
    (worker,) = chart["deployment-worker.yaml"]
    assert app["kind"] == worker["kind"] == "Deployment"
    assert app["spec"]["replicas"] == 2
    for deployment in (app, worker):
        _assert_locked_down(_pod(deployment))
        (container,) = _pod(deployment)["containers"]
        assert container["image"] == "registry.force.example/strongroom:0.1.0"
        assert {"configMapRef": {"name": "evidence-config"}} in container["envFrom"]
        assert {"secretRef": {"name": "strongroom"}} in container["envFrom"]
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in _pod(deployment)["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims == ["evidence-keys"]
    (serve,) = _pod(app)["containers"]
    assert serve["args"] == ["serve"]
    assert serve["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert serve["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert serve["resources"]["limits"]["memory"] == "512Mi"
    assert "initContainers" not in _pod(app)  # app pods never migrate on their own
    assert _pod(worker)["containers"][0]["args"] == ["worker"]
    assert _pod(worker)["terminationGracePeriodSeconds"] == 120
    (service,) = chart["service.yaml"]
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "app"


def test_helm_chart_migrates_once_per_release_and_keeps_secrets_out_of_values() -> None:
    chart = render_chart(CHART)
    (job,) = chart["migrate-job.yaml"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert _pod(job)["containers"][0]["args"] == ["db", "upgrade"]
    _assert_locked_down(_pod(job))
    (config,) = chart["configmap.yaml"]
    assert config["data"]["STRONGROOM_BLOBS__URL"] == "az://strongroom/blobs"
    assert config["data"]["STRONGROOM_SERVER__TRUSTED_PROXIES"] == '["10.0.0.0/8"]'
    secretish = re.compile(r"KEY|SECRET|PASSWORD|CONNECTION_STRING|DATABASE__URL", re.IGNORECASE)
    assert not [name for name in config["data"] if secretish.search(name) and "KEYS__" not in name]


def test_helm_ingress_only_when_enabled_and_streams_uploads() -> None:
    assert render_chart(CHART)["ingress.yaml"] == []
    (ingress,) = render_chart(CHART, values={"ingress": {"enabled": True}})["ingress.yaml"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["strongroom.force.example"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"


def test_the_renderer_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(UnsupportedTemplate):
        render('{{ include "x" . }}', {"Values": {}})
    with pytest.raises(UnsupportedTemplate):
        render("{{ .Values.missing }}", {"Values": {}})


def test_compose_runs_app_worker_and_their_services_read_only() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"app", "worker", "migrate", "postgres", "azurite", "clamd"} <= set(services)
    for name in ("app", "worker", "migrate"):
        service = services[name]
        assert service["read_only"] is True
        assert service["user"] == "10001:10001"
        assert service["cap_drop"] == ["ALL"]
        assert "/tmp" in service["tmpfs"]
        assert service["environment"]["STRONGROOM_BLOBS__URL"].startswith("az://")
        assert "AccountKey" in service["environment"]["AZURE_STORAGE_CONNECTION_STRING"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["app"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["stop_grace_period"] == "120s"
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]  # only the reverse proxy reaches it


def test_compose_shares_both_keys_and_checks_health_only_where_a_server_runs() -> None:
    """App, worker and migration read the same key-encryption and audit signing keys from the `keys`
    volume, whose mount point the image gives to the app user (a fresh named volume takes that owner;
    root's, the first start cannot lock the key file). The worker serves no HTTP, so the image's
    /healthz check is off there (it would be reported unhealthy)."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("app", "worker", "migrate"):
        service = services[name]
        assert "keys:/var/lib/strongroom/keys" in service["volumes"]
        assert service["environment"]["STRONGROOM_KEYS__PATH"].startswith("/var/lib/strongroom/keys/")
        signing_key = service["environment"]["STRONGROOM_KEYS__SIGNING_KEY_PATH"]
        assert signing_key.startswith("/var/lib/strongroom/keys/")
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services["app"]
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert "install -d -o strongroom -g strongroom -m 0700 /var/lib/strongroom/keys" in containerfile


def test_containerfile_runs_as_a_non_root_user_from_the_lock_file() -> None:
    lines = [line.strip() for line in (DEPLOY / "Containerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("pip install -c constraints.txt" in line for line in lines)
    assert any(line.startswith("ENTRYPOINT") and "strongroom" in line for line in lines)
    assert any(line.startswith("VOLUME") and "/var/lib/strongroom" in line for line in lines)


@pytest.mark.parametrize(
    ("unit", "command"), [("strongroom.service", "serve"), ("strongroom-worker.service", "worker")]
)
def test_systemd_units_are_hardened(unit: str, command: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive in systemd
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["ExecStart"].split()[-1] == command
    assert service["User"] == "strongroom"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/strongroom"
    assert service["EnvironmentFile"] == "/etc/strongroom/strongroom.env"
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_constraints_pin_every_dependency_and_ci_installs_with_them() -> None:
    pins = {
        re.split(r"[=<>]", line)[0].lower().replace("_", "-")
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all(
        "==" in line
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {re.split(r"[\[<>=~ ;]", requirement)[0].lower().replace("_", "-") for requirement in wanted}
    names.discard("strongroom")
    assert not names - pins, f"pin these in constraints.txt: {sorted(names - pins)}"
    assert "-c constraints.txt" in (REPO / ".ci" / "run").read_text()
