"""Event contracts: one frozen pydantic model per event type and schema version, a registry, and
upcasters that lift stored data from older schema versions to the current one.

Events are immutable facts in the past tense. Their data holds pseudonymous ids, codes and dates;
never names, contact details or narratives in clear (R8): free text travels only as a `Sealed`
value (see `mend_events.security.crypto`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mend_events.errors import MendError


class Sealed(BaseModel):
    """AES-256-GCM ciphertext of a personal field, under the data key of the person it belongs to.
    Unreadable for ever once that key is destroyed (erasure), while the history still verifies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alg: Literal["A256GCM"] = "A256GCM"
    kid: str
    iv: str
    ct: str


# A personal free-text field: plain `str` inside the domain, `Sealed` once stored (crypto/).
PersonalText = str | Sealed


class DomainEvent(BaseModel):
    """Base of every event model. Subclasses set `event_type` and `schema_version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Fields typed `PersonalText` that hold personal data; the store seals them before writing.
    personal_fields: ClassVar[tuple[str, ...]] = ()
    # The field naming the person whose data key seals them (default: the acting person).
    personal_owner: ClassVar[str | None] = None

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False)


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEvent(MendError):
    code = "unknown_event"


class InvalidEvent(MendError):
    """Stored or consumed data that its contract refuses. `problems` holds (kind, field path)
    pairs: pydantic's error type and location, never its message or input (they may quote the
    value, and the value may be personal)."""

    code = "invalid_event"

    def __init__(
        self,
        reason: str,
        field: str | None = None,
        problems: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(reason, field=field)
        self.problems = problems or ((self.code, field or ""),)


def validation_problems(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """(kind, field path) of each error: an unexpected key is named `*`, since a key the sender
    chose is input as much as a value is."""
    out = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        if error["type"] == "extra_forbidden" and loc:
            loc[-1] = "*"
        out.append((str(error["type"]), ".".join(loc)))
    return tuple(out)


class Registry:
    """Maps (event type) to its current model, and (type, version) to an upcaster to version+1."""

    def __init__(self) -> None:
        self._models: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: E) -> E:
        existing = self._models.get(model.event_type)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {model.event_type} registered twice")
        self._models[model.event_type] = model
        return model

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def wrap(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return wrap

    def model(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEvent(f"unknown event type {event_type!r}", field="type") from None

    def knows(self, event_type: str) -> bool:
        return event_type in self._models

    def types(self) -> list[str]:
        return sorted(self._models)

    def upcast(self, event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
        model = self.model(event_type)
        if schema_version > model.schema_version:
            raise InvalidEvent(
                f"{event_type} schema version {schema_version} is newer than this reader's "
                f"{model.schema_version}",
                field="schema_version",
            )
        version = schema_version
        while version < model.schema_version:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise InvalidEvent(
                    f"no upcaster for {event_type} v{version}", field="schema_version"
                )
            data = step(data)
            version += 1
        return data

    def decode(self, event_type: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
        model = self.model(event_type)
        try:
            return model.model_validate(self.upcast(event_type, schema_version, data))
        except ValidationError as exc:
            problems = validation_problems(exc)
            kinds = "; ".join(f"{kind} at {path or '(event)'}" for kind, path in problems)
            raise InvalidEvent(
                f"{event_type}: {kinds}", field=problems[0][1] or None, problems=problems
            ) from None

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        return {t: m.model_json_schema() for t, m in sorted(self._models.items())}


# One registry for the whole platform: every service's events register here from their module in
# `mend_events.contracts.catalog`, and every service reads the others' events through the same
# contracts.
registry = Registry()
