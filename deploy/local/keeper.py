"""Keeps one service process running for the local launcher (`make up`).

It starts the service as its child, and when the service dies (a crash, kill -9, an exit of its
own) starts it again after a back-off: 1 s, doubling up to 30 s, and back to 1 s once a run has
lasted a minute (a service that keeps failing at start-up does not spin). Every restart is
recorded in `<run>/<name>.state` (JSON: how many restarts, the last exit code or signal, when),
which `make status` reports; the service's pid is in `<run>/<name>.pid` as before. SIGTERM (or
SIGINT) stops the service with SIGTERM, waits for it (its own grace period) and ends the keeper
without a restart.

    keeper.py NAME RUN_DIR -- COMMAND...
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0
STABLE_AFTER = 60.0  # seconds a run must last for the back-off to start again at FIRST_BACKOFF


def describe_exit(code: int) -> str:
    """`-9` -> `SIGKILL`; an exit code as itself."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return str(code)


class Keeper:
    def __init__(self, name: str, run: Path, command: list[str]) -> None:
        self.name, self.run, self.command = name, run, command
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.state = {"restarts": 0, "last_exit": None, "last_exit_at": None, "backoff": 0.0}

    def on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def save(self) -> None:
        path = self.run / f"{self.name}.state"
        tmp = path.with_suffix(".state.tmp")
        tmp.write_text(json.dumps(self.state))
        tmp.replace(path)  # `status` never reads half a file

    def say(self, text: str) -> None:
        # Into the service's log (the keeper's stdout), where its last lines are.
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{stamp} keeper: {self.name} {text}", flush=True)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)

    def keep(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        pid_file = self.run / f"{self.name}.pid"
        backoff = FIRST_BACKOFF
        self.save()
        while not self.stopping:
            began = time.monotonic()
            self.child = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)
            pid_file.write_text(str(self.child.pid))
            code = self.child.wait()
            if self.stopping:
                break
            if time.monotonic() - began >= STABLE_AFTER:
                backoff = FIRST_BACKOFF
            self.state.update(
                restarts=self.state["restarts"] + 1,
                last_exit=describe_exit(code),
                last_exit_at=datetime.now(UTC).isoformat(timespec="seconds"),
                backoff=backoff,
            )
            self.save()
            self.say(f"exited ({describe_exit(code)}); starting it again in {backoff:g} s")
            self.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        pid_file.unlink(missing_ok=True)
        return 0


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: keeper.py NAME RUN_DIR -- COMMAND...", file=sys.stderr)
        return 2
    return Keeper(argv[0], Path(argv[1]), argv[3:]).keep()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
