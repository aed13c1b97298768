"""The ``liftsense`` command line.

Heavy libraries (pyarrow, pandas, matplotlib, bumble, dask) are imported inside the commands so
that ``liftsense --help`` stays fast. Expected failures (LiftSenseError) print one line and exit 1.
"""

from __future__ import annotations

import sys
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


@app.command()
@click.argument("recording", type=click.Path(path_type=Path))
def info(recording: Path) -> None:
    """Show a recording's metadata and, per stream and device, samples, rate, duration and gaps."""
    from rich.console import Console
    from rich.table import Table

    from liftsense.recording import load

    rec = load(recording)
    meta = rec.meta
    console = Console()
    console.print(f"[bold]{rec.path}[/bold]")
    console.print(
        f"session {meta.session_id}  subject {meta.subject or '-'}  "
        f"started {meta.started_at:%Y-%m-%d %H:%M:%S} UTC  schema v{meta.schema_version}  "
        f"software {meta.software_version or '-'}"
    )
    for d in meta.devices:
        streams = ", ".join(
            f"{name} {s.rate_hz or '?'} Hz" + (f" ±{s.range:g}" if s.range else "")
            for name, s in d.streams.items()
        )
        console.print(
            f"device {d.label}: {d.model or '?'} {d.address} fw {d.firmware or '?'}; {streams}"
        )
    for s in meta.sets:
        load_txt = f" {s.load_kg:g} kg" if s.load_kg is not None else ""
        console.print(
            f"planned set: {s.exercise}{load_txt}"
            + (f" tempo {s.target_tempo}" if s.target_tempo else "")
        )
    for i in meta.intake:
        console.print(f"intake: {i.substance} {i.dose_mg:g} mg at {i.t:%H:%M:%S} UTC")
    if meta.markers:
        console.print(f"markers: {len(meta.markers)}")
    if meta.gaps:
        console.print(
            f"outages: {len(meta.gaps)} ("
            + ", ".join(
                f"{g.device} {(g.end - g.start).total_seconds():.1f} s" for g in meta.gaps[:5]
            )
            + ")"
        )
    table = Table("stream", "device", "samples", "rate Hz", "duration s", "gaps", "longest gap s")
    for st in rec.summary():
        table.add_row(
            st.stream,
            st.device,
            f"{st.samples:,}",
            f"{st.rate_hz:.2f}",
            f"{st.duration_s:.1f}",
            str(st.gaps),
            f"{st.longest_gap_s:.2f}" if st.gaps else "-",
        )
    console.print(table)


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
    help="Folder for the demo's recording.",
)
def demo(out: Path) -> None:
    """Run the end-to-end demo: make a short synthetic recording and show what is in it."""
    from liftsense.demo import run

    run(out)


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
