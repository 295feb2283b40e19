-- Community volunteers (issue 21) are allocated to a case for one part: their rows in the
-- allocations in force carry it (NULL: a practitioner's allocation), so a caseload says it.
ALTER TABLE {schema}.allocations ADD COLUMN part text;
