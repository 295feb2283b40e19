-- The disclosure gateway's state (issue 18). The share grants, the partners' keys, the
-- erasures and the consumer's positions are projections of the five topics (rebuilt by
-- replaying them); the candidates are what waits for its hold; the ledger is the record of
-- what left Mend, append-only and hash-chained; the outbox is what the share relay publishes.

CREATE TABLE {schema}.share_grants (
    grant_id        uuid PRIMARY KEY,
    grant_version   integer NOT NULL,      -- the consent stream's version of its ConsentGiven
    case_id         text NOT NULL,
    participant_id  text NOT NULL,
    agency          text NOT NULL,
    terms           jsonb,                 -- NULL: a v1 share grant, which shares nothing
    given_at        timestamptz NOT NULL,
    ended_at        timestamptz,
    ended_by        text,                  -- withdrawn | lapsed | invalidated | erased
    end_event_id    uuid
);
CREATE INDEX share_grants_case ON {schema}.share_grants (case_id, participant_id);
CREATE INDEX share_grants_person ON {schema}.share_grants (participant_id);

CREATE TABLE {schema}.partner_keys (
    agency      text NOT NULL,
    kid         text NOT NULL,
    public_key  text NOT NULL,             -- X25519, raw, unpadded base64url
    set_at      timestamptz NOT NULL,
    PRIMARY KEY (agency, kid)
);

-- Where the consumer stands on each partition of the topics it reads (the next offset to
-- apply), written in the inbox transaction: the withdrawal barrier compares it with the
-- consent topic's high-water marks.
CREATE TABLE {schema}.consumed_positions (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- Events that a partner may receive, held until their hold has passed and the consent topic
-- has been read up to the high-water marks read after that (`barrier`).
CREATE TABLE {schema}.candidates (
    event_id     uuid PRIMARY KEY,
    event_type   text NOT NULL,
    source       text NOT NULL,
    case_id      text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    data         jsonb NOT NULL,
    arrived_at   timestamptz NOT NULL DEFAULT now(),
    barrier      jsonb                    -- {"<partition>": high-water mark}, once read
);
CREATE INDEX candidates_due ON {schema}.candidates (occurred_at);

-- The ledger: one row per disclosure, notice and partner read. Field paths, never values.
CREATE TABLE {schema}.disclosure_ledger (
    position             bigint PRIMARY KEY,
    entry_id             uuid NOT NULL UNIQUE,
    kind                 text NOT NULL,   -- disclosure | withdrawal_notice | erasure_notice | partner_read
    recorded_at          timestamptz NOT NULL,
    recipient_agency     text NOT NULL,
    recipient_principal  text NOT NULL,
    case_id              text,
    subjects             text[] NOT NULL,
    event_ids            uuid[] NOT NULL,
    field_paths          text[] NOT NULL,
    digest               bytea,           -- sha256 of the bytes disclosed
    grant_id             uuid,
    grant_version        integer,
    purpose              text,
    legal_basis          text,
    prev_hash            bytea NOT NULL,
    hash                 bytea NOT NULL
);
CREATE INDEX disclosure_ledger_subjects ON {schema}.disclosure_ledger USING gin (subjects);

CREATE OR REPLACE FUNCTION {schema}.ledger_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the disclosure ledger is append-only: % refused on %.disclosure_ledger',
        TG_OP, TG_TABLE_SCHEMA USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON {schema}.disclosure_ledger
    FOR EACH ROW EXECUTE FUNCTION {schema}.ledger_is_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON {schema}.disclosure_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.ledger_is_append_only();

-- What the share relay publishes, written in the ledger row's transaction.
CREATE TABLE {schema}.share_outbox (
    position         bigserial PRIMARY KEY,
    agency           text NOT NULL,
    message_key      text NOT NULL,
    payload          bytea NOT NULL,
    ledger_position  bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Mend's copy of what each partner was given (the minimised fields, never personal text): what
-- a partner's practitioner reads through GET /cases/{case}/shared while the grant stands.
CREATE TABLE {schema}.shared_copies (
    share_id     uuid PRIMARY KEY,
    agency       text NOT NULL,
    case_id      text NOT NULL,
    subject_id   text NOT NULL,
    grant_id     uuid NOT NULL,
    event_id     uuid NOT NULL,
    event_type   text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    data         jsonb NOT NULL
);
CREATE INDEX shared_copies_case ON {schema}.shared_copies (case_id, agency);

GRANT SELECT, INSERT, DELETE ON {schema}.shared_copies TO mend_app;
GRANT SELECT, INSERT, UPDATE ON {schema}.share_grants, {schema}.partner_keys,
    {schema}.consumed_positions TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.candidates, {schema}.share_outbox TO mend_app;
GRANT USAGE ON SEQUENCE {schema}.share_outbox_position_seq TO mend_app;
GRANT SELECT, INSERT ON {schema}.disclosure_ledger TO mend_app;
