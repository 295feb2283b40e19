-- An idempotency key is bound to the first request it came with: the stream it wrote to, a
-- digest of the request (route, path ids, body) and the stream's version before it. A later
-- request with the same key and another digest or stream is refused, never silently dropped.
-- The key is stored only as a uuid5 of agency, actor and key; the digest is one-way. Bound by
-- the writer just before it appends (one statement per batch that carries keys): a key bound
-- by a request whose append then failed only lets the same request through again.
CREATE TABLE IF NOT EXISTS {schema}.idempotency_keys (
    key_id uuid PRIMARY KEY,
    stream_id text NOT NULL,
    request text NOT NULL,
    after_version integer NOT NULL,
    bound_at timestamptz NOT NULL DEFAULT now()
);
