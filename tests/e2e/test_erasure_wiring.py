"""Every service that may hold a person's data keys applies erasure requests: its subscription to
the consent topic destroys the keys in the inbox transaction
(mend_events.security.erasure.shredding).
The behaviour itself is tested end to end in services/consent/tests/test_erasure.py."""

from __future__ import annotations

import pytest
from mend_aftercare.app import build as build_aftercare
from mend_circles.app import build as build_circles
from mend_events.app.settings import Settings, events_topic
from mend_events.security.erasure import OWNER
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions


@pytest.mark.parametrize("build", [build_risk, build_sessions, build_aftercare, build_circles])
def test_every_other_service_applies_erasures_from_the_consent_topic(build) -> None:
    _, runtime = build(Settings.from_env(), schema="unused")
    consuming = [
        handler for _, topics, handler, _ in runtime._subscriptions if events_topic(OWNER) in topics
    ]
    assert consuming and all(getattr(h, "applies_erasures", False) for h in consuming)
