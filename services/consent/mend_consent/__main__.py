from mend_events.app.serve import run

from mend_consent.app import create

run("consent", create)
