-- Case notes' attachments (mend_sessions.notes), content-addressed: one row per digest (the
-- SHA-256 of the content) per case and key owner, the content itself only sealed (AES-256-GCM
-- under the owner's data key, as every personal field is): no file in clear anywhere. Erasing
-- the owner's keys makes the row unreadable while it stays in place.
CREATE TABLE IF NOT EXISTS {schema}.note_attachments (
    case_id     text        NOT NULL,
    digest      text        NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    key_owner   text        NOT NULL,
    agency      text        NOT NULL,
    media_type  text        NOT NULL,
    size        integer     NOT NULL,
    sealed      jsonb       NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, digest, key_owner)
);
GRANT SELECT, INSERT ON {schema}.note_attachments TO mend_app;
