-- Schools have no rules beyond single columns and their key.
select _row_id, '' as rule, '' as detail from candidate where false
