-- The deadline job and the resident's texts find the staff of a division and role
-- (`tell_staff`): without an index, every notice read all of a province's accounts.
CREATE INDEX users_scope_role ON users (scope, role);
