SELECT toDate(ts, 'Europe/Berlin') AS day, uniqExact(user_id) AS users
FROM events
WHERE user_id != ''
  AND ts >= toDateTime('2024-10-01 00:00:00', 'Europe/Berlin')
  AND ts < toDateTime('2025-01-02 00:00:00', 'Europe/Berlin')
GROUP BY day
ORDER BY day
