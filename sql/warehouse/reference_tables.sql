-- Reference data beside the district's own (docs/REFERENCE_DATA.md): CRDC school counts, published
-- aggregate tables, their consistency report and where each state_reference slice came from.
-- The state_reference table itself is sql/warehouse/state_reference.sql.

-- One row per file of a reference import; the same file (same sha256, year and state) twice changes nothing.
create table if not exists reference_loads (
    load_id varchar not null,
    source varchar not null,            -- crdc, aggregate
    file_name varchar not null,
    sha256 varchar not null,
    school_year varchar not null,
    state varchar,
    profile varchar not null,
    rows_read bigint not null,          -- data rows of the file (schools, districts)
    rows_kept bigint not null,          -- rows of the state asked for
    cells_read bigint not null,         -- count cells of the profile's columns in the kept rows
    cells_loaded bigint not null,       -- of them, whole numbers >= 0
    cells_reserved bigint not null,     -- of them, CRDC reserve codes (missing, counted by code)
    cells_quarantined bigint not null,  -- of them, broke a contract rule (missing, with the rule)
    columns_not_stored varchar,
    loaded_at timestamp not null
);

-- CRDC school-level counts, long: one row per school x source column.
create table if not exists crdc_school_counts (
    school_year varchar not null,
    state varchar not null,
    lea_id varchar,
    lea_name varchar,
    school_id varchar not null,         -- COMBOKEY (LEAID || SCHID)
    school_name varchar,
    source_column varchar not null,     -- e.g. SCH_DISCWODIS_ISS_BL_M
    measure varchar not null,           -- enrollment, iss, oss_single, oss_multiple, expulsion_with_services, ...
    subset varchar not null,            -- population of the CRDC table: all, non_idea, idea, section_504_only, english_learner
    breakout varchar not null,          -- race, english_learner, section_504_only, idea, total
    "group" varchar not null,           -- race code (hi am as pi bl wh mu), y, or all
    sex varchar not null,               -- f, m, x
    value bigint,                       -- blank when reserved or quarantined
    reserve_code integer,               -- the negative CRDC reserve code, when one was reported
    rule varchar,                       -- the contract rule the cell broke, when it did
    load_id varchar not null
);

-- Published aggregate tables (counts by group), long: one row per row x column of the source table.
create table if not exists aggregate_counts (
    school_year varchar not null,
    source varchar not null,            -- the profile name, e.g. aggregate_wa_2013_14
    state varchar,
    scope varchar not null,             -- state or district
    scope_id varchar not null,
    scope_name varchar,
    measure varchar not null,           -- population, disciplined, ...
    dimension varchar not null,         -- all, race_ethnicity, econ_disadvantaged, disability_status
    "group" varchar not null,
    value bigint,                       -- blank when the published cell is blank (suppressed)
    suppressed boolean not null,        -- blank in the published table (a suppressed small count)
    rule varchar,                       -- the contract rule the cell broke (value blank), when it did
    load_id varchar not null
);

-- Parts that do not add up to their totals, and other disagreements, reported rather than hidden.
create table if not exists reference_consistency (
    load_id varchar not null,
    source varchar not null,
    school_year varchar not null,
    scope varchar not null,             -- a school (COMBOKEY), a district code, or state
    check_name varchar not null,
    subject varchar not null,           -- what was compared, e.g. 'enrollment f: race cells vs TOT_ENR_F'
    expected bigint,
    observed bigint,
    detail varchar not null
);

-- Where each state_reference slice came from (state_reference itself has no provenance column).
create table if not exists state_reference_sources (
    school_year varchar not null,
    outcome varchar not null,
    dimension varchar not null,
    source varchar not null,            -- crdc, or an aggregate profile name
    state varchar,
    exact boolean not null,             -- false: k sums student counts of several actions (an upper bound)
    schools_used bigint,
    schools_excluded bigint,            -- schools left out for a reserve code or a broken cell
    load_id varchar not null,
    note varchar
);

-- CRDC school characteristics: which grades a school offers (SCH_GRADE_PS, _KG, _G01.._G12, _UG:
-- Yes/No), one row per school x grade. The peer rule's school-level mix (docs/METHODOLOGY.md,
-- "Peer benchmarks") is derived from it. offered is blank when the cell was not Yes or No.
create table if not exists crdc_school_grades (
    school_year varchar not null,
    state varchar not null,
    lea_id varchar,
    school_id varchar not null,         -- COMBOKEY
    grade varchar not null,             -- ps, kg, 01 .. 12, ug
    offered boolean,                    -- Yes: true, No: false, anything else: blank
    reported varchar,                   -- the cell as published when it was not Yes or No (e.g. -9)
    load_id varchar not null
);

-- Which CRDC district (NCES LEA id, LEAID) this warehouse's district is: "us" in the peer benchmarks.
-- At most one row; recorded by python -m pipelines reference district --lea-id ID (or crdc --district-lea).
create table if not exists reference_district (
    lea_id varchar not null,            -- 7 digits: 2-digit state FIPS code + 5-digit district number
    recorded_at timestamp not null,
    load_id varchar not null
);
