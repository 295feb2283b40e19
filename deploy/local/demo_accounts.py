"""The demo agency on the running platform: one local-sign-in agency with a coordinator and two
practitioners, their accounts opened (mend_hub.demo.set_up_demo, through the hub's HTTP API as
the deployment's operator, whose development token is minted from `MEND_KEYS_DIR`). The
passwords and TOTP secrets go to `$MEND_HOME/demo-accounts.txt` (mode 600) only; this prints how
to sign in. With the web app installed, the demo cases too (mend_web.demo_cases: opened and
allocated to the first demo practitioner, so their work queue shows them). Run by `make up`
(deploy/local/launcher.py) after the smoke check; run again, it leaves a working demo as it is.
Refused with MEND_ENV=production."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
from pathlib import Path

import httpx
from mend_events.app.settings import service_url
from mend_hub.demo import DemoFailed, DemoRefused, how_to_sign_in, set_up_demo
from mend_testkit.devkeys import issue_token

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = ("mend-ops", "operator", "ops-demo01")  # the deployment's operating agency


async def main(accounts_file: Path) -> int:
    keys = os.environ.get("MEND_KEYS_DIR")
    operator = {"Authorization": "Bearer " + issue_token(*OPERATOR, keys_dir=keys)}
    hub = service_url("hub")
    try:
        async with httpx.AsyncClient(base_url=hub, timeout=30) as client:
            demo = await set_up_demo(client, operator, accounts_file, hub_url=hub)
    except (DemoRefused, DemoFailed, httpx.HTTPError) as exc:
        print(f"mend: {exc}", file=sys.stderr)
        return 1
    web = service_url("web") if importlib.util.find_spec("mend_web") else None
    print(how_to_sign_in(demo, hub, web))
    await demo_cases(accounts_file)
    return 0


async def demo_cases(accounts_file: Path) -> None:
    """The web app's demo cases; a refusal is reported, and `make up` goes on (the accounts
    work without them; each TOTP step signs in once, so a run a minute later succeeds)."""
    try:
        from mend_web.demo_cases import DemoCasesFailed, set_up_cases
    except ImportError:  # no web app in this checkout
        return
    names = ("hub", "sessions", "risk")
    clients = {n: httpx.AsyncClient(base_url=service_url(n), timeout=30) for n in names}
    try:
        ids = await set_up_cases(clients, accounts_file)
        print(f"demo cases (allocated to the first demo practitioner): {', '.join(ids)}")
    except (DemoCasesFailed, httpx.HTTPError) as exc:
        print(f"mend: {exc}", file=sys.stderr)
    finally:
        for client in clients.values():
            await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    home = Path(os.environ.get("MEND_HOME") or ROOT / ".mend")
    parser.add_argument("--file", type=Path, default=home / "demo-accounts.txt",
                        help="where the demo passwords and TOTP secrets go (mode 600)")  # fmt: skip
    sys.exit(asyncio.run(main(parser.parse_args().file)))
