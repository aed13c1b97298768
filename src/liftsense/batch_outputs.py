"""What a batch writes: per-recording results merged into partitioned tables.

Each recording's task returns an :class:`Outputs`; :func:`write_outputs` judges heart-rate
elevation against each subject's own stimulant-free sessions, fills novelty across sessions, and
writes ``sets.parquet``, ``sessions.parquet`` and ``muscles.parquet`` (datasets partitioned by
subject) and ``errors.parquet``, each replaced atomically.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

TABLES = ("sets", "sessions", "muscles")
ERROR_COLUMNS = ("recording", "content_hash", "error", "message")


@dataclass
class Outputs:
    """What one recording produced. ``error`` is set (and tables are empty) when it failed."""

    recording: str
    content_hash: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: str | None = None
    error: str | None = None
    message: str | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    rss_growth_mb: float = math.nan  # peak RSS during this recording minus RSS before it
    subject: str = ""
    heart: Any = None  # HeartSummary, for personal baselines across the subject's sessions


def table_columns(table: str) -> tuple[str, ...]:
    """Columns of an output table: the recording and its hash, then the analysis' own."""
    from liftsense.analysis.session import MUSCLE_COLUMNS, SESSION_COLUMNS, SET_COLUMNS

    cols = {"sets": SET_COLUMNS, "sessions": SESSION_COLUMNS, "muscles": MUSCLE_COLUMNS}[table]
    return ("recording", "content_hash", *(c for c in cols if c != "recording"))


def _write_dataset(frame: pd.DataFrame, target: Path) -> None:
    """Write a table partitioned by subject, replacing the previous one atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if len(frame):
        pq.write_to_dataset(table, tmp, partition_cols=["subject"])
    else:
        tmp.mkdir(parents=True)
        pq.write_table(table, tmp / "empty.parquet")
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def apply_baselines(results: list[Outputs]) -> None:
    """Judge each session's heart-rate elevation against the same subject's stimulant-free
    sessions (robust z; ``signal.baseline``), and update the session and muscle tables."""
    from liftsense.signal.baseline import baselines_by_subject

    hearts = [None if r.error else r.heart for r in results]
    judged = baselines_by_subject([r.subject for r in results], hearts)
    for r, heart in zip(results, judged, strict=True):
        if heart is None:
            continue
        e = heart.elevation
        for table in ("sessions", "muscles"):
            frame = r.tables[table].copy()
            frame["hr_elevation_z"] = e.z
            frame["hr_elevation_delta_bpm"] = e.delta_bpm
            if "hr_elevation_status" in frame:
                frame["hr_elevation_status"] = e.status
            r.tables[table] = frame


def write_outputs(results: Iterable[Outputs], out: Path) -> None:
    """Merge per-recording results into the output tables (sorted, so runs compare equal)."""
    results = sorted(results, key=lambda r: r.recording)
    apply_baselines(results)
    for table in TABLES:
        frames = [r.tables[table] for r in results if table in r.tables and len(r.tables[table])]
        frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=list(table_columns(table)))
        )
        if table == "muscles" and len(frame):
            from liftsense.analysis.session import add_novelty

            frame = add_novelty(frame)
        frame["subject"] = frame["subject"].replace("", "unknown")
        _write_dataset(frame.reset_index(drop=True), out / f"{table}.parquet")
    errors = pd.DataFrame(
        [(r.recording, r.content_hash, r.error, r.message) for r in results if r.error],
        columns=list(ERROR_COLUMNS),
    )
    errors.to_parquet(out / "errors.parquet", index=False)
