-- Affiliate time zones. A date-only fromDate / toDate of a reload means a day of the
-- affiliate's zone (an IANA name such as Europe/Paris; UTC by default, which is what every
-- reload meant before this migration).
--
-- The execution keeps the zone it was resolved in next to its UTC window: the window itself
-- is already fixed in window_from / window_to, so changing the affiliate's zone later never
-- moves a queued or resumed execution; the column only says how the window was read.

ALTER TABLE affiliates ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

ALTER TABLE executions ADD COLUMN time_zone text;

UPDATE executions SET time_zone = 'UTC' WHERE window_from IS NOT NULL;
