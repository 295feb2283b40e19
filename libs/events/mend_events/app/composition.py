"""The one idiom for a service's application object in every app's composition root.

An app builds its projections, reactions and routes before anything starts, but its service
object needs the runtime's store, which exists only once the runtime has started; and the
consumers start (and may deliver) before the start hooks run. So the app declares how the
service is made, `ServiceOf(runtime, make)`, hands that callable to its reactions, and calls it
in its start hook: the object is made on first use, and made anew when the runtime was
restarted (a new store and pool)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI

from mend_events.app.runtime import ServiceRuntime
from mend_events.app.serve import service_app
from mend_events.app.settings import Settings

T = TypeVar("T")

__all__ = ["Built", "ServiceOf", "Wiring", "composition_root"]


class ServiceOf(Generic[T]):
    def __init__(self, runtime: ServiceRuntime, make: Callable[[ServiceRuntime], T]) -> None:
        self._runtime = runtime
        self._make = make
        self._made: T | None = None
        self._store: object | None = None

    def __call__(self) -> T:
        store = self._runtime.store
        assert store is not None, "the runtime has not started"
        if self._made is None or self._store is not store:
            self._made, self._store = self._make(self._runtime), store
        return self._made


@dataclass(frozen=True, slots=True)
class Wiring(Generic[T]):
    """What a service's `wire` hands back: how its service object is made, and what (if
    anything) must be started with it once the runtime runs (workers, guards)."""

    service_of: ServiceOf[T]
    then: Callable[[ServiceRuntime, T], Awaitable[None]] | None = None


Built = tuple[FastAPI, ServiceRuntime]


def composition_root(service: str, wire: Callable[..., Wiring[Any]]) -> Callable[..., Built]:
    """The `build` of a service's app.py, the same in every service: the runtime on its schema
    and topics and the app's HTTP edge (`service_app`), then `wire(app, runtime, **options)`
    (routes, projections, reactions: everything before anything starts), then, once the runtime
    has started, the service object, `then`, and `app.state.service` for the routes.

    `build(settings=None, *, schema=<service>, topic_prefix="", **options)` returns the app and
    its runtime; `app.state.service` exists once the runtime has started."""

    def build(
        settings: Settings | None = None,
        *,
        schema: str = service,
        topic_prefix: str = "",
        **options: Any,
    ) -> Built:
        app, runtime = service_app(service, settings, schema, topic_prefix, APIRouter())
        wiring = wire(app, runtime, **options)

        async def started(rt: ServiceRuntime) -> None:
            made = wiring.service_of()
            if wiring.then is not None:
                await wiring.then(rt, made)
            app.state.service = made

        runtime.on_start(started)
        return app, runtime

    build.__doc__ = f"The {service} service's app and runtime. " + (wire.__doc__ or "")
    return build
