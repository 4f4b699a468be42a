SELECT type, ts::date AS day, count(*) AS events
FROM events
WHERE user_id = '@USER@' AND ts >= '2024-10-01' AND ts < '2025-01-02'
GROUP BY type, day
ORDER BY type, day;
