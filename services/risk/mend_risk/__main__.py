from mend_events.serve import run

from mend_risk.app import create

run("risk", create)
