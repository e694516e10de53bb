"""Synthetic deal exports in the exact shape of Salesforce, HubSpot and Pipedrive, drawn from a
scenario's opportunity stages (the truth), for tests, examples and the calibration benchmark.

The truth comes from a scenario (default scenarios/scaleup.yaml): the stages worked by AE-kind
roles (from the first one on; engine/data/synthetic.py's `_opp_stage`), their conversion per
segment and duration in days, the segments' deal sizes, and the demand baseline's shares of
segment x region. A deal is created uniformly over `months` months before the export date; in
stage k it waits a duration drawn from the stage's distribution, then moves on with the stage's
conversion (won after the last stage) or is lost. Nothing after the export date is recorded:
deals still in a stage are open (their expected close date lies ahead).

Each tool's shape: ids (Salesforce 18-character `006...` ids, HubSpot 10-digit record ids,
Pipedrive integers), stage names (the tool's default pipeline), date format (Salesforce
`3/1/2017`, HubSpot `2017-03-01 09:30`, Pipedrive `2017-03-01 09:30:00`), plain-decimal
amounts; Salesforce adds the Opportunity History report, HubSpot `Date entered "<stage>"`
columns, Pipedrive keeps the stage where a deal was lost. Every export comes with a users sheet
(reps with role, manager and region). `truth.yaml` holds the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine.data import fit as crm_dists
from engine.data.export_mapping import preset_raw
from engine.data.synthetic import DEFAULT_SCENARIO, _opp_stage
from engine.scenario.load import load_scenario
from engine.scenario.model import Scenario

DATE_SHAPE = {"salesforce": "%-m/%-d/%Y", "hubspot": "%Y-%m-%d %H:%M", "pipedrive": "%Y-%m-%d %H:%M:%S"}
BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
DEALS_PER_AE_MONTH = 12
"""Deals created per AE and month in the synthetic book (sets the number of reps)."""
SOURCES = np.array(["Web", "Partner Referral", "Trade Show", "Phone Inquiry", "Advertisement"])


@dataclass
class DealBook:
    """Simulated deals: entry time per stage (NaT when not reached), outcome and attributes."""

    stages: list[str]
    entered: np.ndarray  # (stages, deals) datetime64[s]
    closed: np.ndarray  # datetime64[s], NaT while open
    status: np.ndarray  # "open" / "won" / "lost"
    last_stage: np.ndarray  # index of the last stage entered
    amount: np.ndarray
    segment: np.ndarray
    owner: np.ndarray  # rep index
    reps: pd.DataFrame  # rep, role, manager, region
    as_of: np.datetime64


def _rep_table(regions: list[str], per_region: int) -> pd.DataFrame:
    rows = []
    for r, region in enumerate(regions):
        manager = f"Morgan Lee {r + 1}"
        rows.append({"rep": manager, "role": "Sales manager", "manager": "", "region": region})
        rows += [{"rep": f"Alex Kim {r + 1}-{k + 1:02d}", "role": "AE", "manager": manager, "region": region}
                 for k in range(per_region)]
    return pd.DataFrame(rows)


def simulate_book(s: Scenario, deals: int, seed: int, months: int = 24,
                  as_of: str | None = None) -> DealBook:
    """`deals` opportunities drawn from the scenario's opportunity stages (see module doc)."""
    rng = np.random.default_rng(seed)
    stages = s.funnel.stages[_opp_stage(s):]
    end = np.datetime64(as_of or pd.Period(s.horizon.start, freq="M").start_time.date().isoformat(), "s")
    span = float((end - (end - np.timedelta64(months * 30 * 86400, "s"))).astype(float))
    created = end - (rng.random(deals) * span).astype("timedelta64[s]")
    created = np.sort(created)
    base = s.demand.baseline
    share = np.array([r.leads_per_month for r in base], dtype=float)
    cell = rng.choice(len(base), deals, p=share / share.sum())
    segment = np.array([r.segment for r in base])[cell]
    region = np.array([r.region for r in base])[cell]
    regions = [r.name for r in s.regions]
    per_region = max(2, round(deals / months / DEALS_PER_AE_MONTH / max(len(regions), 1)))
    reps = _rep_table(regions, per_region)
    aes = reps[reps["role"] == "AE"].reset_index()
    owner = np.empty(deals, dtype=np.int64)
    for reg in regions:
        mine = np.flatnonzero(region == reg)
        pool = aes.loc[aes["region"] == reg, "index"].to_numpy()
        owner[mine] = pool[rng.integers(0, len(pool), len(mine))]
    entered = np.full((len(stages), deals), np.datetime64("NaT"), dtype="datetime64[s]")
    entered[0] = created
    closed = np.full(deals, np.datetime64("NaT"), dtype="datetime64[s]")
    status = np.full(deals, "open", dtype=object)
    last = np.zeros(deals, dtype=np.int64)
    alive = np.ones(deals, dtype=bool)
    for k, st in enumerate(stages):
        p = np.array([st.conversion_for(g) for g in segment]) if isinstance(st.conversion, dict) \
            else np.full(deals, float(st.conversion))
        moves = rng.random(deals) < p
        t_out = entered[k] + (crm_dists.sample(st.duration_days, deals, rng) * 86400).astype("timedelta64[s]")
        done = alive & (t_out <= end)
        last = np.where(alive, k, last)
        lost = done & ~moves
        won = done & moves & (k + 1 == len(stages))
        closed = np.where(lost | won, t_out, closed)
        status = np.where(lost, "lost", np.where(won, "won", status))
        if k + 1 < len(stages):
            entered[k + 1] = np.where(done & moves, t_out, np.datetime64("NaT"))
            alive = done & moves
    amount = np.zeros(deals)
    for sg in s.segments:
        mask = segment == sg.name
        amount[mask] = np.round(crm_dists.sample(sg.deal_size, int(mask.sum()), rng), 2)
    return DealBook([st.name for st in stages], entered, closed, status, last, amount, segment,
                    owner, reps, end)


