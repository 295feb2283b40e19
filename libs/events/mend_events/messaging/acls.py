"""Who may do what on the bus: the broker's ACLs, one principal per service.

Each service (the circles service too) may write (and describe, create) only its own topics,
`<prefix><service>.events.v1` and `<prefix><service>.dlq`; read only the events topics it
consumes (`CONSUMES`) and the hub's (`READ_BY_ALL`: agencies, keys, staff and allocations are
every service's trust facts); and use only consumer groups named `<prefix><service>.`. The
`audit` principal reads every events topic (verification) and nothing else; a read-only
principal (`READERS`: the web app's case index) reads the topics it names with groups
`<prefix><principal>.` and writes nothing.
Everything else is denied: the broker runs the KRaft
`StandardAuthorizer` with `allow.everyone.if.no.acl.found=false`, and only the administrator
(a super user) creates topics for others, sets ACLs, or deletes.

`python -m mend_events.messaging.acls [--prefix P]` sets them as the administrator named by
`MEND_KAFKA_USER` (the launcher, the Kubernetes set-up job and docker-compose's set-up run it).
Creating an ACL that exists already changes nothing, so it is safe to run again.

aiokafka has no admin call for ACLs and its CreateAcls request stops at v1, which Kafka 4
no longer accepts; the flexible v2/v3 request is declared here on aiokafka's own protocol types.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from mend_events.app.settings import (
    CIRCLES,
    CONSUMES,
    DISCLOSURE,
    FROM_ENV,
    KAFKA_PRINCIPALS,
    READ_BY_ALL,
    READERS,
    SERVICES,
    SHARE_TOPIC_PREFIX,
    KafkaAuth,
    Settings,
    dlq_topic,
    events_topic,
    kafka_options,
    partner_agencies,
    partner_principal,
    share_topic,
)

# Kafka's codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP, CLUSTER = 2, 3, 4
LITERAL, PREFIXED = 3, 4
READ, WRITE, CREATE, DESCRIBE, IDEMPOTENT_WRITE = 3, 4, 5, 8, 12
ALLOW = 3
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, slots=True)
class Binding:
    principal: str  # the user name; `User:` is added on the wire
    resource_type: int
    name: str
    pattern: int
    operation: int


def sharing_bindings(prefix: str = "", partners: tuple[str, ...] = ()) -> list[Binding]:
    """The disclosure gateway's and the partners' ACLs (issue 18): the gateway alone writes the
    share topics (every topic named `<prefix>mend.share.v1.`), reads the five events topics and
    writes its own dead letters; each partner reads and describes only its own share topic and
    uses only its own group prefix. Nothing else of Mend is readable by a partner."""
    out: list[Binding] = []
    gateway = DISCLOSURE
    share = f"{prefix}{SHARE_TOPIC_PREFIX}"
    for op in (WRITE, DESCRIBE, CREATE):
        out.append(Binding(gateway, TOPIC, share, PREFIXED, op))
        for topic in (events_topic(gateway, prefix), dlq_topic(gateway, prefix)):
            out.append(Binding(gateway, TOPIC, topic, LITERAL, op))
    out.append(Binding(gateway, CLUSTER, CLUSTER_NAME, LITERAL, IDEMPOTENT_WRITE))
    for op in (READ, DESCRIBE):
        out += [Binding(gateway, TOPIC, events_topic(s, prefix), LITERAL, op) for s in SERVICES]
        out.append(Binding(gateway, GROUP, f"{prefix}{gateway}.", PREFIXED, op))
    for agency in partners:
        principal = partner_principal(agency)
        for op in (READ, DESCRIBE):
            out.append(Binding(principal, TOPIC, share_topic(agency, prefix), LITERAL, op))
            out.append(Binding(principal, GROUP, f"{prefix}{principal}.", PREFIXED, op))
    return out


def bindings(prefix: str = "", partners: tuple[str, ...] | None = None) -> list[Binding]:
    """Every ACL of the platform for topics named with `prefix` (tests use one per test);
    `partners`: the partner agencies (by default `MEND_PARTNER_AGENCIES`)."""
    out: list[Binding] = sharing_bindings(
        prefix, partner_agencies() if partners is None else partners
    )
    for service in (*SERVICES, CIRCLES):
        for topic in (events_topic(service, prefix), dlq_topic(service, prefix)):
            for op in (WRITE, DESCRIBE, CREATE):
                out.append(Binding(service, TOPIC, topic, LITERAL, op))
        out.append(Binding(service, CLUSTER, CLUSTER_NAME, LITERAL, IDEMPOTENT_WRITE))
        readable = dict.fromkeys((*CONSUMES[service], *READ_BY_ALL))
        for source in (s for s in readable if s != service):
            for op in (READ, DESCRIBE):
                out.append(Binding(service, TOPIC, events_topic(source, prefix), LITERAL, op))
        if CONSUMES[service]:  # its subscriptions' groups are `<prefix><service>.<name>`
            for op in (READ, DESCRIBE):
                out.append(Binding(service, GROUP, f"{prefix}{service}.", PREFIXED, op))
    for service in (*SERVICES, CIRCLES):
        for op in (READ, DESCRIBE):
            out.append(Binding("audit", TOPIC, events_topic(service, prefix), LITERAL, op))
    for reader, sources in READERS.items():
        for op in (READ, DESCRIBE):
            out += [Binding(reader, TOPIC, events_topic(s, prefix), LITERAL, op) for s in sources]
            out.append(Binding(reader, GROUP, f"{prefix}{reader}.", PREFIXED, op))
    return out


def _flexible(
    api_key: int, name: str, response: Schema, request: Schema
) -> tuple[type[RequestStruct], type[RequestStruct]]:
    """Versions 2 and 3 of an ACL request (the first flexible ones): both have the same schemas;
    each answers with the response of its own version."""
    made = []
    for version in (2, 3):
        common = {"__module__": __name__, "API_KEY": api_key, "API_VERSION": version}
        answer = type(f"_{name}Response_v{version}", (Response,), {**common, "SCHEMA": response})
        made.append(
            type(
                f"_{name}Request_v{version}",
                (RequestStruct,),
                {**common, "FLEXIBLE_VERSION": True, "RESPONSE_TYPE": answer, "SCHEMA": request},
            )
        )
    return made[0], made[1]


# One access control entry on the wire: the same fields in a creation and in a description.
_ACL = (
    ("principal", CompactString("utf-8")),
    ("host", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
    ("tags", TaggedFields),
)

_CREATE_RESULTS = Schema(
    ("throttle_time_ms", Int32),
    (
        "results",
        CompactArray(
            ("error_code", Int16),
            ("error_message", CompactString("utf-8")),
            ("tags", TaggedFields),
        ),
    ),
    ("tags", TaggedFields),
)

_CREATIONS = Schema(
    (
        "creations",
        CompactArray(
            ("resource_type", Int8),
            ("resource_name", CompactString("utf-8")),
            ("resource_pattern_type", Int8),
            *_ACL,
        ),
    ),
    ("tags", TaggedFields),
)

_CREATE_V2, _CREATE_V3 = _flexible(30, "CreateAcls", _CREATE_RESULTS, _CREATIONS)


class _CreateAcls(Request[_CREATE_V2 | _CREATE_V3]):  # type: ignore[valid-type]
    API_KEY = 30

    def __init__(self, creations: list[Binding]) -> None:
        self._creations = creations

    def build(self, request_struct_class):  # type: ignore[no-untyped-def]
        rows = [
            (b.resource_type, b.name, b.pattern, f"User:{b.principal}", "*", b.operation, ALLOW, {})
            for b in self._creations
        ]
        return request_struct_class(rows, {})


_DESCRIBED = Schema(
    ("throttle_time_ms", Int32),
    ("error_code", Int16),
    ("error_message", CompactString("utf-8")),
    (
        "resources",
        CompactArray(
            ("resource_type", Int8),
            ("resource_name", CompactString("utf-8")),
            ("pattern_type", Int8),
            (
                "acls",
                CompactArray(*_ACL),
            ),
            ("tags", TaggedFields),
        ),
    ),
    ("tags", TaggedFields),
)

_FILTER = Schema(
    ("resource_type_filter", Int8),
    ("resource_name_filter", CompactString("utf-8")),
    ("pattern_type_filter", Int8),
    ("principal_filter", CompactString("utf-8")),
    ("host_filter", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
    ("tags", TaggedFields),
)

_DESCRIBE_V2, _DESCRIBE_V3 = _flexible(29, "DescribeAcls", _DESCRIBED, _FILTER)


ANY = 1


class _DescribeAllAcls(Request[_DESCRIBE_V2 | _DESCRIBE_V3]):  # type: ignore[valid-type]
    API_KEY = 29

    def build(self, request_struct_class):  # type: ignore[no-untyped-def]
        return request_struct_class(ANY, None, ANY, None, None, ANY, ANY, {})


async def described(admin: AIOKafkaAdminClient) -> set[Binding]:
    """The ALLOW bindings the broker's authorizer holds now (it answers from its own view)."""
    response = await admin._send_request(_DescribeAllAcls())
    out = set()
    for resource_type, name, pattern, entries, _ in response.resources:
        for principal, _host, operation, permission, _ in entries:
            if permission == ALLOW and principal.startswith("User:"):
                out.add(Binding(principal[5:], resource_type, name, pattern, operation))
    return out


