from mend_events.serve import run

from mend_aftercare.app import create

run("aftercare", create)
