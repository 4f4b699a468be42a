-- Q4: 5-step funnel by user over 30 days with a 30-day window, the semantics of docs/api/query.md
-- (the structure of src/query/sql_compiler.cc's CompileFunnel): every step-1 event starts a chain;
-- step k+1 is the earliest step-(k+1) event strictly after step k and within t1 + window (a
-- running minimum over the user's chains and events in descending time). Answers users per
-- highest level reached (the same shape as ClickHouse's windowFunnel).
WITH s1 AS MATERIALIZED (
  SELECT user_id AS ent, ts FROM events
  WHERE type = 'page_view' AND user_id != '' AND ts >= 1733097600000 AND ts < 1735776000000),
s2 AS MATERIALIZED (
  SELECT user_id AS ent, ts FROM events
  WHERE type = 'job_view' AND user_id != '' AND ts >= 1733097600000 AND ts < 1735776000000),
s3 AS MATERIALIZED (
  SELECT user_id AS ent, ts FROM events
  WHERE type = 'job_save' AND user_id != '' AND ts >= 1733097600000 AND ts < 1735776000000),
s4 AS MATERIALIZED (
  SELECT user_id AS ent, ts FROM events
  WHERE type = 'job_apply' AND user_id != '' AND ts >= 1733097600000 AND ts < 1735776000000),
s5 AS MATERIALIZED (
  SELECT user_id AS ent, ts FROM events
  WHERE type = 'application_status_changed' AND status = 'interview' AND user_id != '' AND ts >= 1733097600000 AND ts < 1735776000000),
c1 AS MATERIALIZED (SELECT DISTINCT ent, ts AS t1 FROM s1),
c2 AS MATERIALIZED (
  SELECT ent, t1, CASE WHEN nx <= t1 + 2592000000 THEN nx END AS t2
  FROM (SELECT ent, t1, kind,
               min(sts) OVER (PARTITION BY ent ORDER BY ts DESC, kind ROWS UNBOUNDED PRECEDING) AS nx
        FROM (SELECT ent, t1, t1 AS ts, NULL AS sts, 0 AS kind FROM c1
              UNION ALL SELECT ent, NULL, ts, ts, 1 FROM s2) u) w
  WHERE kind = 0),
c3 AS MATERIALIZED (
  SELECT ent, t1, t2, CASE WHEN nx <= t1 + 2592000000 THEN nx END AS t3
  FROM (SELECT ent, t1, t2, kind,
               min(sts) OVER (PARTITION BY ent ORDER BY ts DESC, kind ROWS UNBOUNDED PRECEDING) AS nx
        FROM (SELECT ent, t1, t2, t2 AS ts, NULL AS sts, 0 AS kind FROM c2 WHERE t2 IS NOT NULL
              UNION ALL SELECT ent, NULL, NULL, ts, ts, 1 FROM s3) u) w
  WHERE kind = 0
  UNION ALL SELECT ent, t1, t2, NULL FROM c2 WHERE t2 IS NULL),
c4 AS MATERIALIZED (
  SELECT ent, t1, t2, t3, CASE WHEN nx <= t1 + 2592000000 THEN nx END AS t4
  FROM (SELECT ent, t1, t2, t3, kind,
               min(sts) OVER (PARTITION BY ent ORDER BY ts DESC, kind ROWS UNBOUNDED PRECEDING) AS nx
        FROM (SELECT ent, t1, t2, t3, t3 AS ts, NULL AS sts, 0 AS kind FROM c3 WHERE t3 IS NOT NULL
              UNION ALL SELECT ent, NULL, NULL, NULL, ts, ts, 1 FROM s4) u) w
  WHERE kind = 0
  UNION ALL SELECT ent, t1, t2, t3, NULL FROM c3 WHERE t3 IS NULL),
c5 AS MATERIALIZED (
  SELECT ent, t1, t2, t3, t4, CASE WHEN nx <= t1 + 2592000000 THEN nx END AS t5
  FROM (SELECT ent, t1, t2, t3, t4, kind,
               min(sts) OVER (PARTITION BY ent ORDER BY ts DESC, kind ROWS UNBOUNDED PRECEDING) AS nx
        FROM (SELECT ent, t1, t2, t3, t4, t4 AS ts, NULL AS sts, 0 AS kind FROM c4 WHERE t4 IS NOT NULL
              UNION ALL SELECT ent, NULL, NULL, NULL, NULL, ts, ts, 1 FROM s5) u) w
  WHERE kind = 0
  UNION ALL SELECT ent, t1, t2, t3, t4, NULL FROM c4 WHERE t4 IS NULL)
SELECT lvl AS level, count(*) AS users
FROM (SELECT ent, max(1 + (t2 IS NOT NULL) + (t3 IS NOT NULL) + (t4 IS NOT NULL) + (t5 IS NOT NULL)) AS lvl FROM c5 GROUP BY ent) x
GROUP BY lvl
ORDER BY lvl;