def _fmt(t: np.ndarray, shape: str) -> np.ndarray:
    text = pd.to_datetime(t).strftime(shape)
    return np.where(pd.isna(t), "", np.asarray(text, dtype=object).astype(str))


def _tool_stages(preset: str, k: int) -> list[str]:
    """k of the tool's default open stages, evenly spread over its pipeline."""
    names = preset_raw(preset)["opportunities"]["stage_order"]
    picks = np.round(np.linspace(0, len(names) - 1, k)).astype(int) if k > 1 else [0]
    return [names[i] for i in picks]


def _current_stage(book: DealBook, names: list[str], won: str, lost: str, keep_lost_stage: bool
                   ) -> np.ndarray:
    stage = np.array(names, dtype=object)[book.last_stage]
    if not keep_lost_stage:
        stage = np.where(book.status == "lost", lost, stage)
    return np.where(book.status == "won", won, stage)


def _expected_close(book: DealBook, rng: np.random.Generator) -> np.ndarray:
    """Open deals: an expected close date 2 to 90 days after the export date."""
    ahead = book.as_of + (rng.uniform(2, 90, len(book.status)) * 86400).astype("timedelta64[s]")
    return np.where(book.status == "open", ahead, book.closed)


def _sf_ids(prefix: str, n: int, rng: np.random.Generator) -> np.ndarray:
    body = BASE62[rng.integers(0, 62, (n, 15 - len(prefix)))]
    return np.array([prefix + "".join(r) + "AAA" for r in body])


