-- The warehouse's public schema (spec/interchange.md). Names here are a contract:
-- users query them with their own tools. Derived columns come after the spec's.
-- Keys are unique by construction (the loader quarantines duplicate keys within a
-- file and replaces rows by key across files); no index is kept, so a state-size
-- load does not pay for one.

create table if not exists schools (
    school_id varchar not null,
    school_name varchar not null,
    school_level varchar not null,
    load_id varchar not null
);

create table if not exists enrollment (
    school_year varchar not null,
    student_key varchar not null,
    school_id varchar not null,
    grade_level varchar not null,
    sex varchar not null,
    race_ethnicity varchar not null,
    idea boolean not null,
    idea_disability varchar,
    section_504 boolean not null,
    english_learner boolean not null,
    econ_disadvantaged boolean not null,
    -- derived: the three non-overlapping CRDC groups
    disability_status varchar not null,
    load_id varchar not null
);

create table if not exists btam_cases (
    case_id varchar not null,
    school_year varchar not null,
    school_id varchar not null,
    subject_type varchar not null,
    student_key varchar,
    reported_date date not null,
    report_source varchar not null,
    report_channel varchar not null,
    concern_type varchar not null,
    behavior varchar not null,
    screened_date date,
    assessed_date date,
    concern_level varchar,
    team_admin boolean,
    team_mental_health boolean,
    team_law_enforcement boolean,
    law_enforcement_involved boolean,
    disability_factors_considered varchar,
    plan_written_date date,
    monitoring varchar,
    closed_date date,
    load_id varchar not null
);

create table if not exists case_actions (
    action_id varchar not null,
    case_id varchar not null,
    action_date date not null,
    action_type varchar not null,
    -- derived: support, exclusionary, placement or law_enforcement
    action_category varchar not null,
    load_id varchar not null
);

create table if not exists case_reviews (
    review_id varchar not null,
    case_id varchar not null,
    review_date date not null,
    review_outcome varchar not null,
    load_id varchar not null
);

create table if not exists discipline_actions (
    action_id varchar not null,
    incident_id varchar not null,
    school_year varchar not null,
    school_id varchar not null,
    student_key varchar not null,
    incident_date date not null,
    behavior varchar not null,
    action_type varchar not null,
    days_removed decimal(6, 2),
    related_case_id varchar,
    load_id varchar not null
);

create table if not exists load_ledger (
    load_id varchar not null,
    file_name varchar not null,
    sha256 varchar not null,
    entity varchar,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    status varchar not null,          -- loaded, unchanged, refused, unreadable
    loaded_at timestamp not null,
    profile varchar,
    as_of_date date,
    ignored_columns varchar,          -- columns outside the entity, not stored
    message varchar,
    sheet varchar                     -- the workbook sheet read, for .xlsx files (added in 1.1)
);
-- warehouses made before the sheet was recorded gain the column (appended: positional readers keep working)
alter table load_ledger add column if not exists sheet varchar;

create table if not exists load_quarantine (
    load_id varchar not null,
    file_name varchar not null,
    entity varchar not null,
    row_number bigint not null,       -- 1-based data row; the header is row 0
    rule varchar not null,
    detail varchar not null,
    raw_row varchar                   -- the row as read, JSON of column -> text
);

create table if not exists warehouse_info (
    key varchar primary key,
    value varchar
);
