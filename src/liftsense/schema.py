"""The recording format, schema version 1: the one source of truth for what is on disk.

Other tools read and write these files directly with pyarrow, so everything here is a contract:
column names and types, units, and the JSON metadata stored under the schema metadata key
``liftsense``. See README.md, "Recording format".

This module imports only the standard library and pyarrow (lazily), so it is cheap to import.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_VERSION: Final = 1
META_KEY: Final = b"liftsense"

VECTOR_STREAMS: Final = ("acc", "gyro", "mag")
"""Streams with x, y, z: acc in m/s², gyro in rad/s, mag in µT (sensor frame)."""
SCALAR_STREAMS: Final = ("hr", "rr", "ecg", "ppg")
"""Streams with one value: hr in bpm, rr in ms, ecg in µV, ppg in raw counts."""
STREAMS: Final = VECTOR_STREAMS + SCALAR_STREAMS
UNITS: Final = {
    "acc": "m/s²",
    "gyro": "rad/s",
    "mag": "µT",
    "hr": "bpm",
    "rr": "ms",
    "ecg": "µV",
    "ppg": "raw",
}
COLUMNS: Final = ("stream", "device", "t", "t_device", "x", "y", "z", "value")
MARKER_KINDS: Final = ("set_start", "set_end", "note")


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a recording (and of its journal), without metadata."""
    import pyarrow as pa

    label = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            pa.field("stream", label, nullable=False),
            pa.field("device", label, nullable=False),
            pa.field("t", pa.timestamp("ns", tz="UTC"), nullable=False),
            pa.field("t_device", pa.int64()),
            pa.field("x", pa.float32()),
            pa.field("y", pa.float32()),
            pa.field("z", pa.float32()),
            pa.field("value", pa.float32()),
        ]
    )


