"""Ed-Fi ODS/API JSON exports -> interchange CSVs (schools, enrollment, discipline_actions).

The descriptor crosswalks and choices live in data_contracts/profiles/reference/edfi.json; this
module reads the resources, applies the profile, and pseudonymises students with a keyed hash.
Nothing that names a student (studentUniqueId, names, birth dates, identification codes,
addresses, incident narratives) is written: the reader picks the fields it maps and drops the rest.
Rules and sources: docs/REFERENCE_DATA.md, "Ed-Fi ODS/API exports".
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from data_contracts.interchange import ENTITIES, GRADE_LEVELS
from pipelines.warehouse import REPO_ROOT

PROFILE_PATH = REPO_ROOT / "data_contracts" / "profiles" / "reference" / "edfi.json"
KEY_ENV = "BTAM_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
STUDENT_KEY_HEX = 32
RESOURCES = (
    "schools",
    "students",
    "studentSchoolAssociations",
    "studentEducationOrganizationAssociations",
    "studentSection504ProgramAssociations",
    "studentSpecialEducationProgramAssociations",
    "disciplineIncidents",
    "disciplineActions",
    "studentDisciplineIncidentBehaviorAssociations",
)
REQUIRED_RESOURCES = ("schools", "studentSchoolAssociations")
REPORT_NAME = "edfi_report.json"


class EdfiError(Exception):
    """Input that stops the conversion; the message says what to do. Nothing is written."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


# ---------------------------------------------------------------- pseudonyms


def load_secret(key_file: str | Path | None = None, environ: dict[str, str] | None = None) -> bytes:
    """The district's pseudonym key, from --key-file or the BTAM_PSEUDONYM_KEY variable; required."""
    environ = os.environ if environ is None else environ
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise EdfiError(f"--key-file {path}: no such file", usage=True)
        secret = path.read_bytes().strip()
        where = f"key file {path}"
    elif environ.get(KEY_ENV):
        secret = environ[KEY_ENV].strip().encode("utf-8")
        where = f"${KEY_ENV}"
    else:
        raise EdfiError(
            f"no pseudonym key: set {KEY_ENV} or pass --key-file FILE. student_key is a keyed hash "
            "(HMAC-SHA256) of the Ed-Fi studentUniqueId; an unkeyed hash of a short ID could be reversed by "
            "hashing every possible ID, so the key is what keeps student_key a pseudonym. Keep the key outside "
            "the warehouse and use the same one every year, so that a student keeps the same student_key",
            usage=True,
        )
    if len(secret) < MIN_KEY_BYTES:
        raise EdfiError(
            f"the pseudonym key in {where} is {len(secret)} bytes; use at least {MIN_KEY_BYTES} "
            "random bytes (e.g. python -c 'import secrets; print(secrets.token_hex(32))')",
            usage=True,
        )
    return secret


def student_key(secret: bytes, student_unique_id: str) -> str:
    """Opaque, stable pseudonym of one studentUniqueId under the district's key."""
    digest = hmac.new(secret, str(student_unique_id).strip().encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:STUDENT_KEY_HEX]


# ---------------------------------------------------------------- profile


@dataclass(frozen=True)
class EdfiProfile:
    name: str
    descriptors: dict[str, dict[str, str | None]]
    econ_characteristics: frozenset[str]
    econ_indicators: frozenset[str]
    el_characteristics: frozenset[str]
    el_indicators: frozenset[str]
    indicator_true_values: frozenset[str]
    level_by_grades: dict[str, dict[str, list[str]]]
    behavior_priority: tuple[str, ...]
    days_removed_for: frozenset[str]
    expulsion_services_upgrade: bool
    incident_law_enforcement: str | None
    offender_codes: frozenset[str]


def _norm(text: object) -> str:
    return str(text).strip().lower()


