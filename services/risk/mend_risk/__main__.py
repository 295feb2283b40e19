from mend_events.app.serve import run

from mend_risk.app import create

run("risk", create)
