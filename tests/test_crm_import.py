"""CRM import: malformed files name the file, CSV line and column; lenient mode counts skips;
a column mapping reads a Salesforce-style export without editing it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.data.crm import read_crm
from engine.errors import InputError

GOOD = {
    "leads.csv": [
        "id,created_at,segment,region,source,owner,score",
        "L1,2026-01-05T10:00:00,SMB,EMEA,web,S1,10",
        "L2,2026-01-06,Mid-Market,NA,,S1,20",
        "L3,2026-01-07T08:30:00+01:00,SMB,NA,event,S2,",
    ],
    "opportunities.csv": [
        "id,lead_id,account_id,created_at,amount,closed_at,won,owner",
        "O1,L1,A1,2026-01-10,1000,2026-02-01,true,AE1",
        "O2,L2,A2,2026-01-12,2000.50,,,AE1",
        "O3,L3,A3,2026-01-15,0,2026-03-01,false,AE2",
    ],
    "stage_history.csv": [
        "lead_id,opportunity_id,stage,entered_at",
        "L1,,contact,2026-01-05T10:00:00",
        "L2,,contact,2026-01-06",
        ",O1,discovery,2026-01-10",
        ",O2,discovery,2026-01-12",
    ],
    "activities.csv": [
        "rep,type,at,lead_id,opportunity_id",
        "S1,email,2026-01-05T11:00:00,L1,",
        "S1,call,2026-01-06T12:00:00,L2,",
        "AE1,demo,2026-01-11,,O1",
    ],
}


def write(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def mutate(file: str, line: int, text: str) -> dict[str, list[str]]:
    """GOOD with `file`'s line (1-based) replaced by `text` (appended past the end)."""
    files = {k: list(v) for k, v in GOOD.items()}
    if line > len(files[file]):
        files[file].append(text)
    else:
        files[file][line - 1] = text
    return files


# (case, file, line to replace, new text, expected line, expected column, words in the message)
CASES = [
    ("lead column missing", "leads.csv", 1, "id,segment,region,source,owner,score", 1,
     "created_at", "missing column"),
    ("lead segment empty", "leads.csv", 3, "L2,2026-01-06,,NA,,S1,20", 3, "segment", "missing value"),
    ("lead date unparsable", "leads.csv", 2, "L1,2026-13-45,SMB,EMEA,web,S1,10", 2, "created_at",
     "unparsable date"),
    ("lead id duplicated", "leads.csv", 5, "L1,2026-01-08,SMB,NA,event,S2,", 5, "id", "duplicate id"),
    ("negative amount", "opportunities.csv", 3, "O2,L2,A2,2026-01-12,-5,,,AE1", 3, "amount",
     "negative amount"),
    ("amount not a number", "opportunities.csv", 2, "O1,L1,A1,2026-01-10,lots,2026-02-01,true,AE1", 2,
     "amount", "not a number"),
    ("opportunity of unknown lead", "opportunities.csv", 4, "O3,L9,A3,2026-01-15,0,2026-03-01,false,AE2",
     4, "lead_id", "unknown lead id"),
    ("won not a flag", "opportunities.csv", 2, "O1,L1,A1,2026-01-10,1000,2026-02-01,maybe,AE1", 2,
     "won", "not a yes/no value"),
    ("closed before created", "opportunities.csv", 4, "O3,L3,A3,2026-01-15,0,2026-01-02,false,AE2", 4,
     "closed_at", "closed before creation"),
    ("won without close date", "opportunities.csv", 3, "O2,L2,A2,2026-01-12,2000,,true,AE1", 3,
     "closed_at", "missing value for a won/lost"),
    ("close date without outcome", "opportunities.csv", 3, "O2,L2,A2,2026-01-12,2000,2026-02-02,,AE1", 3,
     "won", "missing value for a closed"),
    ("opportunity before its lead", "opportunities.csv", 2, "O1,L1,A1,2026-01-01,1000,2026-02-01,true,AE1",
     2, "created_at", "created before its lead"),
    ("stage entered before creation", "stage_history.csv", 4, ",O1,discovery,2026-01-09", 4,
     "entered_at", "stage entered before creation"),
    ("stage of unknown opportunity", "stage_history.csv", 5, ",O7,discovery,2026-01-12", 5,
     "opportunity_id", "unknown opportunity id"),
    ("stage row without ids", "stage_history.csv", 3, ",,contact,2026-01-06", 3, "lead_id",
     "missing value"),
    ("stage name empty", "stage_history.csv", 2, "L1,,,2026-01-05T10:00:00", 2, "stage", "missing value"),
    ("stage lead does not match", "stage_history.csv", 4, "L2,O1,discovery,2026-01-10", 4, "lead_id",
     "does not match"),
    ("activity type unknown", "activities.csv", 3, "S1,fax,2026-01-06T12:00:00,L2,", 3, "type",
     "unknown activity type"),
    ("activity without rep", "activities.csv", 2, ",email,2026-01-05T11:00:00,L1,", 2, "rep",
     "missing value"),
    ("activity time unparsable", "activities.csv", 4, "AE1,demo,yesterday,,O1", 4, "at", "unparsable date"),
    ("activity column missing", "activities.csv", 1, "rep,at,lead_id,opportunity_id", 1, "type",
     "missing column"),
    ("row with an extra field", "opportunities.csv", 3, "O2,L2,A2,2026-01-12,2000.50,,,AE1,extra", 3,
     "<row>", "wrong number of fields"),
    ("activity before its lead", "activities.csv", 2, "S1,email,2026-01-01T11:00:00,L1,", 2, "at",
     "activity before creation"),
]


