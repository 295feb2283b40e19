from mend_events.serve import run

from mend_consent.app import create

run("consent", create)
