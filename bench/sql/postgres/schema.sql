CREATE TABLE events (
  event_id text NOT NULL,
  type text NOT NULL,
  user_id text,
  anonymous_id text,
  session_id text,
  ts timestamp NOT NULL,
  received_at timestamp NOT NULL,
  job_id text,
  application_id text,
  status text,
  path text,
  value double precision,
  properties text NOT NULL,
  context text NOT NULL
);
