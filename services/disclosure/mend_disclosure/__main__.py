from mend_events.app.serve import run

from mend_disclosure.app import create

run("disclosure", create)
