"""Serve emulated wearables behind a virtual HCI controller on TCP (loopback by default).

    python -m liftsense.emulate.serve --listen 127.0.0.1:0 --strap "HRM A" \
        --polar "Polar H10 A1B2C3D4" --imu "LiftSense IMU 1" --speed 1

prints ``listening on HOST:PORT`` once ready; another process then drives them with
``open_transport_context("tcp-client:HOST:PORT")``. The wearables play a looping sine source.
HCI over TCP has no authentication: keep it on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from liftsense.emulate.sources import sine_source
from liftsense.emulate.wearables import HeartRateStrap, ImuBoard, PolarSensor, VirtualWearable
from liftsense.emulate.world import serve_hci


def _wearables(args: argparse.Namespace) -> list[VirtualWearable]:
    source = sine_source(args.duration)
    out: list[VirtualWearable] = []
    common: dict[str, Any] = {"source": source, "speed": args.speed, "loop": True}
    for i, name in enumerate(args.strap):
        out.append(HeartRateStrap(name, f"C0:00:00:00:02:{i:02X}", **common))
    for i, name in enumerate(args.polar):
        out.append(PolarSensor(name, f"C0:00:00:00:03:{i:02X}", **common))
    for i, name in enumerate(args.imu):
        out.append(ImuBoard(name, f"C0:00:00:00:04:{i:02X}", **common))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m liftsense.emulate.serve")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 = any free)")
    parser.add_argument("--strap", action="append", default=[], help="HR strap name (repeat)")
    parser.add_argument("--polar", action="append", default=[], help="Polar H10 name (repeat)")
    parser.add_argument("--imu", action="append", default=[], help="IMU board name (repeat)")
    parser.add_argument("--speed", type=float, default=1.0, help="session seconds per second")
    parser.add_argument("--duration", type=float, default=60.0, help="loop period, s")
    args = parser.parse_args(argv)
    host, port = args.listen.rsplit(":", 1)

    def ready(bound: int) -> None:
        print(f"listening on {host}:{bound}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_hci(host, int(port), _wearables(args), on_listening=ready))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
