"""Working-time arithmetic on the simulation clock (hours from the horizon start).

A weekly pattern of open intervals gives the cumulative open hours `W(t)` from the horizon start to
wall time `t` and its inverse, so a job of `w` working hours started at `t` ends at
`W^-1(W(t) + w)`: calendars cost two bisections per job instead of per-hour events.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

WEEK_H = 168.0


@dataclass(frozen=True)
class WorkCalendar:
    """Open intervals within a week (hours from Monday 00:00) and where the horizon starts in it."""

    starts: tuple[float, ...]
    ends: tuple[float, ...]
    offset_h: float
    """Hours from Monday 00:00 to the horizon start."""

    @classmethod
    def always_open(cls) -> WorkCalendar:
        return cls((0.0,), (WEEK_H,), 0.0)

    @classmethod
    def business(cls, weekdays: list[int], day_start: int, day_end: int, first_weekday: int) -> WorkCalendar:
        """Open on `weekdays` (0 = Monday) from `day_start` to `day_end` o'clock."""
        if day_end <= day_start or not weekdays:
            raise ValueError("a business calendar needs day_end_hour > day_start_hour and a weekday")
        days = sorted(set(weekdays))
        return cls(tuple(24.0 * d + day_start for d in days), tuple(24.0 * d + day_end for d in days),
                   24.0 * first_weekday)

    @property
    def is_always_open(self) -> bool:
        return self.starts == (0.0,) and self.ends == (WEEK_H,)

    @property
    def open_per_week(self) -> float:
        """Open hours in a week."""
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))

    def _cum_starts(self) -> list[float]:
        out, acc = [], 0.0
        for s, e in zip(self.starts, self.ends, strict=True):
            out.append(acc)
            acc += e - s
        return out

    def scalar(self, until_h: float = 0.0) -> ScalarCalendar:
        """A fast scalar evaluator for the event loop, tabulated up to `until_h` hours."""
        return ScalarCalendar(self, until_h)

    def open_hours(self, t: np.ndarray) -> np.ndarray:
        """Cumulative open hours from the horizon start to each wall time in `t` (vectorised)."""
        t = np.asarray(t, dtype=float)
        if self.is_always_open:
            return t.copy()
        return self._abs_open(t + self.offset_h) - self._abs_open(np.array(self.offset_h))

    def _abs_open(self, x: np.ndarray) -> np.ndarray:
        starts, ends = np.array(self.starts), np.array(self.ends)
        weeks = np.floor(x / WEEK_H)
        r = x - weeks * WEEK_H
        within = np.clip(r[..., None] - starts, 0.0, ends - starts).sum(axis=-1)
        return weeks * self.open_per_week + within

    def wall_time(self, w: np.ndarray) -> np.ndarray:
        """Earliest wall time at which the cumulative open hours reach `w` (vectorised inverse).

        Agrees with `ScalarCalendar.wall_at`: a `w` reached exactly at a close ends there, also at
        the week's last close (not at the next week's first opening).
        """
        w = np.asarray(w, dtype=float)
        if self.is_always_open:
            return w.copy()
        per_week = self.open_per_week
        v = w + float(self._abs_open(np.array(self.offset_h)))
        weeks = np.floor(v / per_week)
        rem = v - weeks * per_week
        at_week_end = (rem <= 0.0) & (weeks > 0)  # ends at the previous week's last close, as wall_at
        weeks = np.where(at_week_end, weeks - 1, weeks)
        rem = np.where(at_week_end, per_week, rem)
        cum = np.array(self._cum_starts())
        lengths = np.array(self.ends) - np.array(self.starts)
        j = np.clip(np.searchsorted(cum + lengths, rem, side="left"), 0, len(cum) - 1)
        x = weeks * WEEK_H + np.array(self.starts)[j] + (rem - cum[j])
        return x - self.offset_h


