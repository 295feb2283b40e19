"""The table of who consumes which event type in docs/architecture.md is the one the services'
reaction declarations generate, and the declarations are what the apps subscribe to."""

from __future__ import annotations

import importlib

from mend_events.app.settings import CIRCLES, DISCLOSURE, SERVICES, Settings

from tools import consumer_table


def test_the_documented_table_is_the_generated_one() -> None:
    documented = consumer_table.documented(consumer_table.DOC.read_text())
    assert documented == consumer_table.table(), "run `python -m tools.consumer_table --write`"


def test_every_subscription_of_the_apps_is_declared() -> None:
    settings = Settings(
        "127.0.0.1:1", "postgresql://x@127.0.0.1:1/x", "postgresql://x@127.0.0.1:1/x"
    )
    for service, declared in consumer_table.declarations().items():
        assert service in (*SERVICES, CIRCLES, DISCLOSURE)
        app_module = importlib.import_module(f"mend_{service}.app")
        _, runtime = app_module.build(settings, schema=service, topic_prefix="p.")
        subscribed = {(name, tuple(topics)) for name, topics, _, _ in runtime._subscriptions}
        assert subscribed == {
            (d.name, tuple(f"p.{s}.events.v1" for s in d.sources)) for d in declared
        }
