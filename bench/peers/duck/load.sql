-- DuckDB: the exported events (siyu export events) in file order (=
-- ingestion order), only those siyu counts as activity: not $identify /
-- $alias / $group (profile upkeep), not system events. The export has no
-- "source" field; system events (tag_added, segment_entered, …) are the
-- rows without a messageId (siyu emits them without one; every demo event
-- has one) — bench.mjs prints how many rows each rule dropped. ts is UTC
-- milliseconds; channel is the event's own properties.channel (NULL when
-- absent).
CREATE TABLE IF NOT EXISTS events AS
SELECT contact_id, timestamp AS ts, event, json_extract_string(properties, '$.channel') AS channel
FROM read_json('{JSONL}', format = 'newline_delimited',
               columns = {messageId: 'VARCHAR', contact_id: 'UINTEGER', event: 'VARCHAR',
                          timestamp: 'BIGINT', properties: 'JSON'})
WHERE event NOT IN ('$identify', '$alias', '$group') AND messageId IS NOT NULL;
CREATE TABLE IF NOT EXISTS contact_tags (tag_id UINTEGER, contact_id UINTEGER);