@pytest.mark.parametrize(("case", "file", "line", "text", "exp_line", "column", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_malformed_file_names_file_line_and_column(tmp_path: Path, case: str, file: str, line: int,
                                                   text: str, exp_line: int, column: str, words: str):
    folder = write(tmp_path / "crm", mutate(file, line, text))
    with pytest.raises(InputError) as info:
        read_crm(folder)
    problems = info.value.problems
    assert len(problems) == 1, [p.format() for p in problems]
    p = problems[0]
    assert Path(p.file).name == file and p.line == exp_line and p.path == column, p.format()
    assert words in p.message
    assert p.format().startswith(f"{folder / file}:{exp_line}: {column}: ")


def test_good_export_reads_typed(tmp_path: Path):
    crm = read_crm(write(tmp_path / "crm", GOOD))
    assert len(crm.leads) == 3 and len(crm.opportunities) == 3 and len(crm.stage_history) == 4
    # +01:00 is read as UTC: 08:30+01:00 is 07:30 UTC.
    assert crm.leads.loc[2, "created_at"] == pd.Timestamp("2026-01-07 07:30:00")
    assert crm.opportunities["amount"].tolist() == [1000.0, 2000.5, 0.0]
    assert crm.opportunities["won"].tolist()[0] is True and pd.isna(crm.opportunities["won"][1])
    # a stage row that names an opportunity gets that opportunity's lead
    assert crm.stage_history.loc[2, "lead_id"] == "L1"
    assert crm.leads.loc[0, "region"] == "EMEA" and crm.leads.loc[1, "region"] == "NA"
    assert crm.as_of == pd.Timestamp("2026-03-01")


def test_missing_required_file(tmp_path: Path):
    files = {k: v for k, v in GOOD.items() if k != "opportunities.csv"}
    with pytest.raises(InputError) as info:
        read_crm(write(tmp_path / "crm", files))
    assert Path(info.value.problems[0].file).name == "opportunities.csv"
    assert "file not found" in info.value.problems[0].message


def test_activities_file_is_optional(tmp_path: Path):
    files = {k: v for k, v in GOOD.items() if k != "activities.csv"}
    crm = read_crm(write(tmp_path / "crm", files))
    assert crm.activities.empty


def test_lenient_skips_and_counts_with_cascade(tmp_path: Path):
    files = mutate("leads.csv", 2, "L1,never,SMB,EMEA,web,S1,10")  # L1 bad: O1, its stages, acts go
    folder = write(tmp_path / "crm", files)
    with pytest.raises(InputError):
        read_crm(folder)
    crm = read_crm(folder, lenient=True)
    assert list(crm.leads["id"]) == ["L2", "L3"]
    assert "O1" not in set(crm.opportunities["id"])
    q = crm.quality.set_index(["file", "problem"])["rows"]
    assert q[("leads", "unparsable date")] == 1
    assert q[("opportunities", "refers to a skipped lead")] == 1
    assert q[("stage_history", "refers to a skipped lead")] == 1  # L1 contact row
    assert q[("stage_history", "refers to a skipped opportunity")] == 1  # O1 discovery row
    assert q[("activities", "refers to a skipped opportunity")] == 1
    assert q[("activities", "refers to a skipped lead")] == 1
    # nothing silently dropped: read = kept + skipped, per file
    for name in ("leads", "opportunities", "stage_history", "activities"):
        read = q[(name, "rows read")]
        kept = q[(name, "rows kept")]
        skipped = crm.quality[(crm.quality["file"] == name)
                              & (crm.quality["action"] == "skipped")]["rows"].sum()
        assert read == kept + skipped


def test_many_bad_rows_are_capped_but_counted(tmp_path: Path):
    rows = [f"X{i},bad-date,SMB,EMEA,web,S1,1" for i in range(50)]
    files = {k: list(v) for k, v in GOOD.items()}
    files["leads.csv"] = files["leads.csv"] + rows
    with pytest.raises(InputError) as info:
        read_crm(write(tmp_path / "crm", files))
    lines = [p.line for p in info.value.problems if p.line is not None]
    assert lines[0] == 5 and len(lines) == 20
    assert "30 more rows" in info.value.problems[-1].message


def test_mapping_reads_salesforce_style_export(tmp_path: Path):
    folder = tmp_path / "sf"
    files = {k: list(v) for k, v in GOOD.items()}
    files["Lead.csv"] = ["Id,CreatedDate,Segment__c,Region__c,LeadSource,OwnerName,score",
                         "L1,01/05/2026 10:00,Small Business,EMEA,web,S1,10",
                         "L2,01/06/2026 00:00,Mid-Market,NA,,S1,20",
                         "L3,01/07/2026 07:30,Small Business,NA,event,S2,"]
    del files["leads.csv"]
    files["opportunities.csv"] = [
        "Id,LeadId,AccountId,CreatedDate,Amount,CloseDate,StageName,Owner",
        "O1,L1,A1,2026-01-10,1000,2026-02-01,Closed Won,AE1",
        "O2,L2,A2,2026-01-12,2000.50,,,AE1",
        "O3,L3,A3,2026-01-15,0,2026-03-01,Closed Lost,AE2"]
    write(folder, files)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "leads:\n  file: Lead.csv\n  date_format: '%m/%d/%Y %H:%M'\n"
        "  columns: {id: Id, created_at: CreatedDate, segment: Segment__c, region: Region__c,"
        " source: LeadSource, owner: OwnerName}\n"
        "  values: {segment: {Small Business: SMB}}\n"
        "opportunities:\n  columns: {id: Id, lead_id: LeadId, account_id: AccountId,"
        " created_at: CreatedDate, amount: Amount, closed_at: CloseDate, won: StageName, owner: Owner}\n"
        "  values: {won: {Closed Won: 'true', Closed Lost: 'false'}}\n")
    mapped = read_crm(folder, mapping)
    plain = read_crm(write(tmp_path / "plain", GOOD))
    cols = ["id", "created_at", "segment", "region", "source", "owner"]
    pd.testing.assert_frame_equal(mapped.leads[cols], plain.leads[cols])
    assert mapped.opportunities["won"].tolist()[::2] == [True, False]


def test_bad_mapping_names_the_mapping_file(tmp_path: Path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("leads:\n  colums: {id: Id}\n")
    with pytest.raises(InputError) as info:
        read_crm(write(tmp_path / "crm", GOOD), mapping)
    p = info.value.problems[0]
    assert p.file == str(mapping) and "colums" in p.path


def test_lenient_skips_rows_wider_than_the_header(tmp_path: Path):
    """Strict mode stops on the first too-wide row; lenient mode skips every one, counts them,
    and keeps the CSV line numbers of the rows after them (O3 is still line 4)."""
    files = {k: list(v) for k, v in GOOD.items()}
    files["opportunities.csv"][2] = "O2,L2,A2,2026-01-12,2000.50,,,AE1,extra"
    files["opportunities.csv"].insert(1, "O0,L1,A0,2026-01-09,5,,,AE1,x,y")
    files["opportunities.csv"][4] = "O3,L3,A3,2026-01-15,zero,2026-03-01,false,AE2"  # bad amount
    folder = write(tmp_path / "crm", files)
    with pytest.raises(InputError) as info:
        read_crm(folder)
    assert info.value.problems[0].line == 2 and "wrong number of fields" in info.value.problems[0].message
    crm = read_crm(folder, lenient=True)
    assert list(crm.opportunities["id"]) == ["O1"]
    assert list(crm.opportunities["line"]) == [3]
    q = crm.quality.set_index(["file", "problem"])["rows"]
    assert q[("opportunities", "wrong number of fields")] == 2
    assert q[("opportunities", "rows read")] == 4 and q[("opportunities", "rows kept")] == 1
    # O2 was never read, so the stage row naming it refers to an unknown opportunity
    assert q[("stage_history", "unknown opportunity id")] == 1
    assert q[("opportunities", "not a number")] == 1  # O3, still named by its own line


def test_strict_wide_rows_all_named_before_row_checks(tmp_path: Path):
    """Strict mode names every too-wide row (here lines 2 and 4 of activities.csv) and nothing
    that only follows from them; a header missing a column is reported as such, not as wide rows."""
    files = {k: list(v) for k, v in GOOD.items()}
    files["activities.csv"][1] += ",x"
    files["activities.csv"][3] += ",x,y"
    with pytest.raises(InputError) as info:
        read_crm(write(tmp_path / "crm", files))
    got = [(Path(p.file).name, p.line, p.path, p.message) for p in info.value.problems]
    assert got == [("activities.csv", 2, "<row>", "wrong number of fields (6)"),
                   ("activities.csv", 4, "<row>", "wrong number of fields (7)")]
