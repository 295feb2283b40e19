"""`python -m mend_web --port 8107`: the web app as its own process (the launcher starts it)."""

import argparse
import os

import uvicorn
from mend_events.app.logging import configure_logging

from mend_web.app import create
from mend_web.settings import DEFAULT_PORT

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="mend_web")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    configure_logging("web")
    # Proxy headers as uvicorn reads them by default (from FORWARDED_ALLOW_IPS only, 127.0.0.1
    # unless set): behind a reverse proxy the browser's address is what the hub's attempt
    # limit counts. No access log: paths name cases.
    uvicorn.run(
        create(),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
