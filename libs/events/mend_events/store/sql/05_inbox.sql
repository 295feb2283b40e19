-- Events from other services already applied: at-least-once delivery, exactly-once effect.
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    source       text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
