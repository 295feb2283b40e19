"""The broker's read ACLs follow `CONSUMES`: it must say exactly what each service's app
subscribes to (a subscription the ACLs do not allow would be refused by the broker)."""

from __future__ import annotations

import importlib

from mend_events.app.settings import CIRCLES, CONSUMES, READERS, SERVICES, Settings
from mend_events.messaging import acls


def subscribed(service: str) -> set[str]:
    app_module = importlib.import_module(f"mend_{service}.app")
    settings = Settings(
        "127.0.0.1:1", "postgresql://x@127.0.0.1:1/x", "postgresql://x@127.0.0.1:1/x"
    )
    _, runtime = app_module.build(settings, schema=service, topic_prefix="p.")
    return {
        topic.removeprefix("p.").removesuffix(".events.v1")
        for _, topics, _, _ in runtime._subscriptions
        for topic in topics
    }


def test_consumes_is_what_the_apps_subscribe_to() -> None:
    services = (*SERVICES, CIRCLES)
    assert {s: subscribed(s) for s in services} == {s: set(CONSUMES[s]) for s in services}


def test_each_service_writes_only_its_own_topics() -> None:
    writes = {
        (b.principal, b.name)
        for b in acls.bindings("p.", partners=())
        if b.operation == acls.WRITE and b.resource_type == acls.TOPIC
    }
    gateway = {("disclosure", t) for t in ("p.mend.share.v1.", "p.disclosure.events.v1",
                                           "p.disclosure.dlq")}  # fmt: skip
    services = (*SERVICES, CIRCLES)
    assert (
        writes == {(s, t) for s in services for t in (f"p.{s}.events.v1", f"p.{s}.dlq")} | gateway
    )
    readers = {b.principal for b in acls.bindings("p.", partners=()) if b.operation == acls.READ}
    assert readers == {*services, "audit", *READERS, "disclosure"} - {
        s for s in SERVICES if not CONSUMES[s]}  # fmt: skip


def test_only_the_gateway_writes_share_topics_and_each_partner_reads_only_its_own() -> None:
    """Issue 18: the share topics (a prefixed pattern) are the disclosure principal's alone;
    a partner's principal reads and describes its own share topic, with its own group prefix,
    and nothing else at all."""
    bindings = acls.bindings("p.", partners=("police-north", "victim-care"))
    share = [b for b in bindings if b.name.startswith("p.mend.share.v1.")]
    writers = {b.principal for b in share if b.operation == acls.WRITE}
    assert writers == {"disclosure"}
    for agency in ("police-north", "victim-care"):
        principal = f"partner-{agency}"
        granted = {(b.resource_type, b.name, b.pattern, b.operation) for b in bindings
                   if b.principal == principal}  # fmt: skip
        assert granted == {
            (acls.TOPIC, f"p.mend.share.v1.{agency}", acls.LITERAL, acls.READ),
            (acls.TOPIC, f"p.mend.share.v1.{agency}", acls.LITERAL, acls.DESCRIBE),
            (acls.GROUP, f"p.{principal}.", acls.PREFIXED, acls.READ),
            (acls.GROUP, f"p.{principal}.", acls.PREFIXED, acls.DESCRIBE),
        }


def test_the_web_app_only_reads_the_five_topics_with_its_own_groups() -> None:
    """The web app's case index: READ and DESCRIBE on the five events topics and on its
    `web.` groups; no write, create or idempotent write anywhere."""
    granted = {(b.resource_type, b.name, b.operation) for b in acls.bindings("p.")
               if b.principal == "web"}  # fmt: skip
    topics = {(acls.TOPIC, f"p.{s}.events.v1", op) for s in SERVICES
              for op in (acls.READ, acls.DESCRIBE)}  # fmt: skip
    groups = {(acls.GROUP, "p.web.", op) for op in (acls.READ, acls.DESCRIBE)}
    assert granted == topics | groups
