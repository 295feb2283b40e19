-- Where the relay has published up to (moved only after the broker's ack).
CREATE TABLE IF NOT EXISTS {schema}.relay_checkpoint (
    topic       text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
