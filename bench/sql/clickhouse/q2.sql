SELECT type, toDate(ts) AS day, count() AS events
FROM events
WHERE user_id = '@USER@'
  AND ts >= toDateTime('2024-10-01 00:00:00') AND ts < toDateTime('2025-01-02 00:00:00')
GROUP BY type, day
ORDER BY type, day