def load_edfi_profile(path: str | Path = PROFILE_PATH) -> EdfiProfile:
    path = Path(path)
    if path.suffix != ".json":
        path = PROFILE_PATH.parent / f"{path}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EdfiError(f"Ed-Fi profile {path} not found", usage=True) from exc
    except json.JSONDecodeError as exc:
        raise EdfiError(f"Ed-Fi profile {path}: not valid JSON at line {exc.lineno}: {exc.msg}", usage=True) from exc
    descriptors = {fld: {_norm(k): v for k, v in table.items()} for fld, table in raw["descriptors"].items()}
    econ, el = raw.get("econ_disadvantaged", {}), raw.get("english_learner_evidence", {})
    return EdfiProfile(
        name=raw.get("name", path.stem),
        descriptors=descriptors,
        econ_characteristics=frozenset(map(_norm, econ.get("student_characteristics", []))),
        econ_indicators=frozenset(map(_norm, econ.get("indicator_names", []))),
        el_characteristics=frozenset(map(_norm, el.get("student_characteristics", []))),
        el_indicators=frozenset(map(_norm, el.get("indicator_names", []))),
        indicator_true_values=frozenset(map(_norm, raw.get("indicator_true_values", ["true"]))),
        level_by_grades={k: v for k, v in raw.get("school_level_by_grades", {}).items() if not k.startswith("_")},
        behavior_priority=tuple(raw.get("behavior_priority", [])),
        days_removed_for=frozenset(raw.get("days_removed_for", [])),
        expulsion_services_upgrade=bool(raw.get("expulsion_with_services_when_services_received", True)),
        incident_law_enforcement=raw.get("incident_reported_to_law_enforcement"),
        offender_codes=frozenset(map(_norm, raw.get("offender_participation_codes", []))),
    )


# ---------------------------------------------------------------- reading


def read_resources(folder: str | Path) -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    """Resource name -> its resources, from FOLDER/<resource>.json (pages: <resource>_2.json ...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EdfiError(f"{folder}: not a folder of Ed-Fi JSON files")
    found: dict[str, list[dict]] = {r: [] for r in RESOURCES}
    files: dict[str, list[str]] = defaultdict(list)
    for path in sorted(folder.glob("*.json")):
        stem = path.stem.lower()
        resource = next(
            (r for r in RESOURCES if stem == r.lower() or re.fullmatch(rf"{r.lower()}[-_.]\w+", stem)), None
        )
        if resource is None:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EdfiError(
                f"{path.name}: not valid JSON ({exc}); export each resource as the JSON array the ODS/API returns"
            ) from exc
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise EdfiError(
                f"{path.name}: expected a JSON array of {resource} resources, as GET /data/v3/ed-fi/{resource} returns"
            )
        found[resource].extend(data)
        files[resource].append(path.name)
    missing = [r for r in REQUIRED_RESOURCES if not files.get(r)]
    if missing:
        raise EdfiError(
            f"{folder}: no {' or '.join(m + '.json' for m in missing)}; the conversion needs at least "
            f"schools and studentSchoolAssociations (optional: {', '.join(RESOURCES[2:])})"
        )
    return found, dict(files)


# ---------------------------------------------------------------- dates and years


def _date(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def year_of_date(day: date) -> str:
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def year_of_edfi(school_year: int | str) -> str:
    """Ed-Fi names a school year by its second calendar year: 2025 is 2024-25."""
    end = int(school_year)
    return f"{end - 1}-{end % 100:02d}"


def year_bounds(school_year: str) -> tuple[date, date]:
    first = int(school_year[:4])
    return date(first, 7, 1), date(first + 1, 6, 30)


def overlaps(begin: date | None, end: date | None, school_year: str) -> bool:
    start, stop = year_bounds(school_year)
    return (begin is None or begin <= stop) and (end is None or end >= start)


def _years_between(first: str, last: str) -> list[str]:
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(int(first[:4]), int(last[:4]) + 1)]


# ---------------------------------------------------------------- conversion


@dataclass
class EdfiConversion:
    """What a conversion did; counts only, never a student's value."""

    out_dir: Path
    school_years: list[str] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)
    resources_read: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    unmapped: Counter = field(default_factory=Counter)  # (resource, field, descriptor) -> count
    notes: Counter = field(default_factory=Counter)  # what was chosen or left out -> count

    def summary(self) -> str:
        lines = [
            f"Ed-Fi export -> interchange CSVs in {self.out_dir} (school years: "
            f"{', '.join(self.school_years) or 'none found'})"
        ]
        for resource, n in self.resources_read.items():
            if n:
                lines.append(f"  read {resource}: {n:,}")
        for entity, n in self.rows_written.items():
            lines.append(f"  wrote {entity}.csv: {n:,} rows")
        for (resource, fld, descriptor), n in sorted(self.unmapped.items()):
            lines.append(
                f"  unmapped descriptor {resource}.{fld} {descriptor!r}: {n:,} occurrences; written as is, "
                "so the load quarantines those rows (add it to the profile's descriptors to map it)"
            )
        for note, n in sorted(self.notes.items()):
            lines.append(f"  {note}: {n:,}")
        lines.append(f"  next: python -m pipelines load {self.out_dir}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "school_years": self.school_years,
            "files": self.files,
            "resources_read": self.resources_read,
            "rows_written": self.rows_written,
            "unmapped_descriptors": [
                {"resource": r, "field": f, "descriptor": d, "count": n}
                for (r, f, d), n in sorted(self.unmapped.items())
            ],
            "notes": dict(sorted(self.notes.items())),
        }


