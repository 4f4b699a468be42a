SELECT cohort, n, users FROM (
  SELECT cohort, 0 AS n, count() AS users
  FROM (
    SELECT user_id, toMonday(min(ts)) AS cohort FROM events
    WHERE type = 'login' AND user_id != ''
      AND ts >= toDateTime('2024-09-30 00:00:00') AND ts < toDateTime('2025-01-02 00:00:00')
    GROUP BY user_id)
  GROUP BY cohort
  UNION ALL
  SELECT cohort, toUInt32((week - cohort) / 7) AS n, count() AS users
  FROM (
    SELECT user_id, toMonday(min(ts)) AS cohort FROM events
    WHERE type = 'login' AND user_id != ''
      AND ts >= toDateTime('2024-09-30 00:00:00') AND ts < toDateTime('2025-01-02 00:00:00')
    GROUP BY user_id)
  ALL INNER JOIN (
    SELECT DISTINCT user_id, toMonday(ts) AS week FROM events
    WHERE type = 'job_apply' AND user_id != '' AND ts >= toDateTime('2024-09-30 00:00:00'))
  USING user_id
  WHERE week > cohort AND week < cohort + 56
  GROUP BY cohort, n)
ORDER BY cohort, n
