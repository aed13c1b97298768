"""The cross-session HTML report: counts first, statistics with intervals and declines,
confounders named, rmcorr and overload figures, escaped user text, and a clean load in
headless Chromium."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from liftsense.analysis.relate import RelateConfig
from liftsense.analysis.session import SessionAnalysis
from liftsense.errors import AnalysisError, LogError
from liftsense.report.cohort import (
    NOT_PROGRESS,
    cohort_data,
    render_cohort_report,
    write_cohort_report,
)
from liftsense.report.svg import nice_ticks, within_lines

SECTIONS = ("counts", "not-progress", "statistics", "rmcorr", "overload", "sessions", "quality")

Cohort = tuple[Path, list[SessionAnalysis]]


def _section(text: str, ident: str) -> str:
    return text.split(f'<section id="{ident}">')[1].split("</section>")[0]


def test_sections_counts_first_and_plain_statements(cohort: Cohort, tmp_path: Path) -> None:
    folder, analyses = cohort
    text = write_cohort_report(folder, tmp_path / "c.html", analyses=analyses).read_text()
    assert re.findall(r'<section id="([^"]+)"', text) == list(SECTIONS)
    counts = _section(text, "counts")
    assert "2 subject(s): ann, bob." in counts
    assert "12 session(s) from 2026-01-05 to 2026-01-20" in counts
    assert "12 session-muscle rows with a soreness outcome" in counts  # quads only is rated
    assert "Soreness is not a measure of progress." in NOT_PROGRESS
    assert "Soreness is not a measure of progress." in _section(text, "not-progress")
    stats = _section(text, "statistics")
    assert "2 subject(s), 12 session(s)" in stats
    assert "not causal" in stats
    assert "Repeated-bout effect" in stats and "Caffeine on a rating day" in stats
    assert "sleep" in stats
    assert "http://" not in text and "https://" not in text and "<script" not in text


def test_statistics_give_intervals_and_decline_below_minimum_n(cohort: Cohort) -> None:
    folder, analyses = cohort
    data = cohort_data(folder, analyses)
    text = render_cohort_report(data)
    primary = _section(text, "statistics").split("<h3>Exploratory")[0]
    # rmcorr across 2 subjects x 6 sessions: df = 12 - 2 - 1 - 1 (novelty) = 8 >= 6, estimated
    rm = [r for r in data.relations.results
          if r.method == "rmcorr" and r.family == "primary" and r.muscle == "quads"
          and r.feature == "eccentric_volume_load_kg"]  # fmt: skip
    assert len(rm) == 1 and rm[0].status == "ok"
    assert -1.0 <= rm[0].ci_low < rm[0].estimate < rm[0].ci_high <= 1.0
    assert f"r_rm = {rm[0].estimate:.2f}" in primary
    assert f"{rm[0].ci_low:.2f} to {rm[0].ci_high:.2f}" in primary
    # within one subject, 6 sessions is below the default minimum of 8: declined, with why
    assert "declined: 6 sessions is below the minimum 8" in primary
    # MixedLM needs 5 subjects
    assert "declined: 2 subject(s); MixedLM needs at least 5" in primary


def test_rmcorr_and_overload_figures(cohort: Cohort) -> None:
    folder, analyses = cohort
    text = render_cohort_report(cohort_data(folder, analyses))
    rm = _section(text, "rmcorr")
    assert "<h3>quads: 12 rated sessions</h3>" in rm
    assert rm.count("<svg ") == 7  # six relation features and novelty
    # points: 12 for eccentric volume-load, load x TUT, velocity and caffeine; none for the
    # HR features (no rest window and no baseline in this short scenario); 10 for novelty
    # (unknown for each subject's first session)
    assert rm.count("<circle ") == 4 * 12 + 10
    assert rm.count(">no data</text>") == 2
    # a line per subject where x varies within the subject: volume-load and load x TUT (loads
    # rise); not velocity (copies of one session), caffeine (200 mg) or novelty (3 days)
    assert rm.count('stroke-width="1.8"') == 2 * 2
    assert "No soreness ratings after sessions loading: calves, core, glutes, hamstrings." in rm
    over = _section(text, "overload")
    assert "<h3>back_squat: 12 sessions</h3>" in over and over.count("<svg ") == 3
    assert over.count("<polyline ") == 3 * 2  # a line per subject and metric
    assert _section(text, "sessions").count("<tr>") == 13


def test_mixedlm_only_for_primary_by_default(cohort: Cohort) -> None:
    folder, analyses = cohort
    cfg = RelateConfig(min_subjects_mixedlm=2)
    rep = cohort_data(folder, analyses, relate_config=cfg).relations
    mixed = [r for r in rep.results if r.method == "mixedlm"]
    fitted = [r for r in mixed if r.family == "primary" and r.muscle == "quads"]
    assert len(fitted) == 2 and not any("primary pairs only" in r.reason for r in fitted)
    load = [r for r in fitted if r.feature == "eccentric_volume_load_kg"]
    assert load[0].status in ("ok", "fallback")  # fitted (HR z has no baseline here: declined)
    exploratory = [r for r in mixed if r.family == "exploratory"]
    assert exploratory and all(
        r.status == "declined" and "primary pairs only" in r.reason for r in exploratory
    )
    every = cohort_data(folder, analyses, relate_config=cfg, mixedlm="all").relations
    explored = [r for r in every.results if r.method == "mixedlm" and r.family == "exploratory"]
    assert len(explored) == len(exploratory)
    assert not any("primary pairs only" in r.reason for r in explored)
    # the quads volume-load relations have data for both subjects, so MixedLM is fitted there
    quads = [r for r in explored if r.muscle == "quads" and r.feature == "eccentric_volume_load_kg"]
    assert quads and all(r.status in ("ok", "fallback") for r in quads)
    with pytest.raises(ValueError, match="mixedlm='some'"):
        cohort_data(folder, analyses, mixedlm="some")  # type: ignore[arg-type]


def test_user_text_is_escaped(cohort: Cohort, evil_text: str) -> None:
    folder, analyses = cohort
    evil = [
        dataclasses.replace(
            a,
            meta=a.meta.evolve(subject="ann " + evil_text),
            sets=tuple(dataclasses.replace(s, exercise="squat " + evil_text) for s in a.sets),
        )
        for a in analyses
    ]
    text = render_cohort_report(cohort_data(folder, evil), title="<script>t</script>")
    assert "<script" not in text.lower() and "<svg onload" not in text.lower()
    assert "<img" not in text and 'onerror="' not in text
    assert "&lt;script&gt;" in _section(text, "counts")
    assert "&lt;script&gt;" in _section(text, "overload")


def test_analyses_the_folder_and_lists_unreadable_files(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path
) -> None:
    _, recording = short_session
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(recording.read_bytes())
    (folder / "broken.parquet").write_bytes(b"not parquet")
    out = write_cohort_report(folder, folder)
    assert out == folder / "cohort.html"
    text = out.read_text()
    assert "1 session(s)" in _section(text, "counts")
    assert "skipped broken.parquet" in _section(text, "quality")


def test_empty_folder_and_bad_log_raise(cohort: Cohort, tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="no recordings to report on"):
        write_cohort_report(tmp_path, tmp_path / "c.html")
    folder, analyses = cohort
    (folder / "soreness.csv").write_text("time,subject,muscle,rating\nyesterday,ann,quads,4\n")
    with pytest.raises(LogError, match="line 2"):
        write_cohort_report(folder, tmp_path / "c.html", analyses=analyses)


def test_chromium_draws_every_chart_with_no_console_output(
    cohort: Cohort, tmp_path: Path, browser
) -> None:  # type: ignore[no-untyped-def]
    folder, analyses = cohort
    report = write_cohort_report(folder, tmp_path / "c.html", analyses=analyses)
    result = browser(report, keep_csp=True)
    assert result.check["images"] == 0  # the cohort charts are inline SVG
    assert result.check["svgs"] == result.check["svgs_drawn"] == 7 + 3
    assert result.check["errors"] == []
    assert result.console == []


def test_within_subject_lines_share_one_slope() -> None:
    x = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 5.0])
    y = np.array([1.0, 3.0, 5.0, 0.0, 4.0, 7.0])
    g = np.array(["a", "a", "a", "b", "b", "c"], dtype=object)
    # within a: slope 2; within b: slope 4; pooled: (2*2 + 1*... ) = sum(dx dy) / sum(dx^2)
    # a: dx = -1, 0, 1; dy = -2, 0, 2 -> 4, 2 ; b: dx = -.5, .5; dy = -2, 2 -> 2, .5
    lines = within_lines(x, y, g)
    assert [s for s, _, _ in lines] == ["a", "b"]  # c has one session: no line
    slope = (4 + 2) / (2 + 0.5)
    (_, ax, ay), (_, bx, by) = lines
    assert ax.tolist() == [1.0, 3.0] and bx.tolist() == [10.0, 11.0]
    assert np.allclose(ay, 3.0 + slope * (ax - 2.0))
    assert np.allclose(by, 2.0 + slope * (bx - 10.5))


def test_nice_ticks() -> None:
    assert nice_ticks(0.0, 10.0, 5) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(-0.13, 0.41, 4) == pytest.approx([0.0, 0.2, 0.4])  # step 0.2 >= 0.54 / 4
    assert nice_ticks(3.0, 3.0) == [3.0]
    assert nice_ticks(float("nan"), 1.0) == []


def test_elevation_is_judged_against_each_persons_sessions(cohort: Cohort) -> None:
    folder, analyses = cohort
    assert {a.heart.elevation.status for a in analyses if a.heart} == {"insufficient baseline"}
    data = cohort_data(folder, analyses)
    # personal_baselines ran: this short scenario has no pre-workout rest window to judge
    assert {a.heart.elevation.status for a in data.analyses if a.heart} == {"no data"}
    assert set(data.sessions["hr_elevation_status"]) == {"no data"}
