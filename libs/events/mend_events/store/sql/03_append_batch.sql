-- Append a batch of requests (group commit: mend_events/store/writer.py). The caller computed
-- each row's version and hash chain from the stream heads it knows. Under the table lock, a
-- request with an event id already stored is a 'duplicate' (a retry); each stream's first
-- other request is checked against the stored head (version and hash), and on a mismatch that
-- request and the stream's later ones are refused ('conflict', the first carrying the stored
-- head); the rest are written by one INSERT, in batch order, so global positions follow commit
-- order and a tailing reader never skips a row that commits later. Rows arrive as parallel
-- arrays; p_req[k] is row k's request. Data and metadata arrive as the canonical JSON text the
-- hashes were computed over.
--
-- The function decides and writes a batch in one statement, planned once per session. It only
-- ever reaches the events table by key, so it forbids the planner any other way: with
-- sequential scans, hash and merge joins off, the plan it keeps uses the indexes whatever the
-- table's size was when it was made (measured flat from 0 to 32k rows; a cached plan without
-- these settings went from 5 to 12 ms per batch over the same rows; planning every statement
-- afresh instead cost about 0.5 ms per 16-request batch). tests/test_store.py checks the plan
-- at 20k rows.
--
-- Almost every batch has no retry and only current heads: one small statement checks that
-- (both by index), and one plain INSERT writes it. Only a batch that fails the check runs the
-- full statement that decides each request. Measured on the server (a loop of 300 one-event
-- calls): the full statement alone cost 100-170 us a call, the check and the insert together
-- about a third of it; a single append's whole server time was three times a plain insert's.
CREATE OR REPLACE FUNCTION {schema}.append_batch(
    p_stream text[], p_expected integer[], p_prev_hash bytea[],
    p_req integer[], p_version integer[], p_event_id uuid[], p_type text[],
    p_schema smallint[], p_case text[], p_data text[], p_meta text[], p_recorded timestamptz,
    p_prev bytea[], p_hash bytea[]
) RETURNS TABLE (req integer, status text, event_id uuid, global_position bigint,
                 stream_version integer, head_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM {schema}.events e WHERE e.event_id = ANY (p_event_id))
       AND NOT EXISTS (  -- each stream's first request expects the stored head
        SELECT 1 FROM (SELECT DISTINCT ON (r.s) r.s, r.ex, r.ph
                         FROM unnest(p_stream, p_expected, p_prev_hash) WITH ORDINALITY
                              AS r(s, ex, ph, i)
                        ORDER BY r.s, r.i) f
          LEFT JOIN LATERAL (
                SELECT e.stream_version AS v, e.hash AS h FROM {schema}.events e
                 WHERE e.stream_id = f.s ORDER BY e.stream_version DESC LIMIT 1) h ON true
         WHERE coalesce(h.v, 0) <> f.ex
            OR coalesce(h.h, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) <> f.ph)
    THEN
        RETURN QUERY
        WITH written AS (
            INSERT INTO {schema}.events AS e (stream_id, stream_version, event_id, event_type,
                schema_version, case_id, data, metadata, recorded_at, prev_hash, hash)
            SELECT p_stream[r.q], r.ver, r.id, r.typ, r.sv, r.cid, r.dat::jsonb, r.met::jsonb,
                   p_recorded, r.prv, r.hsh
              FROM unnest(p_req, p_version, p_event_id, p_type, p_schema, p_case, p_data,
                          p_meta, p_prev, p_hash) WITH ORDINALITY
                   AS r(q, ver, id, typ, sv, cid, dat, met, prv, hsh, ord)
             ORDER BY r.ord
            RETURNING e.event_id, e.global_position, e.stream_version
        )
        SELECT NULL::integer, 'ok'::text, w.event_id, w.global_position, w.stream_version,
               NULL::bytea
          FROM written w;
        PERFORM pg_notify('{schema}_events', '');
        RETURN;
    END IF;
    RETURN QUERY
    WITH requests AS (
        SELECT r.s, r.ex, r.ph, r.i::integer AS i
          FROM unnest(p_stream, p_expected, p_prev_hash) WITH ORDINALITY AS r(s, ex, ph, i)
    ), duplicates AS (  -- requests with an event already stored: retries
        SELECT DISTINCT r.q FROM unnest(p_req, p_event_id) AS r(q, id)
         WHERE EXISTS (SELECT 1 FROM {schema}.events e WHERE e.event_id = r.id)
    ), firsts AS (      -- each stream's first other request, the one checked
        SELECT DISTINCT ON (q.s) q.s, q.i, q.ex, q.ph FROM requests q
         WHERE q.i NOT IN (SELECT d.q FROM duplicates d)
         ORDER BY q.s, q.i
    ), refused AS (     -- streams whose stored head is not the one expected
        SELECT f.s, f.i AS first, coalesce(h.v, 0) AS v,
               coalesce(h.h, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS h
          FROM firsts f
          LEFT JOIN LATERAL (
                SELECT e.stream_version AS v, e.hash AS h FROM {schema}.events e
                 WHERE e.stream_id = f.s ORDER BY e.stream_version DESC LIMIT 1) h ON true
         WHERE coalesce(h.v, 0) <> f.ex
            OR coalesce(h.h, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) <> f.ph
    ), written AS (
        INSERT INTO {schema}.events AS e (stream_id, stream_version, event_id, event_type,
            schema_version, case_id, data, metadata, recorded_at, prev_hash, hash)
        SELECT p_stream[r.q], r.ver, r.id, r.typ, r.sv, r.cid, r.dat::jsonb, r.met::jsonb, p_recorded,
               r.prv, r.hsh
          FROM unnest(p_req, p_version, p_event_id, p_type, p_schema, p_case, p_data, p_meta,
                      p_prev, p_hash) WITH ORDINALITY
               AS r(q, ver, id, typ, sv, cid, dat, met, prv, hsh, ord)
         WHERE r.q NOT IN (SELECT d.q FROM duplicates d)
           AND p_stream[r.q] NOT IN (SELECT b.s FROM refused b)
         ORDER BY r.ord
        RETURNING e.event_id, e.global_position, e.stream_version
    )
    SELECT NULL::integer, 'ok'::text, w.event_id, w.global_position, w.stream_version,
           NULL::bytea
      FROM written w
    UNION ALL
    SELECT q.i, CASE WHEN d.q IS NULL THEN 'conflict' ELSE 'duplicate' END, NULL::uuid,
           NULL::bigint, CASE WHEN d.q IS NULL AND b.first = q.i THEN b.v END,
           CASE WHEN d.q IS NULL AND b.first = q.i THEN b.h END
      FROM requests q
      LEFT JOIN duplicates d ON d.q = q.i
      LEFT JOIN refused b ON b.s = q.s
     WHERE d.q IS NOT NULL OR b.s IS NOT NULL;
    -- A wake-up for tailing relays, delivered at commit; polling remains the truth.
    PERFORM pg_notify('{schema}_events', '');
END $$;
