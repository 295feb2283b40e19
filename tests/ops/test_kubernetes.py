"""Each agency's overlay, rendered by kustomize (built from its Go module into .mend/bin by `make
deps`) and validated against the Kubernetes schemas kubernetes-validate bundles (offline,
strict: an unknown field is an error). KEDA's kinds are custom resources without a bundled
schema: they are skipped by the schema check and checked here field by field instead."""

from __future__ import annotations

import importlib
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from mend_events.app.settings import SERVICES, events_topic

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZE = ROOT / ".mend" / "bin" / "kustomize"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())
AGENCIES = {"agency-north": "north", "agency-south": "south"}
CUSTOM = {"ScaledObject", "TriggerAuthentication"}  # KEDA's CRDs: no bundled schema
PROCESSES = (*SERVICES, "audit", "web", "disclosure", "circles")
# Each consumes events topics in its own consumer groups (web's: rebuilt, so not scaled on them).
CONSUMING = (*SERVICES, "disclosure", "circles")
# Where a Mend pod may connect: DNS, Kafka's TLS listener, PostgreSQL, the hub's JWKS; the
# hub the agencies' identity providers (https); the web app the services' APIs.
EGRESS = {53, 9093, 5432, 8106}
EGRESS_EXTRA = {"hub": {443, 587}, "web": {8101, 8102, 8103, 8104, 8105}}


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    assert KUSTOMIZE.is_file(), "no .mend/bin/kustomize: run `make deps` (deploy-tools)"
    out = subprocess.run(
        [str(KUSTOMIZE), "build", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def of(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def containers(docs: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], c)
        for d in docs
        if d["kind"] in {"Deployment", "Job"}
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def secret_references(docs: tuple[dict[str, Any], ...]) -> set[str]:
    names = set()
    for d in docs:
        if d["kind"] == "TriggerAuthentication":
            names |= {r["name"] for r in d["spec"]["secretTargetRef"]}
        if d["kind"] not in {"Deployment", "Job"}:
            continue
        pod = d["spec"]["template"]["spec"]
        names |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        for c in pod["containers"]:
            names |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
    return names


def test_two_agencies_have_an_overlay():
    assert OVERLAYS == sorted(AGENCIES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_rendered_manifests_are_valid_kubernetes(overlay):
    version = kubernetes_validate.latest_version()
    checked = 0
    for doc in render(overlay):
        if doc["kind"] in CUSTOM:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_sets_namespace_agency_secrets_and_replicas(overlay):
    docs, short = render(overlay), AGENCIES[overlay]
    namespace = f"mend-{short}"
    assert list(of(docs, "Namespace")) == [namespace]
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {namespace}
    (config,) = of(docs, "ConfigMap").values()
    assert config["data"]["MEND_WEB_AGENCY"] == overlay
    assert config["data"]["MEND_KAFKA_BOOTSTRAP"].startswith(f"{short}-kafka")
    secrets = set(of(docs, "Secret"))
    assert all(name.startswith(f"{short}-mend-") for name in secrets)
    # Every Secret a pod or KEDA names is one the overlay renders (none left on a base name).
    named = secret_references(docs)
    assert named and named <= secrets, named - secrets
    deployments = of(docs, "Deployment")
    assert set(deployments) == set(PROCESSES)
    assert deployments["web"]["spec"]["replicas"] >= 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(overlay):
    for name, container in containers(render(overlay)):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound]), (name, bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_allow_only_the_platform(overlay):
    docs = render(overlay)
    policies = of(docs, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for name in (*PROCESSES, "mend-migrate", "mend-bus-setup"):
        spec = policies[name]["spec"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == name
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        ports = {p["port"] for rule in spec["egress"] for p in rule.get("ports", [])}
        assert ports <= EGRESS | EGRESS_EXTRA.get(name, set()), (name, ports)
        for rule in spec.get("ingress", []):  # every source named: never from anywhere
            assert rule.get("from"), name
    # The services are reached by the web app and Prometheus, never from outside directly.
    for name in ("consent", "risk", "sessions", "aftercare", "audit", "disclosure", "circles"):
        sources = yaml.safe_dump(policies[name]["spec"]["ingress"])
        assert "ingress-nginx" not in sources and "app.kubernetes.io/name: web" in sources
        assert "prometheus" in sources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_hub_reaches_its_mail_relay_only_over_starttls(overlay):
    """Reminders carry a recipient's address: the hub's SMTP is STARTTLS, verified, and its
    network policy lets it reach the relay's submission port and no other mail port."""
    docs = render(overlay)
    [hub] = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "hub"]
    env = {
        e["name"]: e.get("value") for e in hub["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MEND_SMTP_STARTTLS"] == "true" and env["MEND_SMTP_PORT"] == "587"
    egress = of(docs, "NetworkPolicy")["hub"]["spec"]["egress"]
    mail = [r for r in egress if {p["port"] for p in r.get("ports", [])} & {25, 465, 587}]
    assert [[p["port"] for p in r["ports"]] for r in mail] == [[587]]
    assert mail[0]["to"]  # to the relay's namespace, not anywhere


def declared_groups(service: str) -> set[tuple[str, str]]:
    module = importlib.import_module(f"mend_{service}.reactions")
    consumes = getattr(module, "CONSUMES", module.Reactions.CONSUMES)  # a service's parts too
    return {
        (f"{service}.{sub.name}", events_topic(source))
        for sub in consumes
        for source in sub.sources
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_each_consuming_service_on_its_groups_lag(overlay):
    docs = render(overlay)
    scaled = of(docs, "ScaledObject")
    auths = of(docs, "TriggerAuthentication")
    secrets = set(of(docs, "Secret"))
    (config,) = of(docs, "ConfigMap").values()
    assert set(scaled) == set(CONSUMING)  # not audit (no groups), not web (rebuilt groups)
    for service, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] == service
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 12
        triggers = spec["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        found = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in triggers}
        assert found == declared_groups(service), service
        for t in triggers:
            meta = t["metadata"]
            assert meta["bootstrapServers"] == config["data"]["MEND_KAFKA_BOOTSTRAP"]
            assert meta["tls"] == "enable" and meta["sasl"] == "scram_sha512"
            auth = auths[t["authenticationRef"]["name"]]
            refs = {r["parameter"]: r["name"] for r in auth["spec"]["secretTargetRef"]}
            assert set(refs.values()) <= secrets
            assert refs["username"].endswith(f"mend-kafka-{service}")


def test_the_same_kafka_version_everywhere():
    pom = (ROOT / "deploy" / "local" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>([\d.]+)</kafka.version>", pom).group(1)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"
    for overlay in OVERLAYS:
        for obj in of(render(overlay), "ScaledObject").values():
            assert {t["metadata"]["version"] for t in obj["spec"]["triggers"]} == {version}
    assert f"Apache Kafka {version}" in (ROOT / "README.md").read_text()


def test_docker_compose_loads_with_compose_go():
    checker = ROOT / ".mend" / "bin" / "composecheck"
    assert checker.is_file(), "no .mend/bin/composecheck: run `make deps` (deploy-tools)"
    result = subprocess.run(
        [str(checker), str(ROOT / "docker-compose.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_compose_go_refuses_an_invalid_file(tmp_path):
    """The checker is no rubber stamp: what `docker compose config` refuses, it refuses."""
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  a:\n    image: x\n    ports: 8080\n    depends_on: [b]\n")
    checker = ROOT / ".mend" / "bin" / "composecheck"
    result = subprocess.run([str(checker), str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and "ports" in result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_client_verifies_the_broker_and_the_database_over_tls(overlay):
    docs = render(overlay)
    (config,) = of(docs, "ConfigMap").values()
    data = config["data"]
    assert data["MEND_KAFKA_TLS"] == "true" and data["MEND_DATABASE_TLS"] == "true"
    secrets = of(docs, "Secret")
    for d in docs:
        if d["kind"] not in {"Deployment", "Job"}:
            continue
        pod = d["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod["containers"]:
            env = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
            if any("configMapRef" in e for e in c.get("envFrom", [])):
                env = {**data, **env}
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            for kind in ("KAFKA", "DATABASE"):
                if env.get(f"MEND_{kind}_TLS") != "true":
                    continue
                if d["metadata"]["name"] == "mend-bus-setup" and kind == "DATABASE":
                    continue  # it talks to Kafka only
                ca = Path(env[f"MEND_{kind}_CA_FILE"])
                volume = volumes[mounts[str(ca.parent)]]
                assert volume["secret"]["secretName"] in secrets, (d["metadata"]["name"], kind)
    (migrate,) = [c for n, c in containers(docs) if n == "mend-migrate"]
    assert {e["name"]: e["value"] for e in migrate["env"]}["MEND_DATABASE_TLS"] == "true"
