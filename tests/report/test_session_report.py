"""The per-session HTML report: fixed sections, values from the analysis, one self-contained
file, escaped user text; in headless Chromium: every image loads, no console messages, and
injected script does not run."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liftsense.analysis.session import SessionAnalysis
from liftsense.report.plots import envelope, rep_phases
from liftsense.report.session import (
    elevation_text,
    render_session_report,
    write_session_report,
)
from liftsense.signal.heart import Elevation
from liftsense.signal.reps import RepResult

SECTIONS = ("summary", "sets", "tempo", "imu", "heart", "quality", "notes")


def _ids(text: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', text)


def test_sections_in_fixed_order_and_three_embedded_images(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path
) -> None:
    analysis, _ = short_session
    out = write_session_report(analysis, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert _ids(text) == list(SECTIONS)
    # tempo chart, accelerometer trace and HR timeline, each an embedded PNG
    assert len(re.findall(r'<img src="data:image/png;base64,iVBORw0KGgo', text)) == 3


def test_self_contained_no_network_no_script(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path
) -> None:
    text = write_session_report(short_session[0], tmp_path / "r.html").read_text()
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower()
    assert "<link" not in text.replace('<link rel="icon" href="data:,">', "")
    for url in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert url.startswith("data:"), url
    assert "default-src 'none'" in text  # the browser is told so too


def test_summary_and_set_table_show_the_analysis(
    short_session: tuple[SessionAnalysis, Path],
) -> None:
    analysis, _ = short_session
    assert [s.n_reps for s in analysis.sets] == [5, 5]  # the scenario's truth
    text = render_session_report(analysis)
    summary = text.split('<section id="summary">')[1].split("</section>")[0]
    assert "<dt>Reps</dt><dd>10</dd>" in summary
    assert "<dt>Sets</dt><dd>2</dd>" in summary
    assert "<dt>Subject</dt><dd>ann</dd>" in summary
    assert "back_squat 2-0-1-0" in summary  # the planned 2-0-1-0 tempo, detected
    ecc = sum(s.eccentric_tut_s for s in analysis.sets)
    assert f"<dt>Eccentric time under tension</dt><dd>{ecc:.1f} s</dd>" in summary
    assert "caffeine 200 mg" in summary and "10 min before the recording started" in summary
    sets = text.split('<section id="sets">')[1].split("</section>")[0]
    assert sets.count("<tr>") == 3  # header + two sets
    assert "600 kg" not in sets and "300 kg" in sets  # volume-load 60 kg x 5 per set
    # heart features of set k are the k-th entry of the heart summary (same set list, in order)
    assert analysis.heart is not None
    first_row = sets.split("<tr>")[2]
    assert f"<td>{analysis.heart.sets[0].peak_hr_bpm:.0f}</td>" in first_row


def test_user_text_is_escaped(hostile_analysis: SessionAnalysis, evil_text: str) -> None:
    text = render_session_report(hostile_analysis)
    assert "<script" not in text.lower()
    assert "<svg" not in text.lower()
    assert "<img src=x" not in text
    assert "&lt;script&gt;" in text  # shown as text, not dropped
    assert text.count("&lt;script&gt;") >= 5  # subject (title, h1, summary), notes, marker...
    assert "onerror=&quot;" in text


def test_without_the_recording_traces_are_explained(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path
) -> None:
    gone = dataclasses.replace(short_session[0], path=tmp_path / "moved.parquet")
    text = render_session_report(gone)
    # the tempo chart and the HR timeline come from the analysis (its own HR series); only the
    # accelerometer trace needs the raw recording
    assert text.count("data:image/png") == 2

    def part(ident: str) -> str:
        return text.split(f'<section id="{ident}">')[1].split("</section>")[0]

    assert "data:image/png" in part("tempo") and "data:image/png" in part("heart")
    assert "data:image/png" not in part("imu")
    assert "the recording is not available" in part("imu")


def test_existing_directory_gets_the_recording_name(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path
) -> None:
    out = write_session_report(short_session[0], tmp_path)
    assert out == tmp_path / "short.html" and out.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_elevation_wording_is_honest(short_session: tuple[SessionAnalysis, Path]) -> None:
    heart = short_session[0].heart
    assert heart is not None

    def text(e: Elevation) -> str:
        return elevation_text(dataclasses.replace(heart, elevation=e))

    up = Elevation(delta_bpm=7.0, z=2.6, status="elevated", reason=None, baseline_n=5,
                   baseline_median_bpm=61.0, swc_bpm=1.5)  # fmt: skip
    assert text(up).startswith("Elevated: pre-workout rest HR was 2.6 robust SD above")
    assert "not proof" in text(up) and "+7.0 bpm" in text(up)
    flat = Elevation(z=0.4, status="not elevated", reason=None, baseline_n=4)
    assert text(flat).startswith("Not elevated: pre-workout rest HR z = 0.4 against 4")
    few = Elevation(status="insufficient baseline", reason="1 stimulant-free sessions (need 3)")
    assert text(few) == "Not judged: insufficient baseline (1 stimulant-free sessions (need 3))."
    assert elevation_text(None).startswith("Not assessed")


def _rep(ecc: float, bottom: float, con: float, top: float) -> RepResult:
    nan = math.nan
    return RepResult(0, 10.0, 10.0 + ecc + bottom + con + top, ecc, bottom, con, top,
                     0.5, nan, nan, nan, nan)  # fmt: skip


def test_rep_phases_follow_the_exercise_order() -> None:
    rep = _rep(2.0, 1.0, 1.0, 0.5)
    squat = rep_phases(rep, "back_squat")  # starts at the top: eccentric first
    assert [p for p, _, _ in squat] == ["eccentric", "bottom_pause", "concentric", "top_pause"]
    assert [s for _, s, _ in squat] == [10.0, 12.0, 13.0, 14.0]
    thrust = rep_phases(rep, "hip_thrust")  # starts at the bottom: concentric first
    assert [p for p, _, _ in thrust] == ["concentric", "top_pause", "eccentric", "bottom_pause"]
    assert [s for _, s, _ in thrust] == [10.0, 11.0, 11.5, 13.5]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=3000),
    st.integers(1, 500),
)
def test_envelope_keeps_the_extremes(values: list[float], max_points: int) -> None:
    y = np.asarray(values)
    x = np.arange(y.size, dtype=np.float64)
    ex, ey = envelope(x, y, max_points)
    assert ey.size <= max(2 * max_points, y.size)
    assert np.nanmax(ey) == y.max() and np.nanmin(ey) == y.min()
    assert np.all(np.diff(ex) >= 0)


def test_chromium_renders_with_every_image_and_no_console_output(
    short_session: tuple[SessionAnalysis, Path], tmp_path: Path, browser
) -> None:  # type: ignore[no-untyped-def]
    report = write_session_report(short_session[0], tmp_path / "r.html")
    result = browser(report, keep_csp=True)
    assert result.check["images"] == 3
    assert result.check["loaded"] == 3
    assert result.check["errors"] == []
    assert result.console == []


def test_chromium_does_not_run_injected_script(
    hostile_analysis: SessionAnalysis, tmp_path: Path, browser
) -> None:  # type: ignore[no-untyped-def]
    report = write_session_report(hostile_analysis, tmp_path / "evil.html")
    result = browser(report, keep_csp=False)  # no policy: escaping alone must hold
    assert result.check["pwned"] is None
    assert str(result.check["title"]).startswith("LiftSense session short — ann <script>")
    assert result.check["loaded"] == result.check["images"] == 3
    assert result.console == []
