-- The search index for the PostgreSQL store: a word index (tsvector + GIN) against a trigram index
-- (pg_trgm + GIN) on the same 100K texts of ~250 characters, and no index for regular expressions.
-- Run it against a scratch server (it creates and drops the schema `trg`; pg_trgm must be available):
--   scripts/with-postgres.sh sh -c 'psql "$MNESIS_TEST_DATABASE_URL" -f bench/postgres-search.sql'
-- Figures of a run are in bench/README.md (postgres).
\timing on
DROP SCHEMA IF EXISTS trg CASCADE; CREATE SCHEMA trg; SET search_path = trg;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE TABLE a (pos bigint generated always as identity, session_id text, body text);
CREATE TABLE b (pos bigint generated always as identity, session_id text, body text);
CREATE TABLE c (pos bigint generated always as identity, session_id text, body text);
CREATE INDEX a_fts ON a USING gin (to_tsvector('simple', body));
CREATE INDEX b_trgm ON b USING gin (body public.gin_trgm_ops);
-- appends: 100K rows of ~200 chars, one statement per 1000 rows, in each table
\echo no index
INSERT INTO c (session_id, body) SELECT 's' || (n % 50), 'message ' || n || ': lorem ipsum dolor sit amet ' || md5(n::text) || ' the quick brown fox jumps over the lazy dog ' || repeat('words ', 10) FROM generate_series(1, 100000) n;
\echo tsvector
INSERT INTO a (session_id, body) SELECT 's' || (n % 50), 'message ' || n || ': lorem ipsum dolor sit amet ' || md5(n::text) || ' the quick brown fox jumps over the lazy dog ' || repeat('words ', 10) FROM generate_series(1, 100000) n;
\echo trigram
INSERT INTO b (session_id, body) SELECT 's' || (n % 50), 'message ' || n || ': lorem ipsum dolor sit amet ' || md5(n::text) || ' the quick brown fox jumps over the lazy dog ' || repeat('words ', 10) FROM generate_series(1, 100000) n;
VACUUM ANALYZE a; VACUUM ANALYZE b;
SELECT pg_size_pretty(pg_relation_size('a_fts')) fts, pg_size_pretty(pg_relation_size('b_trgm')) trgm, pg_size_pretty(pg_relation_size('a')) heap;
\echo rare term tsvector x3
SELECT count(*) FROM a WHERE to_tsvector('simple', body) @@ phraseto_tsquery('simple', 'c4ca4238a0b923820dcc509a6f75849b');
SELECT count(*) FROM a WHERE to_tsvector('simple', body) @@ phraseto_tsquery('simple', 'c4ca4238a0b923820dcc509a6f75849b');
SELECT count(*) FROM a WHERE to_tsvector('simple', body) @@ phraseto_tsquery('simple', 'c4ca4238a0b923820dcc509a6f75849b');
\echo rare term trigram ILIKE x3
SELECT count(*) FROM b WHERE body ILIKE '%c4ca4238a0b923820dcc509a6f75849b%';
SELECT count(*) FROM b WHERE body ILIKE '%c4ca4238a0b923820dcc509a6f75849b%';
SELECT count(*) FROM b WHERE body ILIKE '%c4ca4238a0b923820dcc509a6f75849b%';
\echo regex trigram x2
SELECT count(*) FROM b WHERE body ~* 'c4ca42[0-9]+a0b9';
SELECT count(*) FROM b WHERE body ~* 'c4ca42[0-9]+a0b9';
\echo regex no index x2
SELECT count(*) FROM c WHERE body ~* 'c4ca42[0-9]+a0b9';
SELECT count(*) FROM c WHERE body ~* 'c4ca42[0-9]+a0b9';
\echo single-row appends 2000 each: none, tsvector, trigram
DO $$ BEGIN FOR i IN 1..2000 LOOP INSERT INTO c (session_id, body) VALUES ('s1', 'appended ' || i || ' ' || md5(i::text) || repeat(' words', 30)); END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..2000 LOOP INSERT INTO a (session_id, body) VALUES ('s1', 'appended ' || i || ' ' || md5(i::text) || repeat(' words', 30)); END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..2000 LOOP INSERT INTO b (session_id, body) VALUES ('s1', 'appended ' || i || ' ' || md5(i::text) || repeat(' words', 30)); END LOOP; END $$;
DROP SCHEMA trg CASCADE;
