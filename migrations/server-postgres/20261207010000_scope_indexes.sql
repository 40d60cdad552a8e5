-- Scope queries compare division codes byte by byte with the pattern operators
-- (`village ~>=~ '621102' AND village ~<~ '621102:'`): a database created with a language's
-- collation (en_US, zh_CN) orders '621102:' before '621102105201' (punctuation is ignored at
-- first), so the plain `>=`/`<` range would find nothing there; and only a `text_pattern_ops`
-- index serves the pattern operators. These two indexes were built with the default operator
-- class; rebuilt so their scope queries use them.
DROP INDEX IF EXISTS alert_rows_village;
CREATE INDEX alert_rows_village ON alert_rows (village text_pattern_ops, department) WHERE village IS NOT NULL;
DROP INDEX IF EXISTS spot_checks_village;
CREATE INDEX spot_checks_village ON spot_checks (village text_pattern_ops);
