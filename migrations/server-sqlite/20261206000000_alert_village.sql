-- Where a matched warning's household lives, so that a division's dashboard counts each
-- department's warnings and what became of them without reading every line's body.
-- Unmatched lines are listed by where the person is registered (the ID number's first digits).
ALTER TABLE alert_rows ADD COLUMN village TEXT;
UPDATE alert_rows SET village = json_extract(body, '$.village');
CREATE INDEX alert_rows_village ON alert_rows (village, department) WHERE village IS NOT NULL;
CREATE INDEX alert_rows_unmatched ON alert_rows (id_number) WHERE outcome = 'unmatched';
