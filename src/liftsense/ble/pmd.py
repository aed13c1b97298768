"""Polar Measurement Data (PMD): GATT UUIDs, control point (both sides) and data frames.

Pure functions, no I/O. The control point (CP) speaks::

    request (client -> device, ATT write):  [op][type | offline << 7][settings TLV …]
    response (device -> client, indication): F0 [op echo][type][status][more][parameters …]
    ONLINE_MEASUREMENT_STOPPED (indication): 01 [type …]
    feature read (ATT read of the CP):      0F [bitmap: bit n = measurement type n, LE]

Settings TLV: ``[setting type][count][count x value LE]`` (sizes in :data:`SETTING_SIZES`).
Before any CP command a client must exchange an ATT MTU of at least 232 and enable CP
indications and Data notifications.

Data notifications are decoded by :func:`parse_frame` / :func:`parse_frames` and built by
:func:`encode_frame`, re-exported here from :mod:`liftsense.ble.pmd_frames`,
:mod:`liftsense.ble.pmd_batch` and :mod:`liftsense.ble.pmd_encode`.
"""

from __future__ import annotations

from liftsense.ble.pmd_batch import PmdFrames, parse_frames
from liftsense.ble.pmd_control import (
    MIN_MTU,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    SETTING_SIZES,
    CpResponse,
    MeasurementStopped,
    OpCode,
    Settings,
    SettingType,
    SettingValue,
    Status,
    encode_settings,
    get_settings_request,
    merge_responses,
    parse_cp_indication,
    parse_features,
    parse_response,
    parse_settings,
    start_request,
    stop_request,
)
from liftsense.ble.pmd_device import (
    CpRequest,
    encode_features,
    encode_measurement_stopped,
    encode_response,
    parse_request,
)
from liftsense.ble.pmd_encode import encode_frame
from liftsense.ble.pmd_frames import (
    POLAR_EPOCH_UNIX_NS,
    MeasurementType,
    PmdFrame,
    parse_frame,
    parse_header,
)
from liftsense.ble.pmd_time import sample_timestamps_ns

__all__ = [
    "MIN_MTU",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "POLAR_EPOCH_UNIX_NS",
    "SETTING_SIZES",
    "CpRequest",
    "CpResponse",
    "MeasurementStopped",
    "MeasurementType",
    "OpCode",
    "PmdFrame",
    "PmdFrames",
    "SettingType",
    "SettingValue",
    "Settings",
    "Status",
    "encode_features",
    "encode_frame",
    "encode_measurement_stopped",
    "encode_response",
    "encode_settings",
    "get_settings_request",
    "merge_responses",
    "parse_cp_indication",
    "parse_features",
    "parse_frame",
    "parse_frames",
    "parse_header",
    "parse_request",
    "parse_response",
    "parse_settings",
    "sample_timestamps_ns",
    "start_request",
    "stop_request",
]
