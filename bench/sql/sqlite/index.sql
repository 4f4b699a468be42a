CREATE INDEX events_user_ts ON events (user_id, ts);
ANALYZE;
