"""A small Ed-Fi ODS/API export, built by code from the Ed-Fi Data Standard's resource definitions.

Shapes follow the ODS/API resources of Data Standard 4/5 (property names as in the Ed-Fi SIS
certification scenarios, docs/partners/2-certification/available-certifications/sis-v4/test-scenarios
of Ed-Fi-Alliance-OSS/ed-fi-alliance-oss.github.io, and the ODS/API 6.2 client models); descriptor
values are the Ed-Fi defaults of Ed-Fi-Alliance-OSS/Ed-Fi-Data-Standard, Descriptors/*.xml. Every
name, birth date and ID is invented. The identifying fields (names, birth dates, studentUniqueId,
identification codes, addresses, e-mail, phones, incident narratives) are filled in on purpose, so
that tests can prove none of them reaches the output.
"""

from __future__ import annotations

import json
from pathlib import Path

LEA = 255901
HIGH, MIDDLE, ELEMENTARY = 255901001, 255901044, 255901107
ED = "uri://ed-fi.org"
UNKNOWN_RACE = "uri://district.example.org/RaceDescriptor#Unreported"
UNKNOWN_BEHAVIOR = "uri://district.example.org/BehaviorDescriptor#Vaping"


def d(kind: str, value: str) -> str:
    return f"{ED}/{kind}Descriptor#{value}"


# uid -> (first, last, birth date, school, grade, sex, hispanic, races, extras)
STUDENTS = {
    "605001": ("Avery", "Quillfeather", "2010-03-14"),
    "605002": ("Brennan", "Oakhollow", "2009-07-02"),
    "605003": ("Calla", "Pinewhistle", "2012-11-23"),
    "605004": ("Dorian", "Marshbrook", "2016-01-30"),
    "605005": ("Elowen", "Thistledown", "2019-05-05"),
    "605006": ("Fennick", "Stonebridge", "2008-09-09"),
    "605007": ("Galen", "Ashgrove", "2007-12-12"),
    "605008": ("Harlow", "Wrenfield", "2011-04-18"),
}

# What tests/test_edfi.py expects in the warehouse for 2024-25 (and 2023-24 for 605007).
EXPECTED_2024_25 = {
    "605001": {
        "school_id": str(HIGH),
        "grade_level": "09",
        "sex": "f",
        "race_ethnicity": "bl",
        "idea": False,
        "idea_disability": None,
        "section_504": False,
        "english_learner": False,
        "econ_disadvantaged": True,
    },
    "605002": {
        "school_id": str(HIGH),
        "grade_level": "10",
        "sex": "m",
        "race_ethnicity": "mu",
        "idea": True,
        "idea_disability": "sld",
        "section_504": False,
        "english_learner": False,
        "econ_disadvantaged": False,
    },
    "605003": {
        "school_id": str(MIDDLE),
        "grade_level": "07",
        "sex": "m",
        "race_ethnicity": "hi",
        "idea": False,
        "idea_disability": None,
        "section_504": True,
        "english_learner": True,
        "econ_disadvantaged": False,
    },
    "605004": {
        "school_id": str(ELEMENTARY),
        "grade_level": "03",
        "sex": "x",
        "race_ethnicity": "as",
        "idea": False,
        "idea_disability": None,
        "section_504": False,
        "english_learner": True,
        "econ_disadvantaged": False,
    },
    "605005": {
        "school_id": str(ELEMENTARY),
        "grade_level": "kg",
        "sex": "f",
        "race_ethnicity": "am",
        "idea": True,
        "idea_disability": "aut",
        "section_504": False,
        "english_learner": False,
        "econ_disadvantaged": False,
    },
    "605007": {
        "school_id": str(HIGH),
        "grade_level": "12",
        "sex": "f",
        "race_ethnicity": "pi",
        "idea": False,
        "idea_disability": None,
        "section_504": False,
        "english_learner": False,
        "econ_disadvantaged": False,
    },
    "605008": {
        "school_id": str(MIDDLE),
        "grade_level": "08",
        "sex": "m",
        "race_ethnicity": "wh",
        "idea": False,
        "idea_disability": None,
        "section_504": False,
        "english_learner": False,
        "econ_disadvantaged": False,
    },
}
QUARANTINED_STUDENT = "605006"  # race descriptor outside the crosswalk


def student_ref(uid: str) -> dict:
    return {"studentUniqueId": uid, "link": {"rel": "Student", "href": f"/ed-fi/students/{uid}abc"}}


