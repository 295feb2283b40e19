-- The event store of one service: `{schema}` is the service's schema.
-- One table is both the record and the outbox; the relay tails it by global position.
CREATE TABLE IF NOT EXISTS {schema}.events (
    global_position bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    case_id         text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    PRIMARY KEY (stream_id, stream_version)
);
-- No index on case_id: every stream is one case, so the primary key serves case reads.
