"""The command line: fast help, one-line errors, info and recover."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from liftsense.cli import app
from liftsense.recording import JournalWriter
from liftsense.schema import SessionMeta


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liftsense.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, liftsense.cli; "
        "print(','.join(m for m in ('pyarrow', 'pandas', 'scipy', 'matplotlib', 'bumble', "
        "'bleak', 'dask', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_expected_failures_print_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "notes.parquet"
    bad.write_text("hello")
    for args in (
        ["info", str(bad)],
        ["info", str(tmp_path / "missing.parquet")],
        ["recover", str(tmp_path)],
    ):
        result = run_cli(*args)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("Error: ")


def test_info_shows_streams(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "s", SessionMeta(session_id="abc", subject="anna")) as journal:
        t = 1_700_000_000_000_000_000 + np.arange(400) * 5_000_000
        journal.append("acc", "IMU-1", t, x=np.zeros(400), y=np.zeros(400), z=np.ones(400))
        journal.append("hr", "H10", t[::200], value=[61.0, 62.0])
    result = CliRunner().invoke(app, ["info", str(tmp_path / "s.parquet")])
    assert result.exit_code == 0, result.output
    assert "session abc" in result.output and "subject anna" in result.output
    assert "IMU-1" in result.output and "200.00" in result.output


def test_recover_command(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "s", SessionMeta(session_id="abc"))
    journal.append("hr", "H10", [1_700_000_000_000_000_000], value=[61.0])
    journal.close(finalize_now=False)
    result = CliRunner().invoke(app, ["recover", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "recovered 1 samples" in result.output
    assert (tmp_path / "s.parquet").exists()


def test_log_commands_append_validated_rows(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "log",
            "soreness",
            "glutes",
            "6",
            "--at",
            "-2h",
            "--subject",
            "anna",
            "--dir",
            str(tmp_path),
        ],
    )
    assert ok.exit_code == 0, ok.output
    ok = runner.invoke(
        app, ["log", "intake", "caffeine", "200", "--at", "-45m", "--dir", str(tmp_path)]
    )
    assert ok.exit_code == 0, ok.output
    soreness = (tmp_path / "soreness.csv").read_text().splitlines()
    assert soreness[0] == "time,subject,muscle,rating" and soreness[1].endswith(",anna,glutes,6")
    assert (tmp_path / "intake.csv").read_text().splitlines()[1].endswith(",me,caffeine,200")
    result = run_cli("log", "soreness", "elbows", "6", "--dir", str(tmp_path))
    assert result.returncode == 1 and "unknown muscle 'elbows'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len((tmp_path / "soreness.csv").read_text().splitlines()) == 2  # nothing appended
