"""The one idiom for a service's application object in every app's composition root.

An app builds its projections, reactions and routes before anything starts, but its service
object needs the runtime's store, which exists only once the runtime has started; and the
consumers start (and may deliver) before the start hooks run. So the app declares how the
service is made, `ServiceOf(runtime, make)`, hands that callable to its reactions, and calls it
in its start hook: the object is made on first use, and made anew when the runtime was
restarted (a new store and pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from mend_events.app.runtime import ServiceRuntime

T = TypeVar("T")

__all__ = ["ServiceOf"]


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
