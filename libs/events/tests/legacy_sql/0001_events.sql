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
-- No index on case_id: every stream is one case, so the primary key serves case reads.

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

-- Append a batch of requests (group commit). The caller computed each row's version and hash
-- chain from the stream heads it knows; under the table lock this function checks, for the
-- first request of each stream in the batch, that the stored head is still that version and
-- hash, and refuses the stream's requests otherwise ('conflict', with the stored head). A
-- request whose event ids exist already is a 'duplicate' (a retry). Accepted rows are written
-- by one INSERT, so global positions follow commit order and a tailing reader never skips a
-- row that commits later. Rows arrive as parallel arrays; p_req[k] is row k's request. Data
-- and metadata arrive as the canonical JSON text the hashes were computed over.
CREATE FUNCTION {schema}.append_batch(
    p_stream text[], p_expected integer[], p_prev_hash bytea[],
    p_req integer[], p_version integer[], p_event_id uuid[], p_type text[],
    p_schema smallint[], p_case text[], p_data text[], p_meta text[], p_recorded timestamptz,
    p_prev bytea[], p_hash bytea[]
) RETURNS TABLE (req integer, status text, event_id uuid, global_position bigint,
                 stream_version integer, head_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_dups     uuid[];
    v_refused  text[] := '{}';
    v_checked  text[] := '{}';
    v_accepted integer[] := '{}';
    v_ver      integer;
    v_hash     bytea;
    i integer;
BEGIN
    LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
    SELECT coalesce(array_agg(e.event_id), '{}') INTO v_dups
      FROM {schema}.events e WHERE e.event_id = ANY (p_event_id);
    FOR i IN 1 .. coalesce(array_length(p_stream, 1), 0) LOOP
        IF cardinality(v_dups) > 0 AND EXISTS (
            SELECT 1 FROM unnest(p_req, p_event_id) AS r(q, id)
             WHERE r.q = i AND r.id = ANY (v_dups)) THEN
            req := i; status := 'duplicate'; event_id := NULL; global_position := NULL;
            stream_version := NULL; head_hash := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_stream[i] = ANY (v_refused) THEN
            req := i; status := 'conflict'; event_id := NULL; global_position := NULL;
            stream_version := NULL; head_hash := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT p_stream[i] = ANY (v_checked) THEN
            v_checked := v_checked || p_stream[i];
            SELECT e.stream_version, e.hash INTO v_ver, v_hash
              FROM {schema}.events e WHERE e.stream_id = p_stream[i]
             ORDER BY e.stream_version DESC LIMIT 1;
            IF NOT FOUND THEN
                v_ver := 0;
                v_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
            END IF;
            IF v_ver <> p_expected[i] OR v_hash <> p_prev_hash[i] THEN
                v_refused := v_refused || p_stream[i];
                req := i; status := 'conflict'; event_id := NULL; global_position := NULL;
                stream_version := v_ver; head_hash := v_hash;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        v_accepted := v_accepted || i;
    END LOOP;
    RETURN QUERY
    WITH written AS (
        INSERT INTO {schema}.events AS e (stream_id, stream_version, event_id, event_type,
            schema_version, case_id, data, metadata, recorded_at, prev_hash, hash)
        SELECT p_stream[r.q], r.ver, r.id, r.typ, r.sv, r.cid, r.dat::jsonb, r.met::jsonb, p_recorded,
               r.prv, r.hsh
          FROM unnest(p_req, p_version, p_event_id, p_type, p_schema, p_case, p_data, p_meta,
                      p_prev, p_hash) WITH ORDINALITY
               AS r(q, ver, id, typ, sv, cid, dat, met, prv, hsh, ord)
         WHERE r.q = ANY (v_accepted)
         ORDER BY r.ord
        RETURNING e.event_id, e.global_position, e.stream_version
    )
    SELECT NULL::integer, 'ok'::text, w.event_id, w.global_position, w.stream_version,
           NULL::bytea
      FROM written w;
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
