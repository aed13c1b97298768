"""Virtual wearables as bumble GATT servers, with fault knobs: the catalogue.

* :class:`HeartRateStrap` (here): a standard HR strap;
* :class:`~liftsense.emulate.polar.PolarSensor`: HRS plus the Polar PMD service (H10, Verity);
* :class:`~liftsense.emulate.imu_board.ImuBoard`: the open LiftSense IMU board.

They share :class:`~liftsense.emulate.peripheral.VirtualWearable` (session clock, GATT helpers),
:class:`Faults` and :class:`DeviceClock`, re-exported here; what they play is a
:class:`~liftsense.emulate.sources.WearableSource`.

    world = await open_world()
    await world.add(HeartRateStrap("HRM A", "C0:00:00:00:00:01", source=sine_source(60)))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from liftsense.ble import hrs
from liftsense.emulate.imu_board import ImuBoard
from liftsense.emulate.peripheral import DeviceClock, Faults, StreamStats, VirtualWearable
from liftsense.emulate.polar import PolarSensor, polar_name

if TYPE_CHECKING:
    from bumble.gatt import Service

__all__ = [
    "DeviceClock",
    "Faults",
    "HeartRateStrap",
    "ImuBoard",
    "PolarSensor",
    "StreamStats",
    "VirtualWearable",
    "polar_name",
]

ATT_CONTROL_POINT_NOT_SUPPORTED = 0x80


class HeartRateStrap(VirtualWearable):
    """A standard HR chest strap: Heart Rate Service with RR, battery, device information.

    Reports contact (flags bits 1-2): contact detected except inside ``Faults.strap_off``
    windows, where it sends HR 0 without RR. With ``energy=True`` it also sends Energy
    Expended (an arbitrary count, +1 kJ per notification whose index is a multiple of 10)
    and exposes the HR Control Point (0x01 resets energy; anything else fails with ATT
    error 0x80, "Control Point value not supported").
    """

    model = "HRM Strap"

    def __init__(self, name: str, address: str, *, energy: bool = False, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        self.energy_supported = energy
        self.energy_kj = 0

    def advertised_uuids16(self) -> list[int]:
        return [0x180D]

    def services(self) -> list[Service]:
        from bumble.gatt import Service

        self.hr_measurement = self.characteristic(0x2A37, "NOTIFY")
        chars = [
            self.hr_measurement,
            self.characteristic(0x2A38, "READ", value=hrs.encode_body_sensor_location(1)),
        ]
        if self.energy_supported:
            chars.append(self.characteristic(0x2A39, "WRITE", write=self._on_control_point))
        return [Service("180D", chars), *super().services()]

    def _on_control_point(self, connection: Any, value: bytes) -> None:
        from bumble.att import ATT_Error

        if bytes(value) != hrs.RESET_ENERGY_EXPENDED:
            raise ATT_Error(ATT_CONTROL_POINT_NOT_SUPPORTED)
        self.energy_kj = 0

    def measurement(self, t_s: float, bpm: int, rr_1024: list[int]) -> bytes:
        """The HR Measurement value this strap sends at ``t_s``."""
        contact = self.faults.contact_at(t_s)
        energy = None
        if self.energy_supported:
            self.energy_kj = min(
                self.energy_kj + (1 if self.stream_stats("hr").produced % 10 == 0 else 0), 0xFFFF
            )
            energy = self.energy_kj
        if not contact:
            return hrs.encode(0, contact=False, energy_kj=energy)
        return hrs.encode(bpm, contact=True, energy_kj=energy, rr_1024=rr_1024)

    def start_streams(self) -> None:
        if self.source is not None and self.source.hr is not None:
            self.spawn(self.play_hr(self.source.hr, self._emit))

    async def _emit(self, t_s: float, bpm: int, rr_1024: list[int]) -> None:
        await self.notify("hr", self.hr_measurement, self.measurement(t_s, bpm, rr_1024))