class AclError(Exception):
    """The broker refused to create an ACL (e.g. the caller is not the administrator)."""


async def create_acls(
    bootstrap: str,
    wanted: list[Binding],
    auth: KafkaAuth | None = FROM_ENV,
    within: float = 30.0,
) -> int:
    """Create `wanted` as `auth` (the administrator); returns how many were sent."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, auth))
    await admin.start()
    try:
        response = await admin._send_request(_CreateAcls(wanted))
        failed = [r for r in response.results if r[0] != 0]
        if failed:
            codes = sorted({r[0] for r in failed})
            raise AclError(f"{len(failed)} of {len(wanted)} ACLs refused (error codes {codes})")
        # The controller has committed them; the broker applies them from the metadata log a
        # moment later. Return only once it does, so that a client started next is let in.
        deadline = asyncio.get_running_loop().time() + within
        while not set(wanted) <= await described(admin):
            if asyncio.get_running_loop().time() > deadline:
                raise AclError(f"the broker did not apply the ACLs within {within:.0f}s")
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    return len(wanted)


async def apply(bootstrap: str, prefix: str = "", auth: KafkaAuth | None = FROM_ENV) -> int:
    """Every binding of `bindings(prefix)`, created as `auth`."""
    return await create_acls(bootstrap, bindings(prefix), auth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="", help="topic prefix (tests)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    count = asyncio.run(apply(settings.kafka_bootstrap, args.prefix, settings.kafka_auth))
    names = (*KAFKA_PRINCIPALS, *map(partner_principal, partner_agencies()))
    print(f"ACLs in place: {count} bindings for {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
