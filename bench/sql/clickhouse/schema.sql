CREATE TABLE events (
  event_id String,
  type LowCardinality(String),
  user_id String,
  anonymous_id String,
  session_id String,
  ts DateTime,
  received_at DateTime,
  job_id String,
  application_id String,
  status String,
  path String,
  value Nullable(Float64),
  properties String,
  context String
) ENGINE = MergeTree() ORDER BY (user_id, ts)