class _Crosswalk:
    """Descriptor URI -> interchange code through the profile; unmapped ones are counted and kept raw."""

    def __init__(self, profile: EdfiProfile, report: EdfiConversion):
        self.profile, self.report = profile, report

    def known(self, fld: str, descriptor: str) -> bool:
        return _norm(descriptor) in self.profile.descriptors.get(fld, {})

    def code(self, fld: str, descriptor: str | None, resource: str) -> str | None:
        """The interchange code, None for a descriptor the profile maps to null, or the raw descriptor."""
        if descriptor is None or str(descriptor).strip() == "":
            return None
        table = self.profile.descriptors.get(fld, {})
        key = _norm(descriptor)
        if key in table:
            return table[key]
        self.report.unmapped[(resource, fld, str(descriptor).strip())] += 1
        return str(descriptor).strip()


def _ref(resource: dict, reference: str, key: str) -> str | None:
    value = (resource.get(reference) or {}).get(key)
    return None if value is None else str(value).strip()


def convert_edfi(
    folder: str | Path,
    out_dir: str | Path,
    secret: bytes,
    school_year: str | None = None,
    profile: EdfiProfile | None = None,
) -> EdfiConversion:
    """Read an Ed-Fi export folder and write schools.csv, enrollment.csv, discipline_actions.csv into out_dir."""
    if school_year is not None and not (
        re.fullmatch(r"\d{4}-\d{2}", school_year) and (int(school_year[:4]) + 1) % 100 == int(school_year[5:])
    ):
        raise EdfiError(f"--school-year {school_year!r} is not a school year like 2024-25", usage=True)
    profile = profile or load_edfi_profile()
    data, files = read_resources(folder)
    report = EdfiConversion(Path(out_dir), files=files, resources_read={r: len(v) for r, v in data.items()})
    cross = _Crosswalk(profile, report)
    keys: dict[str, str] = {}

    def key_of(uid: str) -> str:
        if uid not in keys:
            keys[uid] = student_key(secret, uid)
        return keys[uid]

    schools, lea_of = _schools(data["schools"], profile, cross)
    years = _years(data, school_year)
    report.school_years = years
    enrollment = _enrollment(data, years, lea_of, profile, cross, report, key_of)
    discipline = _discipline(data, set(years), profile, cross, report, key_of)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for entity, rows in (("schools", schools), ("enrollment", enrollment), ("discipline_actions", discipline)):
        _write_csv(out / f"{entity}.csv", ENTITIES[entity].column_names, rows)
        report.rows_written[entity] = len(rows)
    (out / REPORT_NAME).write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    return report


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})


def _yn(flag: bool | None) -> str | None:
    return None if flag is None else ("Y" if flag else "N")


# ---------------------------------------------------------------- schools


def _schools(resources: list[dict], profile: EdfiProfile, cross: _Crosswalk) -> tuple[list[dict], dict[str, str]]:
    rows, lea_of = [], {}
    for school in resources:
        school_id = str(school.get("schoolId", "")).strip()
        lea = _ref(school, "localEducationAgencyReference", "localEducationAgencyId")
        if lea:
            lea_of[school_id] = lea
        rows.append(
            {
                "school_id": school_id,
                "school_name": (school.get("nameOfInstitution") or "").strip(),
                "school_level": _school_level(school, profile, cross),
            }
        )
    return rows, lea_of


