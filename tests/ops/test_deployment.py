"""The deployment files name every process the code has, so none is left out of an image, the
compose file or the Kubernetes manifests (the web app was missing from all three, and the
images listened on 127.0.0.1 only). Read as data: no Docker or cluster is needed to check that
each process is built, started, migrated, given its own Kafka principal and probed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from mend_events.app.settings import KAFKA_PRINCIPALS, SERVICES

ROOT = Path(__file__).resolve().parents[2]
# each its own image, container, Deployment
PROCESSES = (*SERVICES, "audit", "web", "disclosure", "circles")
SCHEMAS = (*SERVICES, "audit", "web", "disclosure", "circles")


def test_the_image_builds_and_starts_every_process_on_every_interface():
    dockerfile = (ROOT / "deploy" / "images" / "Dockerfile").read_text()
    allowed = re.search(r'case "\$\{SERVICE\}" in \\\n\s+([a-z|]+)\)', dockerfile).group(1)
    assert set(allowed.split("|")) == {*PROCESSES, "all"}
    everything = re.search(r"all\) set -- ([a-z ]+) ;;", dockerfile).group(1).split()
    assert set(everything) == set(PROCESSES)
    assert "--host 0.0.0.0" in dockerfile


def test_compose_runs_every_process_with_its_own_principal_and_migrates_every_schema():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in PROCESSES:
        assert name in services, name
        env = services[name]["environment"]
        assert env["MEND_KAFKA_USER"] == name, name
        assert services[name]["build"]["args"]["SERVICE"] == name
    assert set(services["migrate"]["command"][3:]) == set(SCHEMAS)
    start = (ROOT / "deploy" / "compose" / "kafka-start.sh").read_text()
    users = re.search(r"for user in ([a-z ]+); do", start).group(1).split()
    assert set(users) == set(KAFKA_PRINCIPALS)
    kafka_env = services["kafka"]["environment"]
    for user in KAFKA_PRINCIPALS:
        assert f"MEND_KAFKA_{user.upper()}_PASSWORD" in kafka_env, user


def test_compose_speaks_tls_to_the_broker_and_the_database():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in (*PROCESSES, "migrate", "bus-setup"):
        env = services[name]["environment"]
        assert env["MEND_KAFKA_TLS"] == "true" and env["MEND_DATABASE_TLS"] == "true", name
        assert f"{env['MEND_KAFKA_CA_FILE']}:ro" in " ".join(services[name]["volumes"]), name
    start = (ROOT / "deploy" / "compose" / "kafka-start.sh").read_text()
    assert "INTERNAL:SASL_SSL,HOST:SASL_SSL" in start
    assert "ssl=on" in " ".join(services["postgres"]["entrypoint"])
    certs = (ROOT / "deploy" / "compose" / "make-certs.sh").read_text()
    assert "subjectAltName=DNS:$host" in certs and "for host in kafka postgres" in certs


def test_kubernetes_deploys_every_process_probed_and_limited():
    k8s = ROOT / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    images = {i["name"] for i in kustomization["images"]}
    secrets = {
        d["metadata"]["name"] for d in yaml.safe_load_all((k8s / "secrets.yaml").read_text())
    }
    migrate = next(yaml.safe_load_all((k8s / "jobs" / "migrate.yaml").read_text()))
    args = migrate["spec"]["template"]["spec"]["containers"][0]["command"]
    assert set(SCHEMAS) <= set(args)
    for name in PROCESSES:
        # One file per service: a new one is a file and a line in the base.
        assert f"services/{name}.yaml" in kustomization["resources"], name
        assert f"mend-{name}" in images and f"mend-kafka-{name}" in secrets, name
        docs = list(yaml.safe_load_all((k8s / "services" / f"{name}.yaml").read_text()))
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, (name, probe)
        assert container["resources"]["limits"]["memory"], name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics", name
        (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
        assert policy["metadata"]["name"] == name
