"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps), one step of clock
drift either side. A code is accepted once: the step it belongs to must be later than the last
step accepted for the account, so a code seen over someone's shoulder cannot be replayed."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "Mend"
STEP = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length


def provisioning_uri(secret: str, account_label: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code). The label is the person's
    pseudonymous id: the app shows it, and it names nobody."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(
        name=account_label, issuer_name=ISSUER
    )


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step `code` belongs to if it is valid now and later than `last_step`, else None.
    Every candidate is compared in constant time, whether or not an earlier one matched."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    step_now = totp.timecode(now)
    found: int | None = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        step = step_now + offset
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code) and (last_step is None or step > last_step):
            found = step if found is None else found
    return found