def _school_level(school: dict, profile: EdfiProfile, cross: _Crosswalk) -> str | None:
    categories = [c.get("schoolCategoryDescriptor") for c in school.get("schoolCategories") or []]
    mapped = {cross.code("school_level", c, "schools") for c in categories if c}
    levels = {m for m in mapped if m in ("elementary", "middle", "high", "k12", "other")}
    if len(levels) == 1:
        return levels.pop()
    grades = [
        cross.code("grade_level", g.get("gradeLevelDescriptor"), "schools") for g in school.get("gradeLevels") or []
    ]
    order = [g for g in GRADE_LEVELS if g != "ug"]
    served = sorted({g for g in grades if g in order}, key=order.index)
    if served:
        low, high = order.index(served[0]), order.index(served[-1])
        for level, spans in profile.level_by_grades.items():
            lo_range = [order.index(g) for g in spans["lowest"]]
            hi_range = [order.index(g) for g in spans["highest"]]
            if lo_range[0] <= low <= lo_range[1] and hi_range[0] <= high <= hi_range[1]:
                return level
        return "other"
    unmapped = sorted(m for m in mapped if m and m not in levels)
    return unmapped[0] if unmapped else None


# ---------------------------------------------------------------- enrollment


def _association_years(assoc: dict, last_year: str) -> list[str]:
    year = (assoc.get("schoolYearTypeReference") or {}).get("schoolYear")
    if year:
        return [year_of_edfi(year)]
    entry = _date(assoc.get("entryDate"))
    if entry is None:
        return []
    exit_ = _date(assoc.get("exitWithdrawDate"))
    last = year_of_date(exit_) if exit_ else max(last_year, year_of_date(entry))
    return _years_between(year_of_date(entry), last)


def _years(data: dict[str, list[dict]], school_year: str | None) -> list[str]:
    if school_year:
        return [school_year]
    dated = [_date(a.get("entryDate")) for a in data["studentSchoolAssociations"]]
    dated += [_date(i.get("incidentDate")) for i in data["disciplineIncidents"]]
    dated += [_date(a.get("disciplineDate")) for a in data["disciplineActions"]]
    explicit = [
        year_of_edfi(y)
        for a in data["studentSchoolAssociations"]
        if (y := (a.get("schoolYearTypeReference") or {}).get("schoolYear"))
    ]
    candidates = [year_of_date(d) for d in dated if d] + explicit
    if not candidates:
        return []
    last = max(candidates)
    return sorted({y for a in data["studentSchoolAssociations"] for y in _association_years(a, last)})


def _days_in_year(assoc: dict, school_year: str) -> int:
    start, stop = year_bounds(school_year)
    begin = max(_date(assoc.get("entryDate")) or start, start)
    end = min(_date(assoc.get("exitWithdrawDate")) or stop, stop)
    return (end - begin).days + 1


def _enrollment(
    data: dict[str, list[dict]],
    years: list[str],
    lea_of: dict[str, str],
    profile: EdfiProfile,
    cross: _Crosswalk,
    report: EdfiConversion,
    key_of,
) -> list[dict]:
    last = years[-1] if years else "0000-01"
    by_year_student: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for assoc in data["studentSchoolAssociations"]:
        uid = _ref(assoc, "studentReference", "studentUniqueId")
        if not uid:
            report.notes["studentSchoolAssociations without a studentUniqueId (skipped)"] += 1
            continue
        for year in _association_years(assoc, last):
            if year in years:
                by_year_student[(year, uid)].append(assoc)
    seoas: dict[str, dict[str, dict]] = defaultdict(dict)
    for seoa in data["studentEducationOrganizationAssociations"]:
        uid = _ref(seoa, "studentReference", "studentUniqueId")
        org = _ref(seoa, "educationOrganizationReference", "educationOrganizationId")
        if uid and org:
            seoas[uid][org] = seoa
    programs = {
        name: defaultdict(list)
        for name in ("studentSpecialEducationProgramAssociations", "studentSection504ProgramAssociations")
    }
    for name, index in programs.items():
        for assoc in data[name]:
            if uid := _ref(assoc, "studentReference", "studentUniqueId"):
                index[uid].append(assoc)
    rows = []
    for (year, uid), assocs in sorted(by_year_student.items(), key=lambda kv: (kv[0][0], key_of(kv[0][1]))):
        if len(assocs) > 1:
            report.notes[
                f"students with 2+ school associations in {year} (one kept: primarySchool, then "
                "longest stay, then latest entryDate)"
            ] += 1
        assoc = min(
            assocs,
            key=lambda a: (
                a.get("primarySchool") is not True,
                -_days_in_year(a, year),
                -(_date(a.get("entryDate")) or date.min).toordinal(),
                str(_ref(a, "schoolReference", "schoolId")),
            ),
        )
        school_id = _ref(assoc, "schoolReference", "schoolId")
        row = {
            "school_year": year,
            "student_key": key_of(uid),
            "school_id": school_id,
            "grade_level": cross.code(
                "grade_level", assoc.get("entryGradeLevelDescriptor"), "studentSchoolAssociations"
            ),
        }
        row.update(
            _demographics(seoas.get(uid, {}), school_id, lea_of.get(school_id or ""), year, profile, cross, report)
        )
        row.update(
            _programs(
                programs["studentSpecialEducationProgramAssociations"].get(uid, []),
                programs["studentSection504ProgramAssociations"].get(uid, []),
                seoas.get(uid, {}),
                year,
                cross,
                report,
            )
        )
        rows.append(row)
    return rows


