-- The event store of one service: `{schema}` is the service's schema.
-- One table is both the record and the outbox; the relay tails it by global position.
CREATE TABLE {schema}.events (
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
CREATE INDEX events_case_idx ON {schema}.events (case_id, global_position);

-- Nothing is erased from history (R7): no UPDATE, DELETE or TRUNCATE, for anyone whose
-- triggers fire. The application role lacks the privileges too; this is the second wall.
CREATE FUNCTION {schema}.events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused on %.events', TG_OP, TG_TABLE_SCHEMA
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON {schema}.events
    FOR EACH ROW EXECUTE FUNCTION {schema}.events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {schema}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_are_immutable();

-- The text a row's hash covers. The verifier recomputes it from the same columns, so a
-- changed byte anywhere breaks the chain at that row. jsonb's text form is canonical.
CREATE FUNCTION {schema}.event_digest_input(
    p_stream text, p_version integer, p_event_id uuid, p_type text, p_schema smallint,
    p_case text, p_data jsonb, p_meta jsonb, p_recorded timestamptz
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(
        p_stream || '|' || p_version || '|' || p_event_id || '|' || p_type || '|' || p_schema
        || '|' || p_case || '|' || p_data::text || '|' || p_meta::text || '|'
        || to_char(p_recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'UTF8')
$$;

-- Append a batch of requests (group commit). Request i covers rows p_first[i] .. p_first[i] +
-- p_count[i] - 1 and expects its stream at version p_expected[i]. Under the table lock global
-- positions are assigned in commit order, so a reader tailing by position never skips a row
-- that commits later. Returns one row per written event ('ok'), or one row per refused request
-- ('conflict' with the stream's current version, or 'duplicate' when its event ids exist).
CREATE FUNCTION {schema}.append_batch(
    p_stream text[], p_expected integer[], p_case text[], p_first integer[], p_count integer[],
    p_event_id uuid[], p_type text[], p_schema smallint[], p_data jsonb[], p_meta jsonb[]
) RETURNS TABLE (req integer, status text, global_position bigint, stream_version integer,
                 recorded_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now  timestamptz;
    v_ver  integer;
    v_hash bytea;
    v_prev bytea;
    v_pos  bigint;
    i integer;
    j integer;
BEGIN
    LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
    v_now := clock_timestamp();
    FOR i IN 1 .. coalesce(array_length(p_stream, 1), 0) LOOP
        IF EXISTS (SELECT 1 FROM {schema}.events e
                   WHERE e.event_id = ANY (p_event_id[p_first[i] : p_first[i] + p_count[i] - 1])) THEN
            req := i; status := 'duplicate'; global_position := NULL; stream_version := NULL;
            recorded_at := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT e.stream_version, e.hash INTO v_ver, v_hash
          FROM {schema}.events e WHERE e.stream_id = p_stream[i]
         ORDER BY e.stream_version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_ver := 0;
            v_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        END IF;
        IF v_ver <> p_expected[i] THEN
            req := i; status := 'conflict'; global_position := NULL; stream_version := v_ver;
            recorded_at := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        FOR j IN p_first[i] .. p_first[i] + p_count[i] - 1 LOOP
            v_ver := v_ver + 1;
            v_prev := v_hash;
            v_hash := sha256(v_prev || {schema}.event_digest_input(
                p_stream[i], v_ver, p_event_id[j], p_type[j], p_schema[j], p_case[i],
                p_data[j], p_meta[j], v_now));
            INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type,
                schema_version, case_id, data, metadata, recorded_at, prev_hash, hash)
            VALUES (p_stream[i], v_ver, p_event_id[j], p_type[j], p_schema[j], p_case[i],
                p_data[j], p_meta[j], v_now, v_prev, v_hash)
            RETURNING {schema}.events.global_position INTO v_pos;
            req := i; status := 'ok'; global_position := v_pos; stream_version := v_ver;
            recorded_at := v_now;
            RETURN NEXT;
        END LOOP;
    END LOOP;
    -- A wake-up for tailing relays, delivered at commit; polling remains the truth.
    PERFORM pg_notify('{schema}_events', '');
END $$;

-- Where the relay has published up to (moved only after the broker's ack).
CREATE TABLE {schema}.relay_checkpoint (
    topic       text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events from other services already applied: at-least-once delivery, exactly-once effect.
CREATE TABLE {schema}.inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    source       text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Each projection's position, written in the same transaction as its rows.
CREATE TABLE {schema}.projection_tracking (
    projection  text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
