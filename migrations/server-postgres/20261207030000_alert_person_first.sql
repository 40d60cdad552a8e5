-- A department's warnings about one person, led by the ID number instead of the department.
--
-- With the department first, this index served "department = $1 AND row_key = $2" as well as
-- the primary key did in the planner's eyes whenever its statistics held the department to be
-- rare (its first upload after an ANALYZE): the lookup then walked all the department's rows
-- and filtered the key. Led by the ID number, only the primary key answers a lookup by key,
-- and the repeat check (ID number, department, matter, dates) is served as before.
DROP INDEX alert_rows_person;
CREATE INDEX alert_rows_person ON alert_rows (id_number, department, matter, occurred_on);