def _applies(entry: dict, school_year: str) -> bool:
    periods = entry.get("periods") or []
    return not periods or any(
        overlaps(_date(p.get("beginDate")), _date(p.get("endDate")), school_year) for p in periods
    )


def _evidence(
    seoa: dict, characteristics: frozenset[str], indicators: frozenset[str], year: str, true_values: frozenset[str]
) -> bool:
    for c in seoa.get("studentCharacteristics") or []:
        if _norm(c.get("studentCharacteristicDescriptor", "")) in characteristics and _applies(c, year):
            return True
    for i in seoa.get("studentIndicators") or []:
        if (
            _norm(i.get("indicatorName", "")) in indicators
            and _norm(i.get("indicator", "")) in true_values
            and _applies(i, year)
        ):
            return True
    return False


def _demographics(
    by_org: dict[str, dict],
    school_id: str | None,
    lea_id: str | None,
    year: str,
    profile: EdfiProfile,
    cross: _Crosswalk,
    report: EdfiConversion,
) -> dict:
    seoa = by_org.get(school_id or "") or by_org.get(lea_id or "")
    if seoa is None and by_org:
        seoa = by_org[min(by_org)]
    if seoa is None:
        report.notes[
            "enrolled students without a studentEducationOrganizationAssociation (sex, race, EL and "
            "economic status blank; the load quarantines them)"
        ] += 1
        return {"sex": None, "race_ethnicity": None, "english_learner": None, "econ_disadvantaged": None}
    resource = "studentEducationOrganizationAssociations"
    el = cross.code("english_learner", seoa.get("limitedEnglishProficiencyDescriptor"), resource)
    if el in (None, "N") and _evidence(
        seoa, profile.el_characteristics, profile.el_indicators, year, profile.indicator_true_values
    ):
        el = "Y"
    econ = _evidence(seoa, profile.econ_characteristics, profile.econ_indicators, year, profile.indicator_true_values)
    return {
        "sex": cross.code("sex", seoa.get("sexDescriptor"), resource),
        "race_ethnicity": _race(seoa, cross, report),
        "english_learner": el or "N",
        "econ_disadvantaged": _yn(econ),
    }


def _race(seoa: dict, cross: _Crosswalk, report: EdfiConversion) -> str | None:
    """ED's seven categories: Hispanic/Latino of any race, else the one race, else two or more (mu)."""
    resource = "studentEducationOrganizationAssociations"
    descriptors = sorted({r.get("raceDescriptor", "").strip() for r in seoa.get("races") or []} - {""})
    if seoa.get("hispanicLatinoEthnicity") is True:
        for d in descriptors:  # still reported when unknown, though hi wins
            cross.code("race", d, resource)
        return "hi"
    codes = [cross.code("race", d, resource) for d in descriptors]
    unknown = [c for d, c in zip(descriptors, codes) if not cross.known("race", d)]
    if unknown:
        return unknown[0]
    mapped = sorted({c for c in codes if c})
    if not mapped:
        report.notes["students with no race and hispanicLatinoEthnicity not true (race blank; quarantined)"] += 1
        return None
    return mapped[0] if len(mapped) == 1 else "mu"


