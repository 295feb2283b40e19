-- Each projection's position, written in the same transaction as its rows.
CREATE TABLE IF NOT EXISTS {schema}.projection_tracking (
    projection  text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
