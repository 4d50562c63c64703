-- Optional extension of the public schema (docs/INTERCHANGE.md, "Extension: state_reference"):
-- state counts of students (n) and of students with the outcome (k) per school_year x outcome x
-- dimension x group, the comparison of the alternate risk ratio (34 CFR 300.647(b)(5)) and the
-- weights of the weighted risk ratio. Codes as in disproportionality.csv.
create table if not exists state_reference (
    school_year varchar not null,
    outcome varchar not null,
    dimension varchar not null,
    "group" varchar not null,
    n bigint not null check (n >= 0),
    k bigint not null check (k >= 0 and k <= n),
    primary key (school_year, outcome, dimension, "group")
);
