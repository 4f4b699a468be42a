CREATE TABLE events (
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  user_id TEXT,
  anonymous_id TEXT,
  session_id TEXT,
  ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  job_id TEXT,
  application_id TEXT,
  status TEXT,
  path TEXT,
  value REAL,
  properties TEXT NOT NULL,
  context TEXT NOT NULL
);
