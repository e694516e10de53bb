"""Vectorised parsing of export cells: dates (with format inference), amounts, plain text, and
the estimated export date. Every function works on the distinct values of a column and maps
back, so a million rows with a few thousand distinct dates parse in well under a second.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DATE_CANDIDATES = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M",
                   "%m/%d/%Y %I:%M %p", "%d/%m/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
                   "%d/%m/%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%m/%d/%y", "%d/%m/%y")
"""Date formats tried, in order, when a file gives none (US and European locale readings)."""
TWINS = {"%m/%d": "%d/%m", "%d/%m": "%m/%d"}
NOT_PLAIN = r"[\x00-\x1f\x7f<>]"
"""Control characters and markup brackets: never part of a stage, segment or region name."""
DETACHED_GAP_DAYS = 60.0
"""A date more than this many days after the rest of the export is not its export date."""
DETACHED_SHARE = 0.01
"""At most this share of the dates can lie after such a gap (the rest define the export date)."""
CURRENCY_PREFIX = r"^(?:[A-Z]{3}\s+|[$€£¥])"


def trimmed(raw: pd.Series) -> pd.Series:
    """Text cells (object or pyarrow strings) without leading or trailing white space, as
    Python strings; repeated values share one string object (stages, owners and dates repeat:
    a tenth of the memory of one object per cell)."""
    arr = pc.fill_null(pc.utf8_trim_whitespace(pa.array(raw, type=pa.string())), "")
    codes = pc.dictionary_encode(arr)
    values = codes.dictionary.to_numpy(zero_copy_only=False)
    return pd.Series(values[codes.indices.to_numpy()], index=raw.index, dtype=object)


def parse_dates(raw: pd.Series, fmt: str) -> pd.Series:
    """Naive-UTC timestamps (NaT for blank or unparsable cells) of trimmed cells. Raises
    ValueError on a bad format directive."""
    text = raw
    uniq = pd.unique(text[text != ""])
    parsed = pd.to_datetime(pd.Series(uniq, dtype=object), format=fmt, errors="coerce", utc=True)
    lookup = pd.Series(parsed.dt.tz_localize(None).to_numpy(), index=pd.Index(uniq, dtype=object))
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    known = text != ""
    out[known] = lookup.reindex(text[known]).to_numpy()
    return out


def _share_parsed(values: pd.Series, fmt: str) -> float:
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    return float(parsed.notna().mean()) if len(values) else 1.0


def _twin(fmt: str) -> str | None:
    for a, b in TWINS.items():
        if fmt.startswith(a):
            return b + fmt[len(a):]
    return None


def infer_date_format(values: pd.Series) -> tuple[str, str | None, str | None]:
    """(format, ambiguous twin, an example value) for a file's distinct date cells.

    The first candidate that reads every value wins; when its day/month twin reads every value
    too (every day <= 12), the twin is returned so the caller can stop with both readings. With
    no candidate reading everything, the one that reads most.
    """
    values = pd.Series(pd.unique(values), dtype=object)
    values = values[values != ""]
    if values.empty:
        return "ISO8601", None, None
    probe = values.iloc[:200]
    shares = {f: _share_parsed(probe, f) for f in DATE_CANDIDATES}
    ranked = sorted((f for f in DATE_CANDIDATES if shares[f] > 0), key=lambda f: -shares[f])
    for fmt in ranked:
        if _share_parsed(values, fmt) == 1.0:
            twin = _twin(fmt)
            if twin and _share_parsed(values, twin) == 1.0:
                return fmt, twin, str(values.iloc[0])
            return fmt, None, None
    best = max(DATE_CANDIDATES, key=lambda f: _share_parsed(values, f))
    return best, None, None


def reading(value: str, fmt: str) -> str:
    """`value` read with `fmt`, as an ISO date."""
    return f"{pd.to_datetime(value, format=fmt):%Y-%m-%d}"


def amounts(raw: pd.Series, thousands: str | None) -> pd.Series:
    """Amounts as floats (NaN for blank or not a number) of trimmed cells: an optional currency
    code or symbol prefix, then a plain decimal, with `thousands` separators removed when given."""
    arr = pc.replace_substring_regex(pa.array(raw.to_numpy(dtype=object), type=pa.string()),
                                     CURRENCY_PREFIX, "")
    if thousands:
        arr = pc.replace_substring(arr, thousands, "")
    text = pd.Series(arr.to_numpy(zero_copy_only=False), index=raw.index, dtype=object)
    return pd.to_numeric(text.where(text != ""), errors="coerce")


def not_plain(raw: pd.Series) -> pd.Series:
    """True where a cell holds a control character or markup (`<`, `>`)."""
    hit = pc.match_substring_regex(pa.array(raw.to_numpy(dtype=object), type=pa.string()), NOT_PLAIN)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=raw.index, dtype=bool)


def estimate_export_date(stamps: np.ndarray) -> pd.Timestamp:
    """The export date: the latest recorded date, ignoring a detached tail (at most
    `DETACHED_SHARE` of the dates, after a gap of more than `DETACHED_GAP_DAYS` days), so one
    `closed_at` typed as 2099 does not move it."""
    t = np.sort(stamps[~np.isnat(stamps)].astype("datetime64[s]"))
    if len(t) == 0:
        raise ValueError("no dates")
    start = max(int(np.floor(len(t) * (1 - DETACHED_SHARE))) - 1, 0)
    gaps = np.diff(t[start:]).astype("timedelta64[s]").astype(float) / 86400.0
    big = np.flatnonzero(gaps > DETACHED_GAP_DAYS)
    return pd.Timestamp(t[start + big[0]] if len(big) else t[-1])


def show(value: str, width: int = 40) -> str:
    """A cell as it appears in a message: quoted, control characters escaped, long text cut."""
    text = value if len(value) <= width else value[: width - 3] + "..."
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)
    return '"' + escaped.replace('"', '\\"') + '"'
