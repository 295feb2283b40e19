"""The hub's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field

DEFAULT_OPERATOR_AGENCY = "mend-ops"


class HubSettings(MendSettings):
    """`python -m mend_hub`."""

    PROCESS: ClassVar[str] = "hub"
    hub_operator_agency: str = Field(
        DEFAULT_OPERATOR_AGENCY,
        min_length=1,
        description="the agency whose `operator`s govern agencies at the hub (onboarding, "
        "suspension, first coordinators)",
    )
    smtp_host: str = Field(
        "",
        description="the SMTP server participants' opted-in reminders go through (issue 20); "
        "empty: no e-mail is sent (staff notices are read in the app)",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="its port")
    smtp_starttls: bool = Field(
        False,
        description="STARTTLS before anything is sent, the server's certificate chain and name "
        "verified (a recipient's address is personal data); refused if the server offers none",
    )
    smtp_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA(s) the SMTP server's certificate must chain to (with "
        "`MEND_SMTP_STARTTLS`); unset: the system's trust store",
    )
    notify_from: str = Field(
        "no-reply@mend.invalid",
        min_length=3,
        description="the sender address of reminders (one neutral sentence, never case content)",
    )
    notify_interval_s: float = Field(
        30, gt=0, description="seconds between passes of the reminder and notice deliverer"
    )
