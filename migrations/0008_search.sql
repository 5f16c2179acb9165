-- Full-text search over messages (API v2 "Search"), in PostgreSQL itself.
--
-- Languages: every message is indexed in English, Spanish and Portuguese at once (the
-- three stemmed vectors concatenated), and a query is parsed in the three and OR-ed.
-- Neither the tenant's nor the message's language is needed: tenants mix languages,
-- messages carry none, and a wrong guess would make a message unfindable. The cost: a
-- vector about twice the size of one language's (a lexeme two stemmers agree on is
-- stored once); docs/chat-internals.md has the figures.
--
-- Accents: each configuration runs `unaccent` before its stemmer, on the document and on
-- the query alike, so "acao" finds "ação". Going through a text search configuration
-- (rather than calling unaccent(), which is only STABLE) keeps to_tsvector(regconfig,
-- text) IMMUTABLE, as a generated column needs, and lets ts_headline mark the original,
-- accented words.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

CREATE TEXT SEARCH CONFIGURATION search_en (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION search_en
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, pg_catalog.english_stem;
CREATE TEXT SEARCH CONFIGURATION search_es (COPY = pg_catalog.spanish);
ALTER TEXT SEARCH CONFIGURATION search_es
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, pg_catalog.spanish_stem;
CREATE TEXT SEARCH CONFIGURATION search_pt (COPY = pg_catalog.portuguese);
ALTER TEXT SEARCH CONFIGURATION search_pt
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, pg_catalog.portuguese_stem;

-- The query side of the same three configurations: web-search syntax ("phrase", -word,
-- or), a match in any of the languages.
CREATE FUNCTION message_search_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN websearch_to_tsquery('public.search_en', q)
        || websearch_to_tsquery('public.search_es', q)
        || websearch_to_tsquery('public.search_pt', q);

-- Deleted messages (tombstones) and system messages are not indexed (NULL), and the
-- index leaves them out. An edit recomputes the column, so edits re-index themselves.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN deleted OR kind = 'system' THEN NULL
    ELSE to_tsvector('public.search_en', content)
        || to_tsvector('public.search_es', content)
        || to_tsvector('public.search_pt', content)
    END
) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search) WHERE search IS NOT NULL;
