CREATE INDEX events_user_ts ON events (user_id, ts);
CREATE STATISTICS events_day_type ON (ts::date), type FROM events;
VACUUM ANALYZE events;
