"""Fixtures for the report tests: a small synthetic session, a cohort built from it, hostile
user text, and a headless-Chromium loader.

The browser check opens a *test copy* of a report. The copy gets one extra inline script (not
part of the product) that, on the page's load event, records for every image whether it
decoded (``complete && naturalWidth > 0``), any error events, and whether injected user text
managed to run, into a ``<pre id="__check">`` element that ``--dump-dom`` then prints.
Console messages come from Chromium's own log on stderr (``INFO:CONSOLE``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from liftsense.analysis.session import SessionAnalysis, analyze
from liftsense.emulate.motion import generate
from liftsense.emulate.offline import write_recording
from liftsense.emulate.scenarios import scenario
from liftsense.schema import Marker, SetPlan

#: Would mark the page if any of it ran: a script element, an event handler, a javascript: URL.
PAYLOADS = (
    "<script>document.body.setAttribute('data-pwned','script')</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','onerror')\">",
    "\"><svg onload=\"document.body.setAttribute('data-pwned','svg')\">",
)
EVIL = " ".join(PAYLOADS)

CHECK_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    errors.push(String(e.message || (t && (t.currentSrc || t.src || t.tagName)) || 'error'));
  }, true);
  window.addEventListener('load', function () {
    var imgs = Array.prototype.slice.call(document.images);
    var svgs = Array.prototype.slice.call(document.querySelectorAll('svg'));
    var out = document.createElement('pre');
    out.id = '__check';
    out.textContent = JSON.stringify({
      images: imgs.length,
      loaded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
      svgs: svgs.length,
      svgs_drawn: svgs.filter(function (s) { var b = s.getBBox(); return b.width > 0; }).length,
      errors: errors,
      pwned: document.body.getAttribute('data-pwned'),
      title: document.title
    });
    document.body.appendChild(out);
  });
})();
"""

_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install -y chromium), so the headless "
            "browser checks of the HTML reports did not run"
        )
    return path


@dataclass(frozen=True)
class BrowserResult:
    check: dict[str, object]
    console: list[str]
    dom: str


def browser_copy(report: Path, dest: Path, *, keep_csp: bool) -> Path:
    """The report plus the check script. With ``keep_csp`` the product's policy stays and only
    the check script's hash is allowed to run; without it the policy is removed, so escaping
    alone must stop injected text from running."""
    text = report.read_text(encoding="utf-8")
    tag = f"<script>{CHECK_SCRIPT}</script>"
    match = _CSP.search(text)
    assert match is not None, "the report has no Content-Security-Policy"
    if keep_csp:
        digest = base64.b64encode(hashlib.sha256(CHECK_SCRIPT.encode()).digest()).decode()
        policy = f"{match.group(1)}; script-src 'sha256-{digest}'"
        meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        text = text[: match.start()] + meta + tag + text[match.end() :]
    else:
        text = text[: match.start()] + tag + text[match.end() :]
    dest.write_text(text, encoding="utf-8")
    return dest


def open_in_chromium(binary: str, page: Path, profile: Path) -> BrowserResult:
    """Load ``page`` in headless Chromium; return the check record, console lines and DOM."""
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    found = re.search(r'<pre id="__check">(.*?)</pre>', proc.stdout, re.S)
    assert found is not None, (
        f"the check script did not report (exit {proc.returncode}); stderr tail: "
        f"{proc.stderr[-2000:]}"
    )
    return BrowserResult(json.loads(html.unescape(found.group(1))), console, proc.stdout)


@pytest.fixture(scope="session")
def short_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[SessionAnalysis, Path]:
    """Two sets of five back squats with a caffeine intake; analysed once for all tests."""
    folder = tmp_path_factory.mktemp("short")
    path = write_recording(
        generate(scenario("short"), seed=3),
        folder / "short",
        subject="ann",
        caffeine_mg=200,
        caffeine_at_s=-600,
    )
    return analyze(path), path


def hostile(analysis: SessionAnalysis) -> SessionAnalysis:
    """The analysis with the payloads in every user-written text the report shows."""
    t = analysis.meta.started_at + timedelta(seconds=30)
    meta = analysis.meta.evolve(
        subject="ann " + EVIL,
        notes="felt good " + EVIL,
        markers=(Marker(t, "note", "marker " + EVIL),),
        sets=tuple(
            SetPlan(p.exercise, p.load_kg, p.target_tempo, "set " + EVIL)
            for p in analysis.meta.sets
        ),
    )
    sets = tuple(dataclasses.replace(s, exercise="squat " + EVIL) for s in analysis.sets)
    return dataclasses.replace(analysis, meta=meta, sets=sets)


def cohort_copies(
    analysis: SessionAnalysis, subjects: tuple[str, ...], per_subject: int
) -> list[SessionAnalysis]:
    """Sessions of several subjects three days apart, loads rising 2.5 kg a session."""
    out = []
    for s_i, subject in enumerate(subjects):
        for j in range(per_subject):
            started = analysis.meta.started_at + timedelta(days=3 * j, hours=s_i)
            meta = analysis.meta.evolve(
                subject=subject, session_id=f"{subject}-{j}", started_at=started
            )
            sets = tuple(dataclasses.replace(s, load_kg=s.load_kg + 2.5 * j) for s in analysis.sets)
            out.append(dataclasses.replace(analysis, meta=meta, sets=sets))
    return out


def write_soreness(folder: Path, analyses: list[SessionAnalysis], muscle: str = "quads") -> None:
    """Ratings before (0) and 24/48 h after each session, rising with the session's load."""
    lines = ["time,subject,muscle,rating"]
    for a in analyses:
        load = a.sets[0].load_kg
        base = a.meta.started_at
        for h, extra in ((-1, 0), (24, 1), (48, 2)):
            rating = 0 if h < 0 else min(10, int((load - 55) / 5) + extra)
            t = (base + timedelta(hours=h)).isoformat()
            lines.append(f"{t},{a.meta.subject},{muscle},{rating}")
    (folder / "soreness.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def browser(chromium: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``browser(report, keep_csp=True) -> BrowserResult`` (skips without Chromium)."""

    def run(report: Path, *, keep_csp: bool = True) -> BrowserResult:
        page = browser_copy(report, tmp_path / ("checked-" + report.name), keep_csp=keep_csp)
        return open_in_chromium(chromium, page, tmp_path / "profile")

    return run


@pytest.fixture
def hostile_analysis(short_session: tuple[SessionAnalysis, Path]) -> SessionAnalysis:
    return hostile(short_session[0])


@pytest.fixture
def evil_text() -> str:
    return EVIL


@pytest.fixture
def cohort(
    tmp_path: Path, short_session: tuple[SessionAnalysis, Path]
) -> tuple[Path, list[SessionAnalysis]]:
    """A folder with soreness.csv for 2 subjects x 6 sessions, and those sessions' analyses."""
    folder = tmp_path / "cohort"
    folder.mkdir()
    analyses = cohort_copies(short_session[0], ("ann", "bob"), 6)
    write_soreness(folder, analyses)
    return folder, analyses
