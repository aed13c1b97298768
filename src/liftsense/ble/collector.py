"""Collect a session from one or many BLE wearables over bleak's public API.

Everything BLE goes through ``BleakScanner`` / ``BleakClient`` with one injected *BLE context*
(keyword arguments for both: ``{}`` for the OS stack, ``{"backend": ...}`` for the bumble
emulation or a USB dongle); the collector never knows which.

Per device, two tasks:

* the link task scans, connects, runs the profile's start sequence, waits, and on a lost link
  reconnects with exponential back-off and jitter (a rescan finds the device as soon as it
  advertises again) and resubscribes; a device that fails (never answers, refuses a stream)
  is retried and reported in its status while the others keep recording;
* the decode task takes ``(receive_ns, uuid, bytes)`` from the device's queue, decodes, aligns
  times (:class:`~liftsense.ble.clock.ClockAligner` per device clock,
  :class:`~liftsense.ble.clock.BeatClock` for RR) and appends to the journal. It also records
  one gap per outage, from the last sample before it to the first sample after it (the loss
  travels through the queue, behind the packets received before it).

Nothing is duplicated after a reconnect: a new ``BleakClient`` subscribes once, and decoders
drop frames whose device time they have already seen. On :meth:`Collector.stop` every device's
stop sequence runs (an H10 left streaming drains its battery), then the queues are drained.

Notification callbacks only read the clock (``now_ns``, default ``time.time_ns``) and queue
the bytes. The journal flushes on its own (at least every second). ``now_ns`` is injectable
so an emulated session played ``speed`` times faster can be stamped on a matching clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from liftsense.ble import hrs
from liftsense.ble.clock import BeatClock, ClockAligner
from liftsense.ble.discovery import BleakPort, BleContext, Found, scan, select
from liftsense.ble.profiles import DeviceProfile, Samples, StreamSpec, label_for
from liftsense.errors import DecodeError, DeviceError
from liftsense.schema import ClockFit, DeviceInfo, SessionMeta, StreamInfo

log = logging.getLogger(__name__)

__all__ = ["Backoff", "BleContext", "Collector", "DeviceStatus", "Found", "scan", "select"]

#: Link failures that mean "try again later" rather than a bug.
_LINK_ERRORS = (BleakError, DeviceError, TimeoutError, OSError, EOFError)


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``min(max_s, base_s·2**(attempt-1))`` scaled by U[1-jitter, 1]."""

    base_s: float = 0.05
    max_s: float = 1.0
    jitter: float = 0.5

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        if attempt <= 0:
            return 0.0
        raw = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return raw * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True)
class DeviceStatus:
    """A snapshot of one device for a dashboard."""

    label: str
    address: str
    model: str
    state: str  # searching, connecting, streaming, reconnecting, unreachable, stopped
    samples: dict[str, int]
    hr_bpm: float | None
    battery_percent: int | None
    gaps: int
    reconnects: int
    decode_errors: int
    last_error: str
    #: data packets lost on the way and repeated samples dropped; None where the device's
    #: decoder cannot count them (a standard HR strap sends no sequence numbers)
    lost_packets: int | None = None
    duplicates: int | None = None


class Journal(Protocol):
    """The part of :class:`liftsense.journal.JournalWriter` the collector uses."""

    @property
    def meta(self) -> SessionMeta: ...

    def append(
        self,
        stream: str,
        device: str,
        t_ns: npt.ArrayLike,
        *,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        z: npt.ArrayLike | None = None,
        value: npt.ArrayLike | None = None,
        t_device_ns: npt.ArrayLike | None = None,
    ) -> None: ...

    def add_gap(self, device: str, start: datetime, end: datetime, reason: str = "") -> None: ...

    def set_clock(self, label: str, fit: ClockFit) -> None: ...

    def update_meta(self, **changes: Any) -> None: ...


@dataclass(frozen=True)
class _Lost:
    """Queued by the link task when the link is lost (``t_ns`` on the receive clock)."""

    t_ns: int
    reason: str


