"""The open LiftSense IMU board (``firmware_notes/liftsense_imu.md``) as a bumble GATT server.

Service :data:`liftsense.ble.diy_imu.SERVICE_UUID` with:

* data (notify): packets from :func:`liftsense.ble.diy_imu.encode_packet`, ``seq`` counting
  every packet produced (a dropped packet leaves a hole), ``t0_us`` from the board's monotonic
  clock (:class:`~liftsense.emulate.peripheral.DeviceClock`, zero at boot; by default the board
  booted 5 s before the session);
* config (read/write): writing a config with the streaming bit starts streaming at its rate,
  ranges and samples per packet (0 = as many as the MTU allows); clearing it stops. A config
  that does not decode or asks for an unsupported rate or range fails with ATT error 0x13
  (value not allowed). A disconnect stops streaming, as the firmware does;
* info (read): JSON with the IMU part, firmware and supported rates and ranges.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from liftsense.ble import diy_imu
from liftsense.emulate.peripheral import DeviceClock, VirtualWearable
from liftsense.errors import DecodeError
from liftsense.units import G_MPS2

if TYPE_CHECKING:
    from bumble.gatt import Service

RATES_HZ = (25, 50, 100, 200, 400)
ACC_RANGES_G = (2, 4, 8, 16)
GYRO_RANGES_DPS = (250, 500, 1000, 2000)
ATT_VALUE_NOT_ALLOWED = 0x13
_BOOT_OFFSET_NS = 5 * 10**9


class ImuBoard(VirtualWearable):
    """The open IMU board; see the module docstring.

    Args:
        clock: the board's monotonic clock (offset from boot, drift in ppm).
        **kwargs: :class:`VirtualWearable` arguments (source, speed, loop, faults, ...).
    """

    model = "LiftSense IMU v1"

    def __init__(
        self, name: str, address: str, *, clock: DeviceClock | None = None, **kwargs: Any
    ) -> None:
        super().__init__(name, address, **kwargs)
        self.clock = clock or DeviceClock(offset_ns=_BOOT_OFFSET_NS)
        self.config = diy_imu.ImuConfig()
        self._stream: asyncio.Task[None] | None = None

    def advertised_uuid128(self) -> str | None:
        return diy_imu.SERVICE_UUID

    def services(self) -> list[Service]:
        from bumble.gatt import Service

        self.data = self.characteristic(diy_imu.DATA_UUID, "NOTIFY")
        self.config_char = self.characteristic(
            diy_imu.CONFIG_UUID,
            "READ,WRITE",
            read=lambda: diy_imu.encode_config(self.config),
            write=self._on_config,
        )
        info = {
            "imu": "LSM6DSO (emulated)",
            "firmware": self.firmware,
            "rates_hz": list(RATES_HZ),
            "acc_ranges_g": list(ACC_RANGES_G),
            "gyro_ranges_dps": list(GYRO_RANGES_DPS),
        }
        self.info = self.characteristic(diy_imu.INFO_UUID, "READ", value=diy_imu.encode_info(info))
        return [
            Service(diy_imu.SERVICE_UUID, [self.data, self.config_char, self.info]),
            *super().services(),
        ]

    def install(self, device: Any) -> None:
        super().install(device)
        device.on(
            "connection", lambda c: c.on("disconnection", lambda r: self._set_streaming(False))
        )

    async def stop(self) -> None:
        self._stream = None
        await super().stop()

    def _on_config(self, connection: Any, value: bytes) -> None:
        from bumble.att import ATT_Error

        try:
            config = diy_imu.parse_config(value)
        except DecodeError as error:
            raise ATT_Error(ATT_VALUE_NOT_ALLOWED) from error
        if (
            config.rate_hz not in RATES_HZ
            or config.acc_range_g not in ACC_RANGES_G
            or config.gyro_range_dps not in GYRO_RANGES_DPS
        ):
            raise ATT_Error(ATT_VALUE_NOT_ALLOWED)
        was_streaming = self.config.streaming
        self.config = config
        if config.streaming and was_streaming:
            self._set_streaming(False)  # restart with the new settings
        self._set_streaming(config.streaming, mtu=connection.att_mtu)

    def _set_streaming(self, on: bool, mtu: int = 23) -> None:
        if not on:
            if self._stream is not None:
                self._stream.cancel()
                self._stream = None
            self.config = dataclasses.replace(self.config, streaming=False)
            return
        if self._stream is None:
            self._stream = asyncio.ensure_future(self._run(self.config, mtu))
            self._tasks.append(self._stream)

    async def _run(self, config: diy_imu.ImuConfig, mtu: int) -> None:
        track = self.source.imu if self.source is not None else None
        if track is None:
            return
        channels = 6 if config.gyro_enabled else 3
        batch = config.samples_per_packet or diy_imu.max_samples(mtu, channels)
        batch = max(1, min(batch, diy_imu.max_samples(mtu, channels)))
        acc_scale = config.acc_range_g * G_MPS2 / 32768.0
        gyro_scale = math.radians(config.gyro_range_dps) / 32768.0 if config.gyro_enabled else 0.0
        period_ns = round(1e9 / config.rate_hz)

        async def emit(t_s: NDArray[np.float64], rows: NDArray[np.intp]) -> None:
            counts = np.round(track.acc_ms2[rows] / acc_scale)
            if config.gyro_enabled:
                counts = np.hstack([counts, np.round(track.gyro_rads[rows] / gyro_scale)])
            raw = np.clip(counts, -32768, 32767).astype(np.int16)
            t0_us = int(self.clock.device_ns(0, t_s[:1])[0]) // 1000
            seq = self.stream_stats("imu").produced
            packet = diy_imu.encode_packet(
                raw,
                seq=seq,
                t0_us=t0_us,
                period_ns=period_ns,
                acc_scale=acc_scale,
                gyro_scale=gyro_scale,
            )
            await self.notify("imu", self.data, packet)

        await self.play_imu(track, float(config.rate_hz), batch, emit)
