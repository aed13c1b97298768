"""The ``liftsense`` command line.

Heavy libraries (pyarrow, pandas, matplotlib, bumble, dask) are imported inside the commands so
that ``liftsense --help`` stays fast. Expected failures (LiftSenseError) print one line and exit 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from liftsense import __version__
from liftsense.errors import LiftSenseError


class _App(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LiftSenseError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="liftsense")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def app(verbose: int) -> None:
    """LiftSense: record heart rate and IMU data from BLE wearables while lifting, detect sets,
    reps and tempo, and relate eccentric load and stimulant-elevated heart rate to soreness."""
    import logging

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # bumble reports protocol chatter as warnings (e.g. a notification racing an unsubscribe)
    logging.getLogger("bumble").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)


@app.command()
@click.argument("recording", type=click.Path(path_type=Path))
def info(recording: Path) -> None:
    """Show a recording's metadata and, per stream and device, samples, rate, duration and gaps."""
    from liftsense.recording import load
    from liftsense.report.console import print_info

    print_info(load(recording))


_TRANSPORT_HELP = (
    "Use a bumble transport instead of the OS stack, e.g. usb:0 or tcp-client:HOST:PORT."
)


@app.command()
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to scan.")
@click.option("--ble-transport", help=_TRANSPORT_HELP)
@click.option("--simulate", is_flag=True, help="Scan the built-in emulated wearables.")
def scan(timeout: float, ble_transport: str | None, simulate: bool) -> None:
    """List nearby BLE devices: name, address, RSSI, and the LiftSense profile that fits."""
    import asyncio

    from rich.console import Console

    from liftsense.ble.collector import scan as do_scan
    from liftsense.record import RecordOptions, ble_context, scan_table

    async def run() -> list[Any]:
        opts = RecordOptions(simulate="demo" if simulate else None, ble_transport=ble_transport)
        async with ble_context(opts) as (ctx, _):
            return await do_scan(ctx, timeout_s=timeout)

    found = asyncio.run(_ble(run()))
    Console().print(scan_table(found))
    if not found:
        click.echo(
            "nothing found: are the sensors on, worn (an H10 sleeps off the strap), and "
            "not connected to a phone?"
        )


async def _ble(coro: Any) -> Any:
    """Run BLE work, turning the OS stack's errors into one clear line."""
    from bleak.exc import BleakError

    from liftsense.errors import DeviceError

    try:
        return await coro
    except BleakError as exc:
        raise DeviceError(f"Bluetooth: {exc}") from exc


@app.command()
@click.option("--device", "devices", multiple=True, help="Name (prefix) or address; repeatable.")
@click.option(
    "--simulate",
    is_flag=False,
    flag_value="demo",
    default=None,
    help="Record emulated wearables playing a synthetic session (default scenario: "
    "demo; others: short, squat-5x5, slow-eccentric, paused, failure, full-body).",
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="With --simulate: play the session N times faster than real time.",
)
@click.option("--duration", help="Stop after this long (e.g. 20m, 90s); default: until Ctrl-C.")
@click.option("--ble-transport", help=_TRANSPORT_HELP)
@click.option("--subject", default="me", show_default=True)
@click.option("--exercise", help="Exercise of the session's sets, e.g. hip_thrust.")
@click.option("--load-kg", type=float, help="Load of the sets in kg.")
@click.option("--caffeine-mg", type=float, help="Caffeine taken before the session, in mg.")
@click.option(
    "--taken-at",
    default="-45m",
    show_default=True,
    help="When the caffeine was taken, relative to now (e.g. -45m).",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("recordings"), show_default=True
)
@click.option("--name", help="Recording name (default: SUBJECT-DATE).")
@click.option("--seed", type=int, default=0, help="With --simulate: the generator's seed.")
def record(
    devices: tuple[str, ...],
    simulate: str | None,
    speed: float,
    duration: str | None,
    ble_transport: str | None,
    subject: str,
    exercise: str | None,
    load_kg: float | None,
    caffeine_mg: float | None,
    taken_at: str,
    out: Path,
    name: str | None,
    seed: int,
) -> None:
    """Record a session from BLE wearables into OUT/NAME.parquet, with a live dashboard.

    Ctrl-C, SIGTERM or the q key stops and finalizes the recording; after a crash,
    `liftsense recover OUT` restores it.
    """
    import asyncio

    from rich.console import Console

    from liftsense.record import RecordOptions, parse_duration, parse_offset
    from liftsense.record import record as do_record
    from liftsense.report.console import LiveDashboard

    if speed != 1.0 and simulate is None:
        raise click.UsageError("--speed only applies to --simulate")
    opts = RecordOptions(
        out=out,
        subject=subject,
        exercise=exercise,
        load_kg=load_kg,
        caffeine_mg=caffeine_mg,
        taken_at=parse_offset(taken_at),
        devices=devices,
        duration_s=parse_duration(duration),
        simulate=simulate,
        speed=speed,
        ble_transport=ble_transport,
        name=name,
        seed=seed,
    )
    console = Console()
    try:
        with LiveDashboard(console, keys=sys.stdin.isatty()) as live:
            path = asyncio.run(_ble(do_record(opts, show=live.show, on_ready=live.on_ready)))
    finally:
        console.print()
    click.echo(f"saved {path}; analyse it with: liftsense analyze {path}")


