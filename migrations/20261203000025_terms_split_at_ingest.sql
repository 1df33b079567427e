-- The terms of free text are split by Vigil when it writes an event, not by
-- the database for every index entry and every word count.
--
-- The terms themselves do not change (migration 10: every run of letters and
-- digits, and every word with punctuation inside, its ends trimmed). What
-- changes is who splits the text: search_text was generated from the event's
-- columns and split by vigil_terms with two regular expressions, once for the
-- GIN index at insert and once more by the deriving worker for the word
-- counts. Measured here on 200 000 demo events: ≈30 µs per event for the
-- index expression at insert (a COPY with that one index took 8 s against
-- 2 s without it) and ≈18 µs per event for the worker's split, together a
-- fifth of the database's work per ingested event.
--
-- search_text is now a plain column that the writer fills (store::terms): the
-- distinct runs separated by spaces, then a newline and the distinct words.
-- vigil_words reads the terms back with string functions only. The rows
-- stored so far are rewritten once into that form by vigil_search_text, the
-- same split in SQL (a test holds the two to the same output).

create function vigil_search_text(text text) returns text
language sql immutable parallel safe
as $$
    select coalesce((
               select string_agg(run, ' ' order by first)
               from (select run, min(n) as first
                     from regexp_split_to_table(lower(text), '[^[:alnum:]]+') with ordinality as r(run, n)
                     where run <> ''
                     group by run) runs), '')
        || coalesce(E'\n' || (
               select string_agg(word, ' ' order by first)
               from (select word, min(n) as first
                     from regexp_split_to_table(lower(text), '\s+') with ordinality as w(raw, n),
                          lateral (select regexp_replace(raw, '^[^[:alnum:]]+|[^[:alnum:]]+$', '', 'g') as word) trimmed
                     where word ~ '[^[:alnum:]]'
                     group by word) words), '')
$$;

create function vigil_words(search_text text) returns text[]
language sql immutable parallel safe
as $$
    select string_to_array(replace(search_text, E'\n', ' '), ' ')
$$;

drop index events_terms_idx;
alter table events alter column search_text drop expression;
alter table events alter column search_text type text using vigil_search_text(
    vigil_event_text(actor_name, actor_email, actor_id, type, target_name, target_id, request_path, reason, client_ip));
create index events_terms_idx on events using gin (vigil_words(search_text));

drop function vigil_terms(text);
drop function vigil_event_text(text, text, text, text, text, text, text, text, inet);