def schools() -> list[dict]:
    def school(school_id: int, name: str, categories: list[str], grades: list[str]) -> dict:
        return {
            "id": f"s{school_id}",
            "schoolId": school_id,
            "nameOfInstitution": name,
            "shortNameOfInstitution": name.split()[0],
            "educationOrganizationCategories": [
                {"educationOrganizationCategoryDescriptor": d("EducationOrganizationCategory", "School")}
            ],
            "gradeLevels": [{"gradeLevelDescriptor": d("GradeLevel", g)} for g in grades],
            "schoolCategories": [{"schoolCategoryDescriptor": d("SchoolCategory", c)} for c in categories],
            "localEducationAgencyReference": {"localEducationAgencyId": LEA},
            "addresses": [
                {
                    "addressTypeDescriptor": d("AddressType", "Physical"),
                    "city": "Grand Bend",
                    "postalCode": "78834",
                    "stateAbbreviationDescriptor": d("StateAbbreviation", "TX"),
                    "streetNumberName": "100 School Lane",
                }
            ],
        }

    return [
        school(
            HIGH,
            "Grand Bend High School",
            ["High School"],
            ["Ninth grade", "Tenth grade", "Eleventh grade", "Twelfth grade"],
        ),
        school(MIDDLE, "Grand Bend Middle School", [], ["Sixth grade", "Seventh grade", "Eighth grade"]),
        school(
            ELEMENTARY,
            "Grand Bend Elementary School",
            ["Elementary School"],
            ["Kindergarten", "First grade", "Second grade", "Third grade", "Fourth grade", "Fifth grade"],
        ),
    ]


def students() -> list[dict]:
    return [
        {
            "id": f"st{uid}",
            "studentUniqueId": uid,
            "firstName": first,
            "lastSurname": last,
            "birthDate": born,
            "birthCity": "Grand Bend",
            "birthSexDescriptor": d("Sex", "Female"),
        }
        for uid, (first, last, born) in STUDENTS.items()
    ]


def student_school_associations() -> list[dict]:
    def ssa(
        uid: str, school: int, grade: str, entry: str, exit_: str | None = None, school_year: int | None = 2025
    ) -> dict:
        row = {
            "id": f"ssa{uid}{school}{entry}",
            "entryDate": entry,
            "schoolReference": {"schoolId": school},
            "studentReference": student_ref(uid),
            "entryGradeLevelDescriptor": d("GradeLevel", grade),
            "entryTypeDescriptor": d("EntryType", "Next year school"),
        }
        if school_year:
            row["schoolYearTypeReference"] = {"schoolYear": school_year}
        if exit_:
            row["exitWithdrawDate"] = exit_
            row["exitWithdrawTypeDescriptor"] = d("ExitWithdrawType", "Student is in a different public school")
        return row

    return [
        # 605001 moved from the middle school to the high school in September: one row, the longer stay
        ssa("605001", MIDDLE, "Ninth grade", "2024-08-20", "2024-09-15", school_year=None),
        ssa("605001", HIGH, "Ninth grade", "2024-09-16", school_year=None),
        ssa("605002", HIGH, "Tenth grade", "2024-08-20"),
        ssa("605003", MIDDLE, "Seventh grade", "2024-08-20"),
        ssa("605004", ELEMENTARY, "Third grade", "2024-08-20"),
        ssa("605005", ELEMENTARY, "Kindergarten", "2024-08-20"),
        ssa("605006", HIGH, "Eleventh grade", "2024-08-20"),
        ssa("605007", HIGH, "Eleventh grade", "2023-08-21", "2024-05-31", school_year=2024),
        ssa("605007", HIGH, "Twelfth grade", "2024-08-20"),
        ssa("605008", MIDDLE, "Eighth grade", "2024-08-20"),
    ]


