SELECT ts::date AS day, count(DISTINCT user_id) AS users
FROM events
WHERE user_id IS NOT NULL AND ts >= '2024-10-01' AND ts < '2025-01-02'
GROUP BY day
ORDER BY day;
