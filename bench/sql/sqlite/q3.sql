SELECT date(ts / 1000, 'unixepoch') AS day, count(DISTINCT user_id) AS users
FROM events
WHERE user_id != '' AND ts >= 1727740800000 AND ts < 1735776000000
GROUP BY day
ORDER BY day;