def salesforce(book: DealBook, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    names = _tool_stages("salesforce", len(book.stages))
    shape = DATE_SHAPE["salesforce"]
    ids = _sf_ids("0065g", len(book.status), rng)
    owner = book.reps["rep"].to_numpy()[book.owner]
    prob = np.round(100 * (book.last_stage + 1) / (len(names) + 1)).astype(int)
    prob = np.where(book.status == "won", 100, np.where(book.status == "lost", 0, prob))
    opps = pd.DataFrame({
        "Opportunity Owner": owner, "Account Name": [f"Account {i % 997:03d} Ltd" for i in range(len(ids))],
        "Opportunity Name": [f"Deal {i + 1}" for i in range(len(ids))],
        "Stage": _current_stage(book, names, "Closed Won", "Closed Lost", False),
        "Amount": [f"{a:.2f}" for a in book.amount], "Probability (%)": prob,
        "Created Date": _fmt(book.entered[0], shape), "Close Date": _fmt(_expected_close(book, rng), shape),
        "Lead Source": SOURCES[rng.integers(0, len(SOURCES), len(ids))],
        "Type": np.where(rng.random(len(ids)) < 0.8, "New Business", "Existing Business"),
        "Opportunity ID": ids, "Segment": book.segment})
    rows = []
    for k, name in enumerate(names):
        got = np.flatnonzero(~np.isnat(book.entered[k]))
        rows.append(pd.DataFrame({"Opportunity ID": ids[got], "From Stage": names[k - 1] if k else "",
                                  "To Stage": name, "_t": book.entered[k][got]}))
    for status, label in (("won", "Closed Won"), ("lost", "Closed Lost")):
        got = np.flatnonzero(book.status == status)
        rows.append(pd.DataFrame({"Opportunity ID": ids[got],
                                  "From Stage": np.array(names, dtype=object)[book.last_stage[got]],
                                  "To Stage": label, "_t": book.closed[got]}))
    hist = pd.concat(rows, ignore_index=True).sort_values(["_t", "Opportunity ID"], kind="stable")
    hist = hist.assign(**{"Last Modified": _fmt(hist["_t"].to_numpy(), shape)}).drop(columns="_t")
    users = book.reps.rename(columns={"rep": "Full Name", "role": "Role", "manager": "Manager",
                                      "region": "Region"}).assign(Active="true")
    return {"report1700000001.csv": opps, "report1700000002.csv": hist.reset_index(drop=True),
            "report1700000003.csv": users}


def hubspot(book: DealBook, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    names = _tool_stages("hubspot", len(book.stages))
    shape = DATE_SHAPE["hubspot"]
    n = len(book.status)
    ids = 9_000_000_000 + np.sort(rng.choice(900_000_000, n, replace=False))
    deals = pd.DataFrame({
        "Record ID": ids, "Deal Name": [f"Deal {i + 1}" for i in range(n)],
        "Deal Stage": _current_stage(book, names, "Closed Won", "Closed Lost", False),
        "Amount": [f"{a:.2f}" for a in book.amount], "Create Date": _fmt(book.entered[0], shape),
        "Close Date": _fmt(_expected_close(book, rng), shape),
        "Deal owner": book.reps["rep"].to_numpy()[book.owner], "Pipeline": "Sales Pipeline",
        "Segment": book.segment})
    for k, name in enumerate(names):
        deals[f'Date entered "{name} (Sales Pipeline)"'] = _fmt(book.entered[k], shape)
    for status, label in (("won", "Closed Won"), ("lost", "Closed Lost")):
        deals[f'Date entered "{label} (Sales Pipeline)"'] = _fmt(
            np.where(book.status == status, book.closed, np.datetime64("NaT")), shape)
    users = book.reps.rename(columns={"rep": "Name", "role": "Role", "manager": "Manager",
                                      "region": "Region"}).assign(Team="Sales", Active="true")
    return {"hubspot-crm-exports-all-deals-2027-01-01.csv": deals, "hubspot-users.csv": users}


def pipedrive(book: DealBook, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    names = _tool_stages("pipedrive", len(book.stages))
    shape = DATE_SHAPE["pipedrive"]
    n = len(book.status)
    deals = pd.DataFrame({
        "ID": np.arange(1, n + 1), "Title": [f"Deal {i + 1}" for i in range(n)],
        "Owner": book.reps["rep"].to_numpy()[book.owner], "Value": [f"{a:.2f}" for a in book.amount],
        "Currency": "EUR", "Organization": [f"Org {i % 997:03d}" for i in range(n)],
        "Pipeline": "Pipeline", "Stage": _current_stage(book, names, names[-1], "", True),
        "Status": book.status, "Deal created": _fmt(book.entered[0], shape),
        "Won time": _fmt(np.where(book.status == "won", book.closed, np.datetime64("NaT")), shape),
        "Lost time": _fmt(np.where(book.status == "lost", book.closed, np.datetime64("NaT")), shape),
        "Expected close date": _fmt(_expected_close(book, rng), "%Y-%m-%d"), "Segment": book.segment})
    users = book.reps.rename(columns={"rep": "Name", "role": "Role", "manager": "Manager",
                                      "region": "Region"}).assign(Team="Sales", Active="true")
    return {"deals-2027-01-01.csv": deals, "users-2027-01-01.csv": users}


WRITERS = {"salesforce": salesforce, "hubspot": hubspot, "pipedrive": pipedrive}


def truth(book: DealBook, s: Scenario, preset: str) -> dict:
    stages = s.funnel.stages[_opp_stage(s):]
    names = _tool_stages(preset, len(stages))
    segs = [sg.name for sg in s.segments]
    return {"as_of": str(book.as_of), "deals": len(book.status),
            "stages": [{"name": tool, "scenario_stage": st.name,
                        "conversion": {g: st.conversion_for(g) for g in segs},
                        "duration_days": st.duration_days.model_dump()}
                       for tool, st in zip(names, stages, strict=True)],
            "win_rate": {g: float(np.prod([st.conversion_for(g) for st in stages])) for g in segs},
            "segments": [{"name": sg.name, "deal_size": sg.deal_size.model_dump()} for sg in s.segments],
            "reps": book.reps.groupby(["role", "region"]).size().rename("n").reset_index().to_dict("records")}


def write_export(preset: str, out_dir: Path, seed: int, deals: int = 3000,
                 scenario_path: Path | None = None, months: int = 24) -> Path:
    """Write a synthetic `preset` export (CSV files named as the tool names them) and truth.yaml."""
    s = load_scenario(scenario_path or DEFAULT_SCENARIO).scenario
    book = simulate_book(s, deals, seed, months)
    rng = np.random.default_rng([seed, 1])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in WRITERS[preset](book, rng).items():
        frame.to_csv(out_dir / name, index=False)
    (out_dir / "truth.yaml").write_text(yaml.safe_dump(truth(book, s, preset), sort_keys=False))
    return out_dir