def student_education_organization_associations() -> list[dict]:
    def seoa(
        uid: str,
        sex: str,
        races: list[str],
        hispanic: bool = False,
        lep: str | None = "NotLimited",
        characteristics: list[dict] | None = None,
        indicators: list[dict] | None = None,
    ) -> dict:
        row = {
            "id": f"seoa{uid}",
            "educationOrganizationReference": {"educationOrganizationId": LEA},
            "studentReference": student_ref(uid),
            "sexDescriptor": d("Sex", sex),
            "hispanicLatinoEthnicity": hispanic,
            "races": [{"raceDescriptor": r if r.startswith("uri://") else d("Race", r)} for r in races],
            "studentCharacteristics": characteristics or [],
            "studentIndicators": indicators or [],
            "studentIdentificationCodes": [
                {
                    "assigningOrganizationIdentificationCode": "State",
                    "identificationCode": f"TX{uid}",
                    "studentIdentificationSystemDescriptor": d("StudentIdentificationSystem", "State"),
                }
            ],
            "addresses": [
                {
                    "addressTypeDescriptor": d("AddressType", "Home"),
                    "city": "Grand Bend",
                    "postalCode": "78834",
                    "stateAbbreviationDescriptor": d("StateAbbreviation", "TX"),
                    "streetNumberName": f"{uid[-3:]} Cedar Street",
                }
            ],
            "telephones": [
                {
                    "telephoneNumber": f"512-555-{uid[-4:]}",
                    "telephoneNumberTypeDescriptor": d("TelephoneNumberType", "Home"),
                }
            ],
            "electronicMails": [
                {
                    "electronicMailAddress": f"{STUDENTS[uid][0].lower()}@example.org",
                    "electronicMailTypeDescriptor": d("ElectronicMailType", "Other"),
                }
            ],
        }
        if lep:
            row["limitedEnglishProficiencyDescriptor"] = d("LimitedEnglishProficiency", lep)
        return row

    econ = {"studentCharacteristicDescriptor": d("StudentCharacteristic", "Economic Disadvantaged")}
    return [
        seoa("605001", "Female", ["Black - African American"], characteristics=[econ]),
        seoa("605002", "Male", ["White", "Asian"]),
        seoa("605003", "Male", ["White"], hispanic=True, lep="Limited"),
        seoa(
            "605004",
            "Non-binary",
            ["Asian"],
            lep=None,
            indicators=[{"indicatorName": "English Learner", "indicator": "Yes"}],
        ),
        seoa("605005", "Female", ["American Indian - Alaska Native"]),
        seoa("605006", "Male", [UNKNOWN_RACE]),
        seoa("605007", "Female", ["Native Hawaiian - Pacific Islander"], lep="Limited Monitored 1"),
        # economic disadvantage that ended before 2024-25
        seoa(
            "605008",
            "Male",
            ["White"],
            characteristics=[{**econ, "periods": [{"beginDate": "2021-08-23", "endDate": "2023-06-30"}]}],
        ),
    ]


def program_ref(name: str, kind: str) -> dict:
    return {"educationOrganizationId": LEA, "programName": name, "programTypeDescriptor": d("ProgramType", kind)}


def special_education_associations() -> list[dict]:
    def sped(uid: str, disabilities: list[tuple[str, int]]) -> dict:
        return {
            "id": f"sped{uid}",
            "beginDate": "2023-09-01",
            "educationOrganizationReference": {"educationOrganizationId": LEA},
            "programReference": program_ref("Special Education", "Special Education"),
            "studentReference": student_ref(uid),
            "ideaEligibility": True,
            "disabilities": [
                {"disabilityDescriptor": d("Disability", name), "orderOfDisability": order}
                for name, order in disabilities
            ],
            "specialEducationSettingDescriptor": d(
                "SpecialEducationSetting", "Inside regular class 80% or more of the day"
            ),
        }

    return [
        sped("605002", [("Specific Learning Disability", 1)]),
        sped("605005", [("Speech or Language Impairment", 2), ("Autism Spectrum Disorders", 1)]),
    ]


def section_504_associations() -> list[dict]:
    return [
        {
            "id": "s504-605003",
            "beginDate": "2024-01-10",
            "educationOrganizationReference": {"educationOrganizationId": LEA},
            "programReference": program_ref("Section 504", "Section 504 Placement"),
            "studentReference": student_ref("605003"),
            "section504Eligibility": True,
            "accommodationPlan": True,
        }
    ]


def discipline_incidents() -> list[dict]:
    def incident(identifier: str, school: int, day: str, behavior: str, reported: bool) -> dict:
        return {
            "id": f"di{identifier}",
            "incidentIdentifier": identifier,
            "schoolReference": {"schoolId": school},
            "incidentDate": day,
            "behaviors": [{"behaviorDescriptor": behavior}],
            "incidentDescription": "Avery Quillfeather and Brennan Oakhollow argued near the gym",
            "reporterName": "Morgan Teachwell",
            "reportedToLawEnforcement": reported,
            "incidentLocationDescriptor": d("IncidentLocation", "Hallway"),
        }

    return [
        incident("INC-1", HIGH, "2024-10-15", d("Behavior", "School Code of Conduct"), True),
        incident("INC-2", MIDDLE, "2025-02-03", UNKNOWN_BEHAVIOR, False),
        incident("INC-3", MIDDLE, "2025-03-01", d("Behavior", "School Violation"), False),
    ]


