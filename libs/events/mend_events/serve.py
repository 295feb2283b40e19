"""Run a service as its own process: `python -m mend_<service> --port N`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from mend_events.logging import configure_logging
from mend_events.settings import DEFAULT_PORTS


def run(service: str, make_app: Callable[[], FastAPI]) -> None:
    parser = argparse.ArgumentParser(prog=f"mend_{service}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORTS[service])
    args = parser.parse_args()
    configure_logging(service)
    # log_config=None: uvicorn's loggers go through our scrubbing processors too.
    uvicorn.run(
        make_app(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
