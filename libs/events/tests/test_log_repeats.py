"""A broker restart makes the Kafka client repeat its connection errors many times a second
(6,173 lines in 2.5 minutes once): each kind comes out once per interval, and the next line
says how many were folded into it."""

from __future__ import annotations

import io
import logging

from mend_events.app.logging import Repeats, configure_logging


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_warning_is_one_line_per_interval_with_a_count():
    clock = Clock()
    out = io.StringIO()
    logger = logging.getLogger("aiokafka.test-repeats")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.addFilter(Repeats(interval=30.0, clock=clock))
    try:
        for _ in range(1000):
            logger.error("Unable connect to node with id %s: %s", 1, "refused")
            clock.now += 0.01  # 1,000 in 10 seconds
        logger.warning("another kind of trouble")  # a different template: its own line
        clock.now = 31.0
        logger.error("Unable connect to node with id %s: %s", 1, "refused")
        logger.info("Unable connect to node with id %s: %s", 1, "refused")  # INFO passes
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines == [
        "Unable connect to node with id 1: refused",
        "another kind of trouble",
        "Unable connect to node with id 1: refused (and 999 more like it)",
        "Unable connect to node with id 1: refused",
    ]


def test_the_services_logging_folds_the_kafka_clients_repeats():
    out = io.StringIO()
    configure_logging("test", stream=out)
    try:
        conn = logging.getLogger("aiokafka.conn")  # a child: the handler's filter holds it
        for _ in range(50):
            conn.error("Unable connect to node with id %s: %s", 1, "refused")
        logging.getLogger("mend.other").error("ours %s", 1)
        logging.getLogger("mend.other").error("ours %s", 1)  # not Kafka's: never folded
    finally:
        configure_logging("test", stream=io.StringIO())
    lines = out.getvalue().splitlines()
    assert sum("Unable connect" in line for line in lines) == 1, lines
    assert sum("ours 1" in line for line in lines) == 2, lines
