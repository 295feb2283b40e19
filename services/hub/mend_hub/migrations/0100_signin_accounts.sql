-- The embedded sign-in's tables (mend_hub.signin). Credentials live here only: login names as
-- keyed hashes (HMAC), passwords as argon2id hashes, TOTP secrets and signing keys sealed under
-- the agency's key-encryption key, tokens, codes and challenges as SHA-256 digests.

CREATE TABLE IF NOT EXISTS {schema}.signin_accounts (
    agency          text        NOT NULL,
    person_id       text        NOT NULL,
    role            text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('staff', 'participant')),
    login_lookup    bytea       NOT NULL,
    password_hash   text        NOT NULL,
    totp_sealed     bytea,               -- confirmed second factor
    totp_pending    bytea,               -- enrolled, awaiting its first code
    totp_last_step  bigint,              -- the last step accepted: no code is used twice
    failures        integer     NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (agency, person_id),
    UNIQUE (agency, login_lookup)
);

-- A password accepted, waiting for the second factor (or for its enrolment).
CREATE TABLE IF NOT EXISTS {schema}.signin_challenges (
    digest      bytea       PRIMARY KEY,
    agency      text        NOT NULL,
    person_id   text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    FOREIGN KEY (agency, person_id) REFERENCES {schema}.signin_accounts ON DELETE CASCADE
);

-- One family per sign-in: each refresh replaces its token; reusing a replaced one revokes all.
CREATE TABLE IF NOT EXISTS {schema}.signin_refresh_families (
    family      uuid        PRIMARY KEY,
    agency      text        NOT NULL,
    person_id   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    FOREIGN KEY (agency, person_id) REFERENCES {schema}.signin_accounts ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS signin_refresh_families_person
    ON {schema}.signin_refresh_families (agency, person_id);

CREATE TABLE IF NOT EXISTS {schema}.signin_refresh_tokens (
    digest      bytea       PRIMARY KEY,
    family      uuid        NOT NULL REFERENCES {schema}.signin_refresh_families ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,    -- idle limit, never past the family's absolute limit
    used_at     timestamptz
);

-- The Ed25519 keys the hub signs an agency's tokens with; the public half is AgencyKeyAdded,
-- and whether a key still signs or verifies is the hub's events' say (AgencyKeyRetired).
CREATE TABLE IF NOT EXISTS {schema}.signin_keys (
    kid             text        PRIMARY KEY,
    agency          text        NOT NULL,
    public_pem      text        NOT NULL,
    sealed_private  bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    -- the order keys were made in (two made in one instant still have an order: newest signs)
    seq             bigint      GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX IF NOT EXISTS signin_keys_agency ON {schema}.signin_keys (agency, seq);

CREATE TABLE IF NOT EXISTS {schema}.signin_invitations (
    digest       bytea       PRIMARY KEY,
    agency       text        NOT NULL,
    person_id    text        NOT NULL,
    role         text        NOT NULL,
    invited_by   text        NOT NULL,
    expires_at   timestamptz NOT NULL,
    redeemed_at  timestamptz
);

GRANT SELECT, INSERT, UPDATE, DELETE ON
    {schema}.signin_accounts, {schema}.signin_challenges, {schema}.signin_refresh_families,
    {schema}.signin_refresh_tokens, {schema}.signin_keys, {schema}.signin_invitations
TO mend_app;
