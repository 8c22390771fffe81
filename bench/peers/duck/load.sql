-- DuckDB: the exported events (siyu export events), three columns, in file
-- order (= ingestion order). ts is UTC milliseconds as in the export.
CREATE TABLE IF NOT EXISTS events AS
SELECT contact_id, timestamp AS ts, event
FROM read_json('{JSONL}', format = 'newline_delimited',
               columns = {contact_id: 'UINTEGER', event: 'VARCHAR', timestamp: 'BIGINT'});
CREATE TABLE IF NOT EXISTS contact_tags (tag_id UINTEGER, contact_id UINTEGER);
