"""Reference data beside the district's own: CRDC school files, published aggregate tables, Ed-Fi exports.

CRDC and aggregate imports write their own tables (sql/warehouse/reference_tables.sql) and the
state_reference counts of the metrics engine; Ed-Fi exports become interchange files for the loader.
"""