def _programs(
    sped: list[dict], s504: list[dict], by_org: dict[str, dict], year: str, cross: _Crosswalk, report: EdfiConversion
) -> dict:
    idea_assocs = [
        a
        for a in sped
        if a.get("ideaEligibility") is not False and overlaps(_date(a.get("beginDate")), _date(a.get("endDate")), year)
    ]
    section_504 = any(
        a.get("section504Eligibility") is True and overlaps(_date(a.get("beginDate")), _date(a.get("endDate")), year)
        for a in s504
    )
    disability = None
    if idea_assocs:
        resource = "studentSpecialEducationProgramAssociations"
        listed = [d for a in idea_assocs for d in a.get("disabilities") or []]
        if not listed:
            resource = "studentEducationOrganizationAssociations"
            listed = [d for s in by_org.values() for d in s.get("disabilities") or []]
        if listed:
            primary = min(listed, key=lambda d: (d.get("orderOfDisability") or 99, d.get("disabilityDescriptor", "")))
            disability = cross.code("idea_disability", primary.get("disabilityDescriptor"), resource)
        else:
            report.notes["IDEA students with no disability descriptor (idea_disability blank; quarantined)"] += 1
    return {"idea": _yn(bool(idea_assocs)), "idea_disability": disability, "section_504": _yn(section_504)}


# ---------------------------------------------------------------- discipline


def _discipline(
    data: dict[str, list[dict]],
    years: set[str],
    profile: EdfiProfile,
    cross: _Crosswalk,
    report: EdfiConversion,
    key_of,
) -> list[dict]:
    incidents = {
        (_ref(i, "schoolReference", "schoolId"), str(i.get("incidentIdentifier", "")).strip()): i
        for i in data["disciplineIncidents"]
    }
    behaviors: dict[tuple, list[dict]] = defaultdict(list)
    for b in data["studentDisciplineIncidentBehaviorAssociations"]:
        incident = (
            _ref(b, "disciplineIncidentReference", "schoolId"),
            _ref(b, "disciplineIncidentReference", "incidentIdentifier"),
        )
        behaviors[(*incident, _ref(b, "studentReference", "studentUniqueId"))].append(b)
    rows: list[dict] = []
    disciplined: set[tuple] = set()
    for action in data["disciplineActions"]:
        uid = _ref(action, "studentReference", "studentUniqueId")
        if not uid:
            report.notes["disciplineActions without a studentUniqueId (skipped)"] += 1
            continue
        incident_key, refs = _incident_of(action, incidents, report)
        incident = incidents.get(incident_key) if incident_key else None
        day = _date(incident.get("incidentDate")) if incident else None
        day = day or _date(action.get("disciplineDate"))
        if day is None or year_of_date(day) not in years:
            continue
        if incident_key:
            disciplined.add((*incident_key, uid))
        school_id = (incident_key[0] if incident_key else None) or _ref(
            action, "responsibilitySchoolReference", "schoolId"
        )
        behavior = _behavior(
            refs, behaviors.get((*incident_key, uid), []) if incident_key else [], incident, profile, cross
        )
        length = action.get("actualDisciplineActionLength", action.get("disciplineActionLength"))
        identifier = str(action.get("disciplineActionIdentifier", "")).strip()
        descriptors = sorted(
            {d.get("disciplineDescriptor", "").strip() for d in action.get("disciplines") or []} - {""}
        )
        for n, descriptor in enumerate(descriptors, start=1):
            action_type = cross.code("action_type", descriptor, "disciplineActions")
            if action_type is None:
                report.notes[
                    "disciplines mapped to null by the profile (e.g. No action for incident; not written)"
                ] += 1
                continue
            if (
                action_type == "expulsion_without_services"
                and profile.expulsion_services_upgrade
                and action.get("receivedEducationServicesDuringExpulsion") is True
            ):
                action_type = "expulsion_with_services"
            rows.append(
                {
                    "action_id": f"{identifier}-{action.get('disciplineDate', '')}-{key_of(uid)[:8]}-{n}",
                    "incident_id": f"{incident_key[0]}-{incident_key[1]}" if incident_key else None,
                    "school_year": year_of_date(day),
                    "school_id": school_id,
                    "student_key": key_of(uid),
                    "incident_date": day.isoformat(),
                    "behavior": behavior,
                    "action_type": action_type,
                    "days_removed": _days(length) if action_type in profile.days_removed_for else None,
                    "related_case_id": None,
                }
            )
    if profile.incident_law_enforcement:
        rows += _law_enforcement_rows(incidents, behaviors, disciplined, years, profile, cross, report, key_of)
    return rows


