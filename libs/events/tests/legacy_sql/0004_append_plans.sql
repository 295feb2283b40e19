-- append_batch's statements are planned afresh on every call. A session's cached generic plan
-- is made from the table's size when first used: planned on an empty table, the head lookup
-- and the duplicate check stay sequential scans, and each append gets slower as the table
-- grows (3 ms per 16-row batch at first, 10 ms after 20k rows, until an ANALYZE). Planning
-- these few statements costs far less than one scan.
ALTER FUNCTION {schema}.append_batch(text[], integer[], bytea[], integer[], integer[], uuid[], text[], smallint[], text[], text[], text[], timestamptz, bytea[], bytea[])
    SET plan_cache_mode = force_custom_plan;
