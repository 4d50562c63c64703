-- Breakouts a CRDC collection did not have, per import (pipelines/reference/crdc.py, not_collected_terms):
-- a slice written without some columns, a sex not counted, or a group skipped because every column of
-- one of its parts is absent. Not missing data: the collection never asked for those counts.
create table if not exists crdc_not_collected (
    school_year varchar not null,
    state varchar not null,
    outcome varchar not null,
    dimension varchar not null,
    "group" varchar,                    -- blank: every group of the slice
    effect varchar not null,            -- 'written without:', 'not counted:', 'skipped, ...'
    columns varchar not null,           -- the absent CRDC columns ({race} = every race code)
    load_id varchar not null
)