class ScalarCalendar:
    """Scalar `W(t)`, its inverse and the next opening for the event loop.

    The open intervals up to `until_h` are unrolled into absolute tables, so each call is one C
    bisection; times beyond fall back to the weekly formula.
    """

    def __init__(self, cal: WorkCalendar, until_h: float = 0.0):
        self.always = cal.is_always_open
        self.starts = list(cal.starts)
        self.ends = list(cal.ends)
        self.cum = cal._cum_starts()
        self.cum_end = [c + e - s for c, s, e in zip(self.cum, self.starts, self.ends, strict=True)]
        self.per_week = cal.open_per_week
        self.offset = cal.offset_h
        self.base = self._abs(cal.offset_h)
        self._unroll(until_h)

    def _unroll(self, until_h: float) -> None:
        weeks = int(math.ceil((until_h + self.offset) / WEEK_H)) + 1 if not self.always else 0
        s_abs, e_abs, c_abs = [], [], []
        for k in range(weeks):
            for s, e, c in zip(self.starts, self.ends, self.cum, strict=True):
                s_abs.append(k * WEEK_H + s - self.offset)
                e_abs.append(k * WEEK_H + e - self.offset)
                c_abs.append(k * self.per_week + c - self.base)
        first = bisect.bisect_right(e_abs, 0.0)
        self.s_abs, self.e_abs, self.c_abs = s_abs[first:], e_abs[first:], c_abs[first:]
        self.ce_abs = [c + e - s for s, e, c in zip(self.s_abs, self.e_abs, self.c_abs, strict=True)]
        self.table_end = self.e_abs[-1] if self.e_abs else -math.inf
        self.table_w_end = self.ce_abs[-1] if self.ce_abs else -math.inf

    def _abs(self, x: float) -> float:
        k = math.floor(x / WEEK_H)
        r = x - k * WEEK_H
        j = bisect.bisect_right(self.starts, r) - 1
        within = 0.0 if j < 0 else self.cum[j] + min(r - self.starts[j], self.ends[j] - self.starts[j])
        return k * self.per_week + within

    def work_at(self, t: float) -> float:
        """Open hours from the horizon start to wall time `t`."""
        if self.always:
            return t
        if 0.0 <= t < self.table_end:
            j = bisect.bisect_right(self.s_abs, t) - 1
            if j < 0:
                return 0.0
            d = t - self.s_abs[j]
            length = self.e_abs[j] - self.s_abs[j]
            return self.c_abs[j] + (d if d < length else length)
        return self._abs(t + self.offset) - self.base

    def wall_at(self, w: float) -> float:
        """Earliest wall time with `w` open hours behind it (a job ending at a close ends there)."""
        if self.always:
            return w
        if 0.0 < w <= self.table_w_end:
            j = bisect.bisect_left(self.ce_abs, w)
            return self.s_abs[j] + (w - self.c_abs[j])
        v = w + self.base
        k = math.floor(v / self.per_week)
        rem = v - k * self.per_week
        if rem <= 0.0 and k > 0:
            k, rem = k - 1, self.per_week
        j = min(bisect.bisect_left(self.cum_end, rem), len(self.cum) - 1)
        return k * WEEK_H + self.starts[j] + (rem - self.cum[j]) - self.offset

    def finish(self, t: float, work_h: float) -> float:
        """Wall time at which `work_h` open hours started at `t` are done."""
        if self.always:
            return t + work_h
        if 0.0 <= t < self.table_end:
            j = bisect.bisect_right(self.s_abs, t) - 1
            if j >= 0 and t + work_h <= self.e_abs[j]:
                return t + work_h
        return self.wall_at(self.work_at(t) + work_h)

    def next_open(self, t: float) -> float:
        """`t` if the calendar is open then, else the next opening."""
        if self.always:
            return t
        if 0.0 <= t < self.table_end:
            j = bisect.bisect_right(self.s_abs, t) - 1
            return t if j >= 0 and t < self.e_abs[j] else self.s_abs[j + 1]
        x = t + self.offset
        k = math.floor(x / WEEK_H)
        r = x - k * WEEK_H
        j = bisect.bisect_right(self.starts, r) - 1
        if j >= 0 and r < self.ends[j]:
            return t
        if j + 1 < len(self.starts):
            return k * WEEK_H + self.starts[j + 1] - self.offset
        return (k + 1) * WEEK_H + self.starts[0] - self.offset