def _incident_of(action: dict, incidents: dict, report: EdfiConversion) -> tuple[tuple | None, list[dict]]:
    """The incident an action answers (the earliest when several) and the behavior references to it."""
    refs = []
    for item in action.get("studentDisciplineIncidentBehaviorAssociations") or []:
        refs.append(item.get("studentDisciplineIncidentBehaviorAssociationReference") or {})
    for item in action.get("studentDisciplineIncidentAssociations") or []:
        refs.append(item.get("studentDisciplineIncidentAssociationReference") or {})
    keys = sorted(
        {
            (str(r.get("schoolId", "")).strip(), str(r.get("incidentIdentifier", "")).strip())
            for r in refs
            if r.get("incidentIdentifier") is not None
        }
    )
    if not keys:
        report.notes["disciplineActions with no incident reference (incident_id blank; quarantined)"] += 1
        return None, []
    if len(keys) > 1:
        report.notes["disciplineActions referring to 2+ incidents (the earliest kept)"] += 1
    key = min(keys, key=lambda k: (_date((incidents.get(k) or {}).get("incidentDate")) or date.max, k))
    if key not in incidents:
        report.notes["incident references not found in disciplineIncidents (incident_date from disciplineDate)"] += 1
    return key, [
        r for r in refs if (str(r.get("schoolId", "")).strip(), str(r.get("incidentIdentifier", "")).strip()) == key
    ]


def _behavior(
    refs: list[dict], associations: list[dict], incident: dict | None, profile: EdfiProfile, cross: _Crosswalk
) -> str | None:
    """The most serious mapped behavior (profile's behavior_priority) of the student in the incident."""
    sources = [("disciplineActions", r.get("behaviorDescriptor")) for r in refs]
    sources += [("studentDisciplineIncidentBehaviorAssociations", a.get("behaviorDescriptor")) for a in associations]
    if not any(d for _, d in sources) and incident:
        sources = [("disciplineIncidents", b.get("behaviorDescriptor")) for b in incident.get("behaviors") or []]
    seen: dict[str, str] = {}
    for resource, descriptor in sources:
        if descriptor and _norm(descriptor) not in seen:
            seen[_norm(descriptor)] = cross.code("behavior", descriptor, resource)
    codes = [c for c in seen.values() if c]
    mapped = [c for c in codes if c in profile.behavior_priority]
    if mapped:
        return min(mapped, key=profile.behavior_priority.index)
    return codes[0] if codes else None


def _days(length: object) -> str | None:
    if length is None or length == "":
        return None
    try:
        value = float(length)
    except (TypeError, ValueError):
        return str(length)
    return str(int(value)) if value.is_integer() else str(value)


def _law_enforcement_rows(
    incidents: dict,
    behaviors: dict,
    disciplined: set,
    years: set[str],
    profile: EdfiProfile,
    cross: _Crosswalk,
    report: EdfiConversion,
    key_of,
) -> list[dict]:
    """One referral per offender of an incident with reportedToLawEnforcement = true."""
    offenders: dict[tuple, set[str]] = defaultdict(set)
    for (school, identifier, uid), assocs in behaviors.items():
        for a in assocs:
            codes = {
                _norm(c.get("disciplineIncidentParticipationCodeDescriptor", ""))
                for c in a.get("disciplineIncidentParticipationCodes") or []
            }
            if not codes or codes & profile.offender_codes:
                offenders[(school, identifier)].add(uid)
    for school, identifier, uid in disciplined:
        offenders[(school, identifier)].add(uid)
    rows = []
    for key, incident in sorted(incidents.items()):
        if incident.get("reportedToLawEnforcement") is not True:
            continue
        day = _date(incident.get("incidentDate"))
        if day is None or year_of_date(day) not in years:
            continue
        if not offenders.get(key):
            report.notes["incidents reported to law enforcement with no student offender (no referral row)"] += 1
        for uid in sorted(offenders.get(key, ()), key=key_of):
            report.notes["law_enforcement_referral rows from incidents reported to law enforcement"] += 1
            rows.append(
                {
                    "action_id": f"le-{key[0]}-{key[1]}-{key_of(uid)[:8]}",
                    "incident_id": f"{key[0]}-{key[1]}",
                    "school_year": year_of_date(day),
                    "school_id": key[0],
                    "student_key": key_of(uid),
                    "incident_date": day.isoformat(),
                    "behavior": _behavior([], behaviors.get((*key, uid), []), incident, profile, cross),
                    "action_type": profile.incident_law_enforcement,
                    "days_removed": None,
                    "related_case_id": None,
                }
            )
    return rows