_Item = tuple[int, str, bytes] | _Lost | None


def _utc(t_ns: int) -> datetime:
    return datetime.fromtimestamp(t_ns / 1e9, UTC)


@dataclass(eq=False)
class _Link:
    found: Found
    profile: DeviceProfile
    label: str
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    aligner: ClockAligner = field(default_factory=ClockAligner)
    beats: BeatClock = field(default_factory=BeatClock)
    state: str = "searching"
    model: str = ""
    samples: dict[str, int] = field(default_factory=dict)
    hr_bpm: float | None = None
    battery_percent: int | None = None
    gaps: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    last_error: str = ""
    in_outage: bool = False  # link task: lost and not yet streaming again
    gap_start_ns: int | None = None  # decode task: an outage awaiting its first new sample
    gap_reason: str = ""
    last_t_ns: int | None = None
    last_clock_point: tuple[int, int] = (0, 0)
    ever_streamed: bool = False
    last_clock_write_s: float = 0.0

    def __post_init__(self) -> None:
        self.decoder = self.profile.new_decoder()
        self.model = self.profile.model(self.found.advertisement)


class Collector:
    """Record from ``targets`` into ``journal`` until :meth:`stop` (see the module docstring).

    Args:
        journal: where samples, gaps, clock fits and device metadata go.
        targets: devices from :func:`scan` (those without a profile are rejected).
        ble_context: keyword arguments for ``BleakScanner`` and ``BleakClient``.
        now_ns: the receive clock (host ns since the Unix epoch).
        backoff: reconnect delays; ``connect_timeout_s``: per connect and discovery;
            ``scan_timeout_s``: per rescan for a lost device; ``stop_timeout_s``: for the stop
            sequence of each device on exit.
        clock_factory: builds each device's :class:`ClockAligner` (tests tune it).
    """

    def __init__(
        self,
        journal: Journal,
        targets: Sequence[Found],
        *,
        ble_context: BleContext,
        now_ns: Callable[[], int] = time.time_ns,
        backoff: Backoff | None = None,
        connect_timeout_s: float = 10.0,
        scan_timeout_s: float = 5.0,
        stop_timeout_s: float = 5.0,
        clock_factory: Callable[[], ClockAligner] = ClockAligner,
        seed: int | None = None,
    ) -> None:
        self.journal = journal
        self.ble_context = ble_context
        self.now_ns = now_ns
        self.backoff = backoff or Backoff()
        self.connect_timeout_s = connect_timeout_s
        self.scan_timeout_s = scan_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._rng = random.Random(seed)
        self._stopping = asyncio.Event()
        self._links: list[_Link] = []
        for found in targets:
            if found.profile is None:
                raise DeviceError(
                    f"{found.advertisement.name or found.advertisement.address}: not a supported "
                    "wearable (no profile matches its advertisement); see `liftsense scan`"
                )
            label = label_for(found.advertisement, found.profile, {k.label for k in self._links})
            self._links.append(_Link(found, found.profile, label, aligner=clock_factory()))

    @property
    def labels(self) -> list[str]:
        return [link.label for link in self._links]

    def stop(self) -> None:
        """Ask :meth:`run` to stop every stream, disconnect and return."""
        self._stopping.set()

    def status(self) -> list[DeviceStatus]:
        return [
            DeviceStatus(
                label=k.label,
                address=k.found.advertisement.address,
                model=k.model,
                state=k.state,
                samples=dict(k.samples),
                hr_bpm=k.hr_bpm,
                battery_percent=k.battery_percent,
                gaps=k.gaps,
                reconnects=k.reconnects,
                decode_errors=k.decode_errors,
                last_error=k.last_error,
                lost_packets=getattr(k.decoder, "lost_packets", None),
                duplicates=getattr(k.decoder, "duplicates", None),
            )
            for k in self._links
        ]

    async def run(self) -> None:
        """Collect until :meth:`stop`; then stop every device's streams and drain the queues."""
        decoders = [asyncio.create_task(self._decode_loop(k)) for k in self._links]
        try:
            await asyncio.gather(*(self._link_loop(k) for k in self._links))
        finally:
            for link in self._links:
                link.queue.put_nowait(None)
            await asyncio.gather(*decoders, return_exceptions=True)
            for link in self._links:
                self._write_clock(link)

    # -- link ----------------------------------------------------------------------------------

    async def _link_loop(self, link: _Link) -> None:
        attempt = 0
        device = link.found.device
        ctx = self.ble_context
        while not self._stopping.is_set():
            client: BleakClient | None = None
            try:
                if device is None:
                    link.state = "searching" if not link.ever_streamed else link.state
                    device = await BleakScanner.find_device_by_address(
                        link.found.advertisement.address, timeout=self.scan_timeout_s, **ctx
                    )
                    if device is None:
                        raise DeviceError(
                            f"not seen for {self.scan_timeout_s:g} s; is it on and in range?"
                        )
                link.state = "connecting" if not link.ever_streamed else "reconnecting"
                lost = asyncio.Event()
                client = BleakClient(
                    device,
                    disconnected_callback=lambda _, lost=lost: lost.set(),  # type: ignore[misc]
                    timeout=self.connect_timeout_s,
                    **ctx,
                )
                await client.connect()
                port = BleakPort(client, link.queue.put_nowait, self.now_ns)
                specs = await link.profile.start(port, link.decoder)
                await self._streaming(link, port, specs)
                attempt = 0
                await _first(self._stopping.wait(), lost.wait())
                if self._stopping.is_set() and client.is_connected:
                    await self._stop_device(link, client, port)
                    return
                self._lost(link, "link lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one misbehaving device must not stop the others
                attempt += 1
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, TimeoutError):
                    reason = f"no answer within {self.connect_timeout_s:g} s"
                link.last_error = f"{link.label}: {reason} (attempt {attempt})"
                expected = isinstance(exc, _LINK_ERRORS)
                log.warning("%s; retrying", link.last_error, exc_info=not expected)
                if link.ever_streamed:
                    self._lost(link, reason)
                link.state = "unreachable" if attempt >= 3 else link.state
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.disconnect()
            device = None  # rescan: a reconnect needs the device object of a fresh scan
            delay = self.backoff.delay_s(attempt, self._rng)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        link.state = "stopped"

    def _lost(self, link: _Link, reason: str) -> None:
        if not link.in_outage:
            link.in_outage = True
            # Through the queue, so that packets received before the loss are decoded first.
            link.queue.put_nowait(_Lost(self.now_ns(), reason))
        link.state = "reconnecting"

    async def _streaming(self, link: _Link, port: BleakPort, specs: tuple[StreamSpec, ...]) -> None:
        if link.in_outage:
            link.in_outage = False
            link.reconnects += 1
        link.state = "streaming"
        link.last_error = ""
        if port.has(hrs.BATTERY_LEVEL_UUID):
            with contextlib.suppress(*_LINK_ERRORS, IndexError):
                link.battery_percent = (await port.read(hrs.BATTERY_LEVEL_UUID))[0]
        if link.ever_streamed:
            return
        link.ever_streamed = True
        firmware = ""
        with contextlib.suppress(*_LINK_ERRORS, UnicodeDecodeError):
            if port.has(hrs.FIRMWARE_REVISION_UUID):
                firmware = (await port.read(hrs.FIRMWARE_REVISION_UUID)).decode().strip("\0 ")
            if port.has(hrs.MODEL_NUMBER_UUID):
                model = (await port.read(hrs.MODEL_NUMBER_UUID)).decode().strip("\0 ")
                link.model = model or link.model
        info = DeviceInfo(
            label=link.label,
            address=link.found.advertisement.address,
            model=link.model,
            firmware=firmware,
            streams={s.stream: StreamInfo(rate_hz=s.rate_hz, range=s.range) for s in specs},
        )
        others = tuple(d for d in self.journal.meta.devices if d.label != link.label)
        self.journal.update_meta(devices=(*others, info))

    async def _stop_device(self, link: _Link, client: BleakClient, port: BleakPort) -> None:
        try:
            async with asyncio.timeout(self.stop_timeout_s):
                await link.profile.stop(port, link.decoder)
                await client.disconnect()
        except _LINK_ERRORS as exc:
            log.warning("%s: stopping its streams failed: %s", link.label, exc)
        link.state = "stopped"

    # -- decoding ------------------------------------------------------------------------------

    async def _decode_loop(self, link: _Link) -> None:
        queue = link.queue
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            for item in items:
                if item is None:
                    if link.gap_start_ns is not None:  # stopped before any new sample came
                        self._close_gap(link, max(link.gap_start_ns, self.now_ns()))
                    return
                if isinstance(item, _Lost):
                    link.decoder.link_lost()
                    link.beats.restart()  # beats were missed: re-anchor the RR sums
                    if link.gap_start_ns is None:
                        last = link.last_t_ns
                        link.gap_start_ns = item.t_ns if last is None else min(last, item.t_ns)
                        link.gap_reason = item.reason
                    continue
                receive_ns, uuid, data = item
                try:
                    decoded = link.decoder.decode(uuid, data)
                except Exception as exc:  # a bad packet is counted, never fatal
                    link.decode_errors += 1
                    if link.decode_errors <= 10 or link.decode_errors % 1000 == 0:
                        log.warning(
                            "%s: %s (%d so far)",
                            link.label,
                            exc,
                            link.decode_errors,
                            exc_info=not isinstance(exc, DecodeError),
                        )
                    continue
                for samples in decoded:
                    self._write(link, receive_ns, samples)
            if time.monotonic() - link.last_clock_write_s >= 10.0:
                self._write_clock(link)

    def _write(self, link: _Link, receive_ns: int, s: Samples) -> None:
        n = len(s)
        if n == 0:
            return
        t_device = None
        if s.timing == "device" and s.t_device_ns is not None and s.frame_device_ns is not None:
            if s.clock_reset:
                link.aligner.restart()
            point = (s.frame_device_ns, receive_ns)
            if point != link.last_clock_point:  # acc and gyro of one packet share it
                link.aligner.update(np.array(point[:1]), np.array(point[1:]))
                link.last_clock_point = point
            t_ns = link.aligner.to_host(s.t_device_ns)
            t_device = s.t_device_ns
        elif s.timing == "beats" and s.value is not None:
            t_ns = link.beats.add(s.value, receive_ns)
        else:
            t_ns = np.full(n, receive_ns, dtype=np.int64)
        if link.gap_start_ns is not None:
            self._close_gap(link, max(link.gap_start_ns, int(t_ns.min())))
        last = int(t_ns.max())
        link.last_t_ns = last if link.last_t_ns is None else max(link.last_t_ns, last)
        if s.value is not None:
            self.journal.append(s.stream, link.label, t_ns, value=s.value, t_device_ns=t_device)
            if s.stream == "hr":
                link.hr_bpm = float(s.value[-1])
        else:
            self.journal.append(
                s.stream, link.label, t_ns, x=s.x, y=s.y, z=s.z, t_device_ns=t_device
            )
        link.samples[s.stream] = link.samples.get(s.stream, 0) + n

    def _close_gap(self, link: _Link, end_ns: int) -> None:
        """The outage ran from the last sample before it to the first one after it."""
        assert link.gap_start_ns is not None
        self.journal.add_gap(link.label, _utc(link.gap_start_ns), _utc(end_ns), link.gap_reason)
        link.gaps += 1
        link.gap_start_ns = None

    def _write_clock(self, link: _Link) -> None:
        link.last_clock_write_s = time.monotonic()
        fit = link.aligner.fit
        if fit is None:
            return
        self.journal.set_clock(link.label, fit)


async def _first(*waits: Any) -> None:
    """Wait until the first of several awaitables completes; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
