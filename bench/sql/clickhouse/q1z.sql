SELECT type, toDate(ts, 'Europe/Berlin') AS day, count() AS events
FROM events
WHERE ts >= toDateTime('2024-10-01 00:00:00', 'Europe/Berlin')
  AND ts < toDateTime('2025-01-02 00:00:00', 'Europe/Berlin')
GROUP BY type, day
ORDER BY type, day
