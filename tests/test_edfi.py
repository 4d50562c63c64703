"""Ed-Fi ODS/API JSON exports -> interchange CSVs -> the normal load (samples: tests/edfi_samples.py)."""

from __future__ import annotations

import csv
import json
from datetime import date

import duckdb
import pytest

from pipelines.__main__ import main
from pipelines.loader import load_files
from pipelines.reference.edfi import (
    KEY_ENV,
    PROFILE_PATH,
    EdfiError,
    convert_edfi,
    load_edfi_profile,
    load_secret,
    student_key,
)
from tests import edfi_samples as samples

SECRET = b"test-district-pseudonym-key-0123456789"
AS_OF = date(2025, 6, 30)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("edfi")
    export = samples.write_export(root / "export")
    report = convert_edfi(export, root / "out", SECRET)
    db = root / "w.duckdb"
    result = load_files(db, [root / "out"], as_of=AS_OF)
    assert result.exit_code == 0, result.error
    con = duckdb.connect(str(db), read_only=True)
    yield report, root, con
    con.close()


def key(uid: str) -> str:
    return student_key(SECRET, uid)


def test_every_student_appears_once_per_school_year_with_the_crosswalked_codes(loaded):
    _, _, con = loaded
    columns = list(next(iter(samples.EXPECTED_2024_25.values())))
    rows = con.execute(
        f"select student_key, {', '.join(columns)} from enrollment where school_year = '2024-25'"
    ).fetchall()
    got = {r[0]: dict(zip(columns, r[1:])) for r in rows}
    assert got == {key(uid): expected for uid, expected in samples.EXPECTED_2024_25.items()}
    counts = con.sql(
        "select school_year, student_key, count(*) from enrollment group by all having count(*) > 1"
    ).fetchall()
    assert counts == []
    # 605007 was enrolled both years, in eleventh then twelfth grade
    earlier = con.execute("select student_key, grade_level from enrollment where school_year = '2023-24'").fetchall()
    assert earlier == [(key("605007"), "11")]


def test_school_levels_come_from_categories_or_the_grades_served(loaded):
    _, _, con = loaded
    levels = dict(con.sql("select school_id, school_level from schools").fetchall())
    # the middle school has no schoolCategories: grades 06-08 are "middle" by the NCES rule
    assert levels == {str(samples.HIGH): "high", str(samples.MIDDLE): "middle", str(samples.ELEMENTARY): "elementary"}


def test_discipline_actions_map_descriptors_days_and_law_enforcement_referrals(loaded):
    _, _, con = loaded
    rows = con.sql("""select student_key, action_type, behavior, days_removed, school_id, incident_date::varchar
                      from discipline_actions order by student_key, action_type""").fetchall()
    high = str(samples.HIGH)
    assert sorted(rows) == sorted(
        [
            (key("605001"), "oss", "other", 3, high, "2024-10-15"),
            (key("605001"), "law_enforcement_referral", "other", None, high, "2024-10-15"),
            (key("605002"), "iss", "other", 1, high, "2024-10-15"),
            (key("605002"), "law_enforcement_referral", "other", None, high, "2024-10-15"),
        ]
    )


def test_unknown_descriptors_end_in_quarantine_under_their_column(loaded):
    report, _, con = loaded
    rules = con.sql("select entity, rule from load_quarantine order by entity").fetchall()
    # 605006's race and 605003's behavior are outside the crosswalk
    assert rules == [("discipline_actions", "code:behavior"), ("enrollment", "code:race_ethnicity")]
    assert report.unmapped[("studentEducationOrganizationAssociations", "race", samples.UNKNOWN_RACE)] == 1
    assert any(
        r == "disciplineActions" and f == "behavior" and d == samples.UNKNOWN_BEHAVIOR for r, f, d in report.unmapped
    )
    text = report.summary()
    assert "studentEducationOrganizationAssociations.race" in text and "disciplineActions.behavior" in text


def test_no_name_birth_date_or_student_id_reaches_any_output(loaded):
    report, root, con = loaded
    outputs = [p.read_text(encoding="utf-8") for p in (root / "out").iterdir()]
    outputs.append(report.summary())
    outputs += [r[0] for r in con.sql("select raw_row from load_quarantine").fetchall()]
    outputs += [",".join(map(str, r)) for r in con.sql("select * from enrollment").fetchall()]
    outputs += [",".join(map(str, r)) for r in con.sql("select * from discipline_actions").fetchall()]
    found = [value for value in samples.identifying_values() if any(value in text for text in outputs)]
    assert found == []


def test_the_same_key_gives_the_same_student_keys_and_another_key_different_ones(tmp_path):
    export = samples.write_export(tmp_path / "export")

    def keys(secret: bytes, out: str) -> list[str]:
        convert_edfi(export, tmp_path / out, secret)
        with (tmp_path / out / "enrollment.csv").open(encoding="utf-8") as fh:
            return [row["student_key"] for row in csv.DictReader(fh)]

    first, again = keys(SECRET, "a"), keys(SECRET, "b")
    other = keys(b"another-district-key-9876543210abcdef", "c")
    assert first == again
    assert len(first) == len(other) and not set(first) & set(other)


def test_a_district_adds_its_own_descriptor_to_a_copy_of_the_profile(tmp_path):
    raw = json.loads(PROFILE_PATH.read_text(encoding="utf-8"))
    raw["descriptors"]["behavior"][samples.UNKNOWN_BEHAVIOR] = "tobacco"
    profile_path = tmp_path / "district_edfi.json"
    profile_path.write_text(json.dumps(raw), encoding="utf-8")
    report = convert_edfi(
        samples.write_export(tmp_path / "export"), tmp_path / "out", SECRET, profile=load_edfi_profile(profile_path)
    )
    with (tmp_path / "out" / "discipline_actions.csv").open(encoding="utf-8") as fh:
        expulsion = [r for r in csv.DictReader(fh) if r["action_type"].startswith("expulsion")]
    # receivedEducationServicesDuringExpulsion = true makes an Ed-Fi "Expulsion" one with services
    assert [(r["behavior"], r["action_type"], r["days_removed"]) for r in expulsion] == [
        ("tobacco", "expulsion_with_services", "45")
    ]
    assert not any(f == "behavior" for _, f, _ in report.unmapped)


def test_school_year_option_keeps_one_year(tmp_path):
    report = convert_edfi(samples.write_export(tmp_path / "export"), tmp_path / "out", SECRET, "2023-24")
    assert report.school_years == ["2023-24"]
    assert report.rows_written["enrollment"] == 1 and report.rows_written["discipline_actions"] == 0


def test_conversion_refuses_to_run_without_a_pseudonym_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(KEY_ENV, raising=False)
    export = samples.write_export(tmp_path / "export")
    code = main(["reference", "edfi", str(export), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "HMAC" in capsys.readouterr().err and not (tmp_path / "out").exists()
    with pytest.raises(EdfiError):
        load_secret(environ={KEY_ENV: "short"})
    monkeypatch.setenv(KEY_ENV, SECRET.decode())
    assert main(["reference", "edfi", str(export), "--out", str(tmp_path / "out"), "--school-year", "2024-25"]) == 0
    assert "wrote enrollment.csv: 8 rows" in capsys.readouterr().out
