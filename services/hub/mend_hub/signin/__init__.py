"""The hub's embedded sign-in for a small hub: local accounts (argon2id passwords, TOTP), lockout,
short-lived Ed25519 access tokens signed with the agency's key and rotating refresh tokens, and
participants' accounts opened with one-time activation codes.

Modules: `passwords` (argon2id), `vault` (secrets sealed under the agency's KEK, login names as
keyed hashes), `totp`, `keys` (signing keys, access tokens), `refresh` (refresh families and
second-factor challenges), `accounts`, `invitations`, `limits` (lockout, per-address limit),
`standing` (the hub's own events: deactivated staff, suspended agencies), `journal` (the
sign-in's events), `flows` (sign-in, second factor, refresh, sign-out), `enrolment` (codes,
redeem, TOTP enrolment, unlock, signing keys), `access`, `api`, `wiring` (`SignIn`: the object
the hub app holds as `app.state.signin`)."""