@app.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README).")
@click.option("--imu-device", help="Device whose accelerometer to analyse (default: best one).")
def analyze(recording: Path, as_json: bool, imu_device: str | None) -> None:
    """Detect sets, reps, tempo and eccentric time under tension; compute heart features."""
    import json

    from liftsense.analysis.session import analyze as run

    result = run(recording, imu_device=imu_device)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1, allow_nan=False))
        return
    from liftsense.report.console import print_analysis

    print_analysis(result)


@app.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file to write (default: next to the recording).",
)
def report(recording: Path, output: Path | None) -> None:
    """Write a self-contained HTML report of one session (sets, tempo, traces, heart, quality)."""
    from liftsense.analysis.session import analyze
    from liftsense.report.session import write_session_report

    analysis = analyze(recording)
    path = write_session_report(analysis, output or recording.with_suffix(".html"))
    click.echo(f"wrote {path}")


@app.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file to write (default: FOLDER/cohort.html).",
)
def cohort(folder: Path, output: Path | None) -> None:
    """Cross-session report over FOLDER: soreness against eccentric load, HR elevation and
    caffeine (with honest statistics), and progressive overload per exercise."""
    from liftsense.report.cohort import write_cohort_report

    path = write_cohort_report(folder, output or folder / "cohort.html")
    click.echo(f"wrote {path}")


@app.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--workers", type=int, help="Local worker processes (default: all cores).")
@click.option("--scheduler", help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
@click.option("--dask-local", type=int, help="Start a Dask LocalCluster with N worker processes.")
@click.option("--no-reports", is_flag=True, help="Skip the per-session HTML reports.")
def batch(
    folder: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    no_reports: bool,
) -> None:
    """Analyse every recording in FOLDER: sets/sessions tables, reports, errors; resumable."""
    from liftsense.batch import run_batch
    from liftsense.report.console import batch_progress

    if scheduler and dask_local:
        raise click.UsageError("use either --scheduler or --dask-local, not both")
    with batch_progress() as bar:
        task = bar.add_task("batch", total=None)
        summary = run_batch(
            folder,
            out,
            workers=workers,
            scheduler=scheduler,
            dask_local=dask_local,
            report=not no_reports,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    click.echo(
        f"{summary.total} recordings: {summary.processed} analysed, {summary.skipped} up to "
        f"date, {summary.failed} failed ({summary.seconds:.1f} s). Outputs in {summary.out}"
        + (f"; see {summary.out / 'errors.parquet'}" if summary.failed else "")
    )


@app.group()
def log() -> None:
    """Log soreness ratings or stimulant intake (appends a validated row to a CSV)."""


_AT_HELP = "When: now, -45m, -2h, -1d, HH:MM today, or an ISO time (local zone if no offset)."


def _log_options(filename: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--at, --subject and --dir, shared by the log commands."""

    def decorate(f: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(
            (
                click.option("--at", default="now", show_default=True, help=_AT_HELP),
                click.option("--subject", default="me", show_default=True),
                click.option(
                    "--dir",
                    "directory",
                    type=click.Path(path_type=Path),
                    default=Path("."),
                    show_default=True,
                    help=f"Folder holding {filename} (next to the recordings).",
                ),
            )
        ):
            f = option(f)
        return f

    return decorate


@log.command("soreness")
@click.argument("muscle")
@click.argument("rating")
@_log_options("soreness.csv")
def log_soreness(muscle: str, rating: str, at: str, subject: str, directory: Path) -> None:
    """Rate MUSCLE's soreness 0-10 (glutes, quads, hamstrings, chest, back, shoulders, biceps,
    triceps, calves, core). Example: liftsense log soreness glutes 6 --at -2h"""
    from liftsense.analysis.logs import log_soreness as append

    entry = append(directory, muscle, rating, at=at, subject=subject)
    click.echo(
        f"logged {entry.muscle} {entry.rating:g}/10 for {entry.subject} at "
        f"{entry.time:%Y-%m-%d %H:%M %z} in {directory / 'soreness.csv'}"
    )


@log.command("intake")
@click.argument("substance")
@click.argument("dose_mg")
@_log_options("intake.csv")
def log_intake(substance: str, dose_mg: str, at: str, subject: str, directory: Path) -> None:
    """Log a stimulant intake in mg. Example: liftsense log intake caffeine 200 --at -45m"""
    from liftsense.analysis.logs import log_intake as append

    entry = append(directory, substance, dose_mg, at=at, subject=subject)
    click.echo(
        f"logged {entry.substance} {entry.dose_mg:g} mg for {entry.subject} at "
        f"{entry.time:%Y-%m-%d %H:%M %z} in {directory / 'intake.csv'}"
    )


@app.command()
@click.argument("path", type=click.Path(path_type=Path))
def recover(path: Path) -> None:
    """Finalize what a crash left: PATH is a recording, its journal, or a folder of them."""
    from liftsense.recording import recover as do_recover

    for result in do_recover(path):
        click.echo(result.describe())


@app.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the demo's recording and reports.",
)
@click.option(
    "--speed",
    type=float,
    default=8.0,
    show_default=True,
    help="How many times faster than real time the wearables play.",
)
@click.option("--scenario", default="demo", show_default=True, help="Synthetic session to play.")
def demo(out: Path, speed: float, scenario: str) -> None:
    """The whole story on emulated wearables: record over BLE, analyse, report."""
    from liftsense.demo import run

    run(out, scenario=scenario, speed=speed)


def main(argv: list[str] | None = None) -> int:
    try:
        app.main(args=argv, prog_name="liftsense", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