class MetaError(ValueError):
    """The metadata JSON does not match schema version 1 (the message names the key)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and microseconds."""
    if t.tzinfo is None:
        raise MetaError(f"time {t!r} has no timezone")
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise MetaError(f"{where}: expected an ISO 8601 time string, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MetaError(f"{where}: {value!r} is not an ISO 8601 time") from exc
    if t.tzinfo is None:
        raise MetaError(f"{where}: {value!r} has no timezone offset")
    return t.astimezone(UTC)


def _num(value: object, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetaError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _int_or_none(value: object, where: str) -> int | None:
    number = _num(value, where, optional=True)
    return None if number is None else int(number)


def _str(value: object, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise MetaError(f"{where}: expected a string, got {value!r}")
    return value


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise MetaError(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MetaError(f"{where}: expected an object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class StreamInfo:
    """Nominal settings of one stream. ``range`` is ± in g (acc), deg/s (gyro) or µT (mag)."""

    rate_hz: float | None = None
    range: float | None = None


@dataclass(frozen=True)
class DeviceInfo:
    label: str
    address: str = ""
    model: str = ""
    firmware: str = ""
    streams: dict[str, StreamInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class SetPlan:
    """One planned set, in order. ``target_tempo`` like ``"3-1-1-0"`` (ecc-pause-con-pause, s)."""

    exercise: str
    load_kg: float | None = None
    target_tempo: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Marker:
    t: datetime
    kind: str
    label: str = ""


@dataclass(frozen=True)
class Intake:
    t: datetime
    substance: str
    dose_mg: float


@dataclass(frozen=True)
class ClockFit:
    """host_ns = device_ns + offset_ns + drift_ppm * 1e-6 * (device_ns - device_ref_ns).

    ``first_device_ns``/``last_device_ns`` (optional) bound the device times the fit was made
    from; finalization re-times the samples in that span with it (a clock reset starts a new
    span, and samples before it keep the times they were given live). The collector's
    :class:`liftsense.ble.clock.ClockAligner` gives one per clock segment.
    """

    offset_ns: int
    drift_ppm: float
    device_ref_ns: int = 0
    first_device_ns: int | None = None
    last_device_ns: int | None = None

    def to_host(self, device_ns: Any) -> Any:
        """Host ns for device ns (int or int64 array)."""
        return (
            device_ns
            + self.offset_ns
            + np.round(self.drift_ppm * 1e-6 * (device_ns - self.device_ref_ns)).astype(np.int64)
        )


@dataclass(frozen=True)
class Gap:
    """An outage of one device: no samples from ``start`` to ``end`` (link loss, clock reset)."""

    device: str
    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class SessionMeta:
    """The ``liftsense`` metadata of a recording (schema version 1)."""

    session_id: str
    subject: str = ""
    started_at: datetime = field(default_factory=utc_now)
    software_version: str = ""
    devices: tuple[DeviceInfo, ...] = ()
    sets: tuple[SetPlan, ...] = ()
    markers: tuple[Marker, ...] = ()
    intake: tuple[Intake, ...] = ()
    notes: str = ""
    clock: dict[str, ClockFit] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def evolve(self, **changes: Any) -> SessionMeta:
        return replace(self, **changes)

    def device(self, label: str) -> DeviceInfo | None:
        return next((d for d in self.devices if d.label == label), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "session_id": self.session_id,
            "subject": self.subject,
            "started_at": format_time(self.started_at),
            "software_version": self.software_version,
            "devices": [
                {
                    "label": d.label,
                    "address": d.address,
                    "model": d.model,
                    "firmware": d.firmware,
                    "streams": {name: asdict(s) for name, s in d.streams.items()},
                }
                for d in self.devices
            ],
            "sets": [{k: v for k, v in asdict(s).items() if v is not None} for s in self.sets],
            "markers": [
                {"t": format_time(m.t), "kind": m.kind, "label": m.label} for m in self.markers
            ],
            "intake": [
                {"t": format_time(i.t), "substance": i.substance, "dose_mg": i.dose_mg}
                for i in self.intake
            ],
            "notes": self.notes,
            "clock": {
                label: {k: v for k, v in asdict(c).items() if v is not None}
                for label, c in self.clock.items()
            },
            "gaps": [
                {
                    "device": g.device,
                    "start": format_time(g.start),
                    "end": format_time(g.end),
                    "reason": g.reason,
                }
                for g in self.gaps
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, obj: object) -> SessionMeta:
        """Validate and build; raises MetaError naming the offending key."""
        root = _dict(obj, "metadata")
        version = root.get("schema_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise MetaError(f"schema_version: expected an integer, got {version!r}")
        if version > SCHEMA_VERSION:
            raise MetaError(
                f"schema_version {version} is newer than this LiftSense understands "
                f"({SCHEMA_VERSION}); upgrade LiftSense to read it"
            )
        if version < 1:
            raise MetaError(f"schema_version {version} is not a valid version")
        session_id = _str(root.get("session_id"), "session_id")
        devices = []
        for i, d in enumerate(_list(root, "devices")):
            d = _dict(d, f"devices[{i}]")
            streams = {}
            for name, s in _dict(d.get("streams", {}), f"devices[{i}].streams").items():
                s = _dict(s, f"devices[{i}].streams.{name}")
                streams[name] = StreamInfo(
                    rate_hz=_num(
                        s.get("rate_hz"), f"devices[{i}].streams.{name}.rate_hz", optional=True
                    ),
                    range=_num(s.get("range"), f"devices[{i}].streams.{name}.range", optional=True),
                )
            devices.append(
                DeviceInfo(
                    label=str(_str(d.get("label"), f"devices[{i}].label")),
                    address=str(_str(d.get("address", ""), f"devices[{i}].address")),
                    model=str(_str(d.get("model", ""), f"devices[{i}].model")),
                    firmware=str(_str(d.get("firmware", ""), f"devices[{i}].firmware")),
                    streams=streams,
                )
            )
        sets = []
        for i, s in enumerate(_list(root, "sets")):
            s = _dict(s, f"sets[{i}]")
            sets.append(
                SetPlan(
                    exercise=str(_str(s.get("exercise"), f"sets[{i}].exercise")),
                    load_kg=_num(s.get("load_kg"), f"sets[{i}].load_kg", optional=True),
                    target_tempo=_str(
                        s.get("target_tempo"), f"sets[{i}].target_tempo", optional=True
                    ),
                    note=_str(s.get("note"), f"sets[{i}].note", optional=True),
                )
            )
        markers = []
        for i, m in enumerate(_list(root, "markers")):
            m = _dict(m, f"markers[{i}]")
            kind = _str(m.get("kind"), f"markers[{i}].kind")
            if kind not in MARKER_KINDS:
                raise MetaError(f"markers[{i}].kind: {kind!r} is not one of {MARKER_KINDS}")
            markers.append(
                Marker(
                    t=parse_time(m.get("t"), f"markers[{i}].t"),
                    kind=str(kind),
                    label=str(_str(m.get("label", ""), f"markers[{i}].label")),
                )
            )
        intake = []
        for i, it in enumerate(_list(root, "intake")):
            it = _dict(it, f"intake[{i}]")
            dose = _num(it.get("dose_mg"), f"intake[{i}].dose_mg")
            intake.append(
                Intake(
                    t=parse_time(it.get("t"), f"intake[{i}].t"),
                    substance=str(_str(it.get("substance"), f"intake[{i}].substance")),
                    dose_mg=float(dose or 0.0),
                )
            )
        clock = {}
        for label, c in _dict(root.get("clock", {}), "clock").items():
            c = _dict(c, f"clock.{label}")
            clock[label] = ClockFit(
                offset_ns=int(_num(c.get("offset_ns"), f"clock.{label}.offset_ns") or 0),
                drift_ppm=float(_num(c.get("drift_ppm"), f"clock.{label}.drift_ppm") or 0.0),
                device_ref_ns=int(
                    _num(c.get("device_ref_ns", 0), f"clock.{label}.device_ref_ns") or 0
                ),
                first_device_ns=_int_or_none(c.get("first_device_ns"), f"clock.{label}"),
                last_device_ns=_int_or_none(c.get("last_device_ns"), f"clock.{label}"),
            )
        gaps = []
        for i, g in enumerate(_list(root, "gaps")):
            g = _dict(g, f"gaps[{i}]")
            gaps.append(
                Gap(
                    device=str(_str(g.get("device"), f"gaps[{i}].device")),
                    start=parse_time(g.get("start"), f"gaps[{i}].start"),
                    end=parse_time(g.get("end"), f"gaps[{i}].end"),
                    reason=str(_str(g.get("reason", ""), f"gaps[{i}].reason")),
                )
            )
        return cls(
            schema_version=version,
            session_id=str(session_id),
            subject=str(_str(root.get("subject", ""), "subject")),
            started_at=parse_time(root.get("started_at"), "started_at"),
            software_version=str(_str(root.get("software_version", ""), "software_version")),
            devices=tuple(devices),
            sets=tuple(sets),
            markers=tuple(markers),
            intake=tuple(intake),
            notes=str(_str(root.get("notes", ""), "notes")),
            clock=clock,
            gaps=tuple(gaps),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionMeta:
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MetaError(f"metadata is not valid JSON: {exc}") from exc
        return cls.from_dict(obj)
