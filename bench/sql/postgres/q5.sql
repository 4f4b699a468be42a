WITH s AS MATERIALIZED (
  SELECT user_id, date_trunc('week', min(ts)) AS cohort FROM events
  WHERE type = 'login' AND user_id IS NOT NULL AND ts >= '2024-09-30' AND ts < '2025-01-02'
  GROUP BY user_id),
r AS (
  SELECT DISTINCT user_id, date_trunc('week', ts) AS week FROM events
  WHERE type = 'job_apply' AND user_id IS NOT NULL AND ts >= '2024-09-30')
SELECT cohort::date, 0 AS n, count(*) AS users FROM s GROUP BY cohort
UNION ALL
SELECT s.cohort::date, (r.week::date - s.cohort::date) / 7 AS n, count(*) AS users
FROM s JOIN r USING (user_id)
WHERE r.week > s.cohort AND r.week < s.cohort + interval '8 weeks'
GROUP BY 1, 2
ORDER BY 1, 2;
