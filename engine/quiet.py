"""Only the engine's own lines reach stderr.

Library warnings (numpy RuntimeWarnings on an empty slice or a 0/0 the engine turns into NaN,
statsmodels convergence notes) and Pyomo's log lines (`ERROR: Rule failed ...`, which repeat an
exception that the CLI reports anyway) are held back while a command runs. Nothing is hidden from
the outcome: an exception still ends the command (exit 1 for a bug), and `--debug` prints every
held warning.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIBRARY_LOGGERS = ("pyomo",)
"""Loggers whose records are held back below CRITICAL."""


@contextmanager
def quiet_libraries() -> Iterator[list[str]]:
    """Hold back library warnings and log lines; yields the list the held warnings are added to
    (one line each, deduplicated by place) when the block ends."""
    held: list[str] = []
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        try:
            yield held
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
            held.extend(f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught)
