WITH s AS MATERIALIZED (
  SELECT user_id, date(min(ts) / 1000, 'unixepoch', '-6 days', 'weekday 1') AS cohort FROM events
  WHERE type = 'login' AND user_id != '' AND ts >= 1727654400000 AND ts < 1735776000000
  GROUP BY user_id),
r AS MATERIALIZED (
  SELECT DISTINCT user_id, date(ts / 1000, 'unixepoch', '-6 days', 'weekday 1') AS week FROM events
  WHERE type = 'job_apply' AND user_id != '' AND ts >= 1727654400000)
SELECT cohort, 0 AS n, count(*) AS users FROM s GROUP BY cohort
UNION ALL
SELECT s.cohort, CAST(round(julianday(r.week) - julianday(s.cohort)) AS INTEGER) / 7 AS n,
       count(*) AS users
FROM s JOIN r USING (user_id)
WHERE r.week > s.cohort AND r.week < date(s.cohort, '+56 days')
GROUP BY 1, 2
ORDER BY 1, 2;
