SELECT level, count() AS users
FROM (
  SELECT user_id,
         windowFunnel(2592000)(ts, type = 'page_view', type = 'job_view', type = 'job_save',
                                type = 'job_apply',
                                type = 'application_status_changed' AND status = 'interview') AS level
  FROM events
  WHERE user_id != ''
    AND ts >= toDateTime('2024-12-02 00:00:00') AND ts < toDateTime('2025-01-02 00:00:00')
    AND type IN ('page_view', 'job_view', 'job_save', 'job_apply', 'application_status_changed')
  GROUP BY user_id
)
WHERE level > 0
GROUP BY level
ORDER BY level
