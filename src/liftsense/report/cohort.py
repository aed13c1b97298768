"""The cross-session report: soreness against session features, and progressive overload.

Sections (fixed ids, in this order): ``counts`` (n subjects and sessions, first),
``not-progress``, ``statistics`` (effect sizes with intervals, declines with reasons, the
confounders), ``rmcorr`` (soreness against each feature per muscle, per-subject lines),
``overload`` (volume-load, estimated 1RM and eccentric TUT over time per exercise),
``sessions`` and ``quality``.

The analyses are either made here (every ``*.parquet`` in the folder through ``analyze``) or
passed in, so batch processing can reuse its own. Heart-rate elevation is judged here against
each person's stimulant-free sessions (``personal_baselines``), because it needs them all.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from liftsense import __version__
from liftsense.analysis.relate import RelateConfig, relate_with_logs
from liftsense.analysis.session import SessionAnalysis, add_novelty, analyze
from liftsense.errors import AnalysisError, LiftSenseError
from liftsense.report import svg
from liftsense.report.cohort_stats import FEATURE_LABELS, OUTCOME_LABELS, statistics_html
from liftsense.report.html import esc, num, page, paragraphs, section, table, when
from liftsense.report.session import write_atomic
from liftsense.signal.baseline import baselines_by_subject

if TYPE_CHECKING:
    from liftsense.analysis.outcomes import OutcomeConfig
    from liftsense.analysis.relate import RelateReport

__all__ = [
    "CohortData",
    "analyze_folder",
    "cohort_data",
    "render_cohort_report",
    "with_baselines",
    "write_cohort_report",
]

log = logging.getLogger(__name__)

NOT_PROGRESS = (
    "Soreness is not a measure of progress. It is a weak marker of muscle damage, it fades as "
    "the same work is repeated (the repeated-bout effect), and caffeine on the rating day blunts "
    "it. Progress is what the overload charts show: more load, more reps or a higher estimated "
    "1RM over time."
)


@dataclass(frozen=True)
class CohortData:
    """Everything the cohort report shows. ``analyses`` carry personal-baseline elevation;
    ``muscles`` is the per-session per-muscle table with novelty and soreness outcomes."""

    analyses: tuple[SessionAnalysis, ...]
    sets: pd.DataFrame
    sessions: pd.DataFrame
    muscles: pd.DataFrame
    relations: RelateReport
    skipped: tuple[tuple[str, str], ...]


def analyze_folder(folder: Path) -> tuple[list[SessionAnalysis], list[tuple[str, str]]]:
    """``analyze`` every ``*.parquet`` in ``folder`` (sorted by name). Files that are not
    readable recordings are skipped and returned as (name, reason), so one bad file does not
    hide a whole cohort; the report lists them."""
    analyses, skipped = [], []
    for path in sorted(folder.glob("*.parquet")):
        try:
            analyses.append(analyze(path))
        except LiftSenseError as exc:
            log.warning("skipping %s: %s", path, exc)
            skipped.append((path.name, str(exc)))
    return analyses, skipped


def with_baselines(analyses: Sequence[SessionAnalysis]) -> list[SessionAnalysis]:
    """Judge each session's HR elevation against the same subject's stimulant-free sessions."""
    hearts = baselines_by_subject([a.meta.subject for a in analyses], [a.heart for a in analyses])
    return [dataclasses.replace(a, heart=h) for a, h in zip(analyses, hearts, strict=True)]


def cohort_data(
    folder: Path,
    analyses: Sequence[SessionAnalysis] | None = None,
    *,
    relate_config: RelateConfig | None = None,
    outcome_config: OutcomeConfig | None = None,
    mixedlm: Literal["primary", "all"] = "primary",
) -> CohortData:
    """Analyse (or take) the sessions, add baselines, novelty and soreness outcomes, relate.

    ``mixedlm`` sets ``RelateConfig.mixedlm_pairs``: "primary" fits MixedLM for the
    pre-registered relations only (each fit costs about as much as every other method of a
    relation together), "all" for every relation.

    Raises:
        ValueError: ``mixedlm`` is neither "primary" nor "all".
        LogError: ``soreness.csv`` / ``intake.csv`` in ``folder`` is invalid.
        AnalysisError: no session could be analysed.
    """
    if mixedlm not in ("primary", "all"):
        raise ValueError(f"mixedlm={mixedlm!r}: use 'primary' or 'all'")
    skipped: list[tuple[str, str]] = []
    if analyses is None:
        found, skipped = analyze_folder(folder)
    else:
        found = list(analyses)
    if not found:
        extra = f" ({len(skipped)} unreadable)" if skipped else ""
        raise AnalysisError(
            f"{folder}: no recordings to report on{extra}; put the sessions' .parquet files there"
        )
    found.sort(key=lambda a: (pd.Timestamp(a.meta.started_at), a.meta.subject))
    judged = tuple(with_baselines(found))
    set_rows = [a.set_rows() for a in judged]  # once per session; the other tables reuse them
    sets = pd.concat(set_rows, ignore_index=True)
    sessions = pd.concat(
        [a.session_row(r) for a, r in zip(judged, set_rows, strict=True)], ignore_index=True
    )
    muscles = pd.concat(
        [a.muscle_rows(r) for a, r in zip(judged, set_rows, strict=True)], ignore_index=True
    )
    # add_novelty needs datetimes; no muscle rows at all (exercises the table does not know)
    # leave nothing to fill
    muscles = add_novelty(muscles) if len(muscles) else muscles
    cfg = dataclasses.replace(relate_config or RelateConfig(), mixedlm_pairs=mixedlm)
    table_, relations = relate_with_logs(muscles, folder, cfg, outcome_config)
    return CohortData(judged, sets, sessions, table_, relations, tuple(skipped))


def _rmcorr(data: CohortData, outcome: str, subjects: list[str]) -> str:
    m = data.muscles
    palette = svg.colours(subjects)
    features = [(f, FEATURE_LABELS.get(f, f)) for f in data_features(data)]
    ylabel = OUTCOME_LABELS.get(outcome, outcome)
    blocks, empty = [], []
    for muscle, d in m.groupby("muscle", sort=True):
        if outcome not in d.columns or not d[outcome].notna().any():
            empty.append(str(muscle))
            continue
        y = d[outcome].to_numpy(np.float64)
        g = d["subject"].astype(str).to_numpy()
        panels = []
        for col, label in features:
            x = d[col].to_numpy(np.float64)
            ok = np.isfinite(x) & np.isfinite(y)
            lines = svg.within_lines(x[ok], y[ok], g[ok]) if ok.any() else []
            panels.append(
                svg.scatter(x, y, g, palette, title=label, xlabel=label, ylabel=ylabel, lines=lines)
            )
        n = int(d[outcome].notna().sum())
        blocks.append(f"<h3>{esc(muscle)}: {n} rated sessions</h3>" + svg.grid(panels))
    text = [
        "Each point is one session; colours are subjects. Lines: the common within-subject "
        "slope (the repeated-measures correlation fit, here without the novelty adjustment) "
        "through each subject's mean. Compare slopes within a colour, not across colours: "
        "differences between people are not what is estimated."
    ]
    if empty:
        text.append("No soreness ratings after sessions loading: " + ", ".join(empty) + ".")
    figures = "".join(blocks) or "<p>No rated sessions to plot.</p>"
    return paragraphs(text, "muted") + svg.legend(palette) + figures


def data_features(data: CohortData) -> list[str]:
    """Features plotted against soreness: the relation features plus novelty."""
    feats = list(RelateConfig().features)
    return [*feats, "novelty_days"] if "novelty_days" in data.muscles.columns else feats


_OVERLOAD = (
    ("volume_load_kg", "volume-load per session (kg)"),
    ("est_1rm_kg", "best estimated 1RM (Epley, kg)"),
    ("eccentric_tut_s", "eccentric TUT per session (s)"),
)


def _overload(data: CohortData, subjects: list[str]) -> str:
    s = data.sets
    if s.empty:
        return "<p>No sets detected in any session.</p>"
    per = (
        s.groupby(["exercise", "subject", "session_id", "started_at"], observed=True, sort=False)
        .agg(
            volume_load_kg=("volume_load_kg", lambda v: v.sum(min_count=1)),
            est_1rm_kg=("est_1rm_kg", "max"),
            eccentric_tut_s=("eccentric_tut_s", "sum"),
        )
        .reset_index()
    )
    palette = svg.colours(subjects)
    figs = []
    for ex, d in per.groupby("exercise", sort=True):
        t_s = d["started_at"].map(pd.Timestamp.timestamp).to_numpy(np.float64)
        subj = d["subject"].astype(str).to_numpy()
        panels = []
        for col, label in _OVERLOAD:
            v = d[col].to_numpy(np.float64)
            lines = []
            for s_ in subjects:
                m = subj == s_
                order = np.argsort(t_s[m], kind="stable")
                lines.append((s_, t_s[m][order], v[m][order]))
            panels.append(svg.series(lines, palette, title=label, ylabel=label))
        figs.append(f"<h3>{esc(ex)}: {len(d)} sessions</h3>" + svg.grid(panels))
    note = (
        "Estimated 1RM uses Epley (load × (1 + reps / 30)) on the best set; it drifts above "
        "about 10 reps and assumes sets near failure. Volume-load is load × reps summed."
    )
    return paragraphs([note], "muted") + svg.legend(palette) + "".join(figs)


def _sessions(data: CohortData) -> str:
    rows = [
        [
            when(r["started_at"], "%Y-%m-%d %H:%M"),
            esc(r["subject"]),
            esc(r["session_id"]),
            esc(r["exercises"]),
            esc(r["sets"]),
            esc(r["reps"]),
            num(r["volume_load_kg"], ".0f", " kg"),
            num(r["eccentric_tut_s"], ".0f", " s"),
            num(r["rest_hr_bpm"], ".0f"),
            esc(r["hr_elevation_status"]),
            num(r["hr_elevation_z"], ".1f"),
            num(r["caffeine_mg"], ".0f", " mg") if r["caffeine_mg"] else "–",
        ]
        for _, r in data.sessions.iterrows()
    ]
    headers = (
        "date (UTC)", "subject", "session", "exercises", "sets", "reps", "volume-load",
        "ecc TUT", "rest HR", "HR elevation", "z", "caffeine",
    )  # fmt: skip
    return table(headers, rows, left=(0, 1, 2, 3, 9), raw=True)


def _quality(data: CohortData) -> str:
    lines = [f"skipped {name}: {why}" for name, why in data.skipped]
    for a in data.analyses:
        lines += [f"{a.meta.session_id}: {w}" for w in a.warnings]
    m = data.muscles
    if "caffeine_on_rating_day" in m.columns and m["caffeine_on_rating_day"].any():
        n = int(m["caffeine_on_rating_day"].sum())
        lines.append(f"{n} session-muscle outcome(s) had caffeine on a rating day (flagged above)")
    if not lines:
        return "<p>No data-quality problems were found.</p>"
    return "".join(f'<div class="warn">{esc(w)}</div>' for w in lines)


def render_cohort_report(data: CohortData, *, title: str = "LiftSense cohort report") -> str:
    """The report as an HTML string (see :func:`write_cohort_report`)."""
    subjects = sorted({str(a.meta.subject) for a in data.analyses})
    starts = data.sessions["started_at"]
    counts = paragraphs(
        [
            f"{len(subjects)} subject(s): {', '.join(subjects)}.",
            f"{len(data.analyses)} session(s) from {starts.min():%Y-%m-%d} to "
            f"{starts.max():%Y-%m-%d}; "
            f"{int(data.muscles['peak_soreness_delta'].notna().sum())} session-muscle rows "
            "with a soreness outcome (peak rating 12-96 h after the session minus the rating "
            "before it).",
        ]
    )
    body = "".join(
        [
            section("Who and how much", counts, ident="counts"),
            section(
                "Soreness is not progress",
                f'<div class="note">{esc(NOT_PROGRESS)}</div>',
                ident="not-progress",
            ),
            section(
                "Soreness and session features: statistics",
                statistics_html(data.relations),
                ident="statistics",
            ),
            section(
                "Soreness against each feature, per muscle",
                _rmcorr(data, "peak_soreness_delta", subjects),
                ident="rmcorr",
            ),
            section(
                "Progressive overload per exercise", _overload(data, subjects), ident="overload"
            ),
            section("Sessions", _sessions(data), ident="sessions"),
            section("Data quality", _quality(data), ident="quality"),
        ]
    )
    return page(title, body, footer=f"LiftSense {__version__} · times in UTC")


def write_cohort_report(
    folder: str | Path,
    out: str | Path,
    *,
    analyses: Sequence[SessionAnalysis] | None = None,
    relate_config: RelateConfig | None = None,
    outcome_config: OutcomeConfig | None = None,
    title: str = "LiftSense cohort report",
    mixedlm: Literal["primary", "all"] = "primary",
) -> Path:
    """Write the cross-session HTML report for the recordings and logs in ``folder``.

    Args:
        folder: holds the recordings (``*.parquet``) and ``soreness.csv`` / ``intake.csv``.
        out: the HTML file to write (atomically); an existing directory gets ``cohort.html``.
        analyses: already-made analyses of the sessions (batch processing passes its own);
            when given, the folder's recordings are not analysed again, only its logs read.
        relate_config, outcome_config: statistics and outcome settings (defaults otherwise).
        title: page title (escaped).
        mixedlm: "primary" (default) fits MixedLM for the pre-registered relations only,
            "all" for every relation (slower: about 80 ms per fit).

    Raises:
        LogError: a log file is invalid (file and line in the message).
        AnalysisError: there is no session to report on.
    """
    folder = Path(folder)
    data = cohort_data(
        folder,
        analyses,
        relate_config=relate_config,
        outcome_config=outcome_config,
        mixedlm=mixedlm,
    )
    path = Path(out)
    if path.is_dir():
        path = path / "cohort.html"
    return write_atomic(path, render_cohort_report(data, title=title))
