SELECT type, date(ts / 1000, 'unixepoch') AS day, count(*) AS events
FROM events
WHERE user_id = '@USER@' AND ts >= 1727740800000 AND ts < 1735776000000
GROUP BY type, day
ORDER BY type, day;