def behavior_associations() -> list[dict]:
    def sdiba(uid: str, identifier: str, school: int, behavior: str) -> dict:
        return {
            "id": f"b{uid}{identifier}",
            "behaviorDescriptor": behavior,
            "disciplineIncidentReference": {"incidentIdentifier": identifier, "schoolId": school},
            "studentReference": student_ref(uid),
            "behaviorDetailedDescription": f"{STUDENTS[uid][0]} pushed another student",
            "disciplineIncidentParticipationCodes": [
                {
                    "disciplineIncidentParticipationCodeDescriptor": d(
                        "DisciplineIncidentParticipationCode", "Perpetrator"
                    )
                }
            ],
        }

    return [
        sdiba("605001", "INC-1", HIGH, d("Behavior", "School Code of Conduct")),
        sdiba("605002", "INC-1", HIGH, d("Behavior", "School Code of Conduct")),
        sdiba("605003", "INC-2", MIDDLE, UNKNOWN_BEHAVIOR),
        sdiba("605008", "INC-3", MIDDLE, d("Behavior", "School Violation")),
    ]


def discipline_actions() -> list[dict]:
    def action(
        identifier: str,
        uid: str,
        day: str,
        discipline: str,
        incident: str,
        school: int,
        behavior: str,
        length: float | None,
        **extra,
    ) -> dict:
        row = {
            "id": f"da{identifier}",
            "disciplineActionIdentifier": identifier,
            "disciplineDate": day,
            "disciplines": [{"disciplineDescriptor": d("Discipline", discipline)}],
            "studentReference": student_ref(uid),
            "responsibilitySchoolReference": {"schoolId": school},
            "studentDisciplineIncidentBehaviorAssociations": [
                {
                    "studentDisciplineIncidentBehaviorAssociationReference": {
                        "behaviorDescriptor": behavior,
                        "incidentIdentifier": incident,
                        "schoolId": school,
                        "studentUniqueId": uid,
                    }
                }
            ],
            "iepPlacementMeetingIndicator": False,
            **extra,
        }
        if length is not None:
            row["actualDisciplineActionLength"] = length
        return row

    return [
        action(
            "DA-1",
            "605001",
            "2024-10-16",
            "Out of School Suspension",
            "INC-1",
            HIGH,
            d("Behavior", "School Code of Conduct"),
            3,
        ),
        action(
            "DA-2",
            "605002",
            "2024-10-16",
            "In School Suspension",
            "INC-1",
            HIGH,
            d("Behavior", "School Code of Conduct"),
            1,
        ),
        action(
            "DA-3",
            "605003",
            "2025-02-04",
            "Expulsion",
            "INC-2",
            MIDDLE,
            UNKNOWN_BEHAVIOR,
            45,
            receivedEducationServicesDuringExpulsion=True,
        ),
        action(
            "DA-4",
            "605008",
            "2025-03-02",
            "No action for incident",
            "INC-3",
            MIDDLE,
            d("Behavior", "School Violation"),
            None,
        ),
    ]


def export() -> dict[str, list[dict]]:
    return {
        "schools": schools(),
        "students": students(),
        "studentSchoolAssociations": student_school_associations(),
        "studentEducationOrganizationAssociations": student_education_organization_associations(),
        "studentSpecialEducationProgramAssociations": special_education_associations(),
        "studentSection504ProgramAssociations": section_504_associations(),
        "disciplineIncidents": discipline_incidents(),
        "studentDisciplineIncidentBehaviorAssociations": behavior_associations(),
        "disciplineActions": discipline_actions(),
    }


def write_export(folder: Path) -> Path:
    """One <resource>.json per resource, as JSON arrays (the ODS/API's GET response bodies)."""
    folder.mkdir(parents=True, exist_ok=True)
    for resource, items in export().items():
        (folder / f"{resource}.json").write_text(json.dumps(items, indent=2), encoding="utf-8")
    return folder


def identifying_values() -> list[str]:
    """Every value of the export that names or identifies a student: none may reach an output."""
    values = []
    for uid, (first, last, born) in STUDENTS.items():
        values += [
            uid,
            first,
            last,
            born,
            f"TX{uid}",
            f"512-555-{uid[-4:]}",
            f"{first.lower()}@example.org",
            f"{uid[-3:]} Cedar Street",
        ]
    values += ["Morgan Teachwell", "argued near the gym", "pushed another student"]
    return values
