
WITH per_person AS (WITH 
corrected AS (
    SELECT DISTINCT target AS seq FROM records WHERE seq <= 1234 AND target IS NOT NULL
),
live AS (
    SELECT person, kind, category, value, date_diff('day', occurred, DATE '2026-06-01') AS age
    FROM records
    WHERE seq <= 1234 AND kind IN ('drink_driving', 'loan_default', 'payment_missed', 'purchase', 'red_light', 'speeding')
      AND action <> 'retract' AND occurred <= DATE '2026-06-01'
      AND date_diff('day', occurred, DATE '2026-06-01') <= CASE kind WHEN 'drink_driving' THEN 1825 WHEN 'loan_default' THEN 1825 WHEN 'payment_missed' THEN 1825 WHEN 'purchase' THEN 365 WHEN 'red_light' THEN 1095 WHEN 'speeding' THEN 1095 ELSE 2147483647 END
      AND seq NOT IN (SELECT seq FROM corrected)
      AND seq NOT IN (
        SELECT seq FROM disputes
        WHERE date_diff('day', opened, DATE '2026-06-01') > 30
          AND (resolved IS NULL OR resolved > DATE '2026-06-01'))
)
SELECT person,
    least(greatest(sum(CASE WHEN kind IN ('payment_missed', 'loan_default') AND age <= 200 THEN (-12.5::DOUBLE + -0.25::DOUBLE * coalesce(value, 0.0)) ELSE 0.0 END), -300.0::DOUBLE), 0.0::DOUBLE) AS "f_late-recent",
    least(greatest(sum(CASE WHEN kind = 'purchase' AND category IN ('video_games', 'books') THEN (2.0::DOUBLE + 0.01::DOUBLE * coalesce(value, 0.0)) * exp(age * -0.007659084868065694::DOUBLE) ELSE 0.0 END), 10.0::DOUBLE), 80.0::DOUBLE) AS "f_games_floor",
    least(greatest(sum(CASE WHEN kind IN ('speeding', 'red_light', 'drink_driving') AND age <= 700 THEN -7.0::DOUBLE * exp(age * -0.0017328679513998633::DOUBLE) ELSE 0.0 END), -90.0::DOUBLE), -5.0::DOUBLE) AS "f_traffic"
FROM live GROUP BY person),
raw AS (
    SELECT p.id AS person, least(greatest(500.25::DOUBLE + coalesce("f_late-recent" + "f_games_floor" + "f_traffic", 5.0::DOUBLE), 0), 1000) AS raw
    FROM persons p LEFT JOIN per_person c ON c.person = p.id
),
rounded AS (
    SELECT person, raw,
           CAST(sign(raw) * (floor(abs(raw))
                + CASE WHEN abs(raw) - floor(abs(raw)) >= 0.5 THEN 1 ELSE 0 END) AS BIGINT)
             AS score
    FROM raw
)
SELECT person, raw, score, CASE WHEN score BETWEEN 0 AND 499 THEN 'Low' WHEN score BETWEEN 500 AND 1000 THEN 'High' END AS band FROM rounded ORDER BY person
