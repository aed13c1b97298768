"""Dropouts: stretches of up to ``imu.MAX_BRIDGED_GAP_S`` where a sensor sent nothing (a
Bluetooth link that faded for a second), bridged by interpolation when the signal is put on
its grid.

A straight bridge is a fair guess of the acceleration for a fraction of a second, but not over a
second of a rep: its error integrates to a step in the velocity and a larger one in the height, and
the drift control, which knows the velocity only where the load is still, takes that step for
movement and loses the reps next to it. Past each dropout of ``DROPOUT_S`` or more, a running
integral (a velocity, or an angle from the gyro) is instead shifted so that its mean over one rep
period continues its mean over the period before the dropout, along its trend there: a rep's motion
averages the same over any whole period (``stitch``). A velocity's integral, the height, is matched
the same way, by the velocity inside the dropout (``stitch_velocity``). Only where the set goes on
through the dropout, moving about as much after it as before, from sample to sample and in how far
it swings (``_goes_on``): where the set ended inside it (the bar racked), its motion is no periodic
one, and matching periods there made a step that read as a failed attempt after 21 % of sets
(``--dropout-at end``). There, and where the set began inside it, the velocity is held level across
the dropout instead (``_level``): the bridge's straight line between two instants of acceleration,
one of them in the middle of a movement (the bar on its way to the hooks), integrates to a step in
the velocity of about half the dropout's length times that acceleration (0.76 m/s across a 2-s
dropout after a squat set). Taken out as a trend over the window, that step tilted the velocity of
every rep, and the last rep and the re-rack made one more; a load still on one side of the dropout
and moving at a lifter's speed on the other changes its velocity by less; what step remains, the
drift control lets the velocity's error take inside the dropout (``stitch_velocity`` names these
dropouts; ``drift``). The gyro's angle is left to the bridge: held level too, it counted more sets
wrong.

Below ``DROPOUT_S`` the bridge is the better guess: on the evaluation grid
(``scripts/eval_reps.py synthetic --dropout-s S``) the two count sets equally often at 0.85 s,
and the bridge times them better below that.

What the lifter did inside a dropout stays unknown, and a rep it hides for the most part is not
found. Between two reps that a dropout comes between, and that lie a whole number of the set's rep
periods apart (within a quarter period over two periods, and more over more of them, as the small
differences between periods add up, and more where few steps gave the period: the set kept its
rhythm), the reps that rhythm leaves room for are counted all the same (``hidden_per_step``): when
the sensor was moving at both edges of the dropout (the set went on through it; a lifter who paused
between reps there stood still, or re-racked the bar out of rhythm), and when no more than two
periods of the step between the reps were recorded (the rep before and one more: the reps the
dropout cuts into may be lost as well; a longer stretch on record is a pause), or dropouts cut into
each of the reps the rhythm leaves room for, and what of them is on record moves like the set's
reps (a dropout across the turn from one rep to the next can lose both, and leave most of them on
record; a lifter who paused for two periods, the dropout in the middle, moved less). How the reps
either side of a dropout are timed, and the hidden reps' time, is ``tempofill``'s.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liftsense.signal.filters import integrate
from liftsense.signal.quantiles import median

__all__ = [
    "DROPOUT_S",
    "dropout_spans",
    "hidden_per_step",
    "in_dropouts",
    "period_samples",
    "stitch",
    "stitch_velocity",
    "unrecorded",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Native gaps at least this long are dropouts (shorter ones are left to the bridge).
DROPOUT_S = 0.9
#: The period to match over where a signal shows none (s).
_DEFAULT_PERIOD_S = 2.0
#: How long (s) before and after a dropout the sensor is looked at for movement, and how
#: much it must move there (as a share of how much it usually moves over a step between the
#: set's reps) for the set to have gone on through the dropout.
_EDGE_S = 1.0
_EDGE_MOTION = 0.25
#: How far (in rep periods) the reps either side of a dropout may lie from two periods apart
#: and still keep the set's rhythm through it; from ``n`` periods, ``sqrt(n / 2)`` times that:
#: each period of a set is a little longer or shorter than the next, and the differences add
#: up like independent errors. The period is itself a median of the ``k`` steps recorded
#: whole, off by about one step's spread over ``sqrt(k)``, and ``n`` times that in ``n``
#: periods: the tolerance is ``_RHYTHM * sqrt((n + n**2 / k) / 2)``, wider where one or two
#: steps gave the period (a five-rep set that a dropout cut in the middle).
_RHYTHM = 0.25
#: The widest that tolerance gets (in rep periods): a step about half-way between two whole
#: numbers of periods keeps no rhythm, however few steps gave the period.
_RHYTHM_MOST = 0.4
#: How much of a step between two reps (in rep periods) may have been recorded, the rep before
#: the dropout included, for the step to hold reps the dropout hid: more, and the lifter was on
#: record between the reps (a pause, a re-rack) for longer than the reps the dropout could hide
#: ...
_RECORDED_PERIODS = 2.0
#: ... unless dropouts cut into each of the step's reps and the sensor moved, over what of them
#: is on record, at least this share of what it usually moves over a step: a lifter who paused
#: there (racked the bar, stood) moved less than half of that.
_CUT_MOTION = 0.5


def dropout_spans(
    t_s: FloatArray, grid_s: FloatArray, longest_s: float, dt: FloatArray | None = None
) -> IntArray:
    """The dropouts among native sample times ``t_s`` (gaps from ``DROPOUT_S`` to
    ``longest_s``, the longest gap bridged) as ``[a, b)`` spans of the grid ``grid_s``: the
    grid samples strictly inside each gap. Shape (k, 2), in time order. ``dt``: the steps of
    ``t_s``, where the caller has them (an hour at 200 Hz is 720,000)."""
    if dt is None:
        dt = np.diff(t_s)
    at = np.flatnonzero((dt >= DROPOUT_S) & (dt <= longest_s))
    spans = np.empty((at.size, 2), dtype=np.int64)
    spans[:, 0] = grid_s.searchsorted(t_s[at], "right")
    spans[:, 1] = grid_s.searchsorted(t_s[at + 1], "left")
    return spans[spans[:, 1] > spans[:, 0]]


def unrecorded(spans: IntArray | None, n: int) -> npt.NDArray[np.bool_]:
    """Which of ``n`` grid samples lie in the dropouts ``spans`` (``[a, b)`` rows; None for
    none): the bridge's, not the sensor's."""
    out = np.zeros(n, dtype=bool)
    for a, b in spans.tolist() if spans is not None else []:
        out[a:b] = True
    return out


def period_samples(period_s: float, fs_hz: float) -> int:
    """A rep period in samples, ``_DEFAULT_PERIOD_S`` where it is NaN."""
    return round((period_s if math.isfinite(period_s) else _DEFAULT_PERIOD_S) * fs_hz)


def _matched_shift(sig: FloatArray, a: int, b: int, lo: int, hi: int, m: int) -> float:
    """What to add to ``sig`` (a running integral) from ``b`` on so that its mean over the
    ``m`` samples after ``b`` (not past ``hi``) continues its mean over the ``m`` samples
    before ``a`` (not before ``lo``) along its trend there: the mean slope over both
    stretches, each a sample longer (over one period, the slope of the periodic part
    cancels); 0 where either side has fewer than 2 samples."""
    a0, b1 = max(a - m - 1, lo), min(b + m + 1, hi)
    if a - a0 < 2 or b1 - b < 2:
        return 0.0
    pre, post = sig[a0:a], sig[b:b1]
    slope = ((pre[-1] - pre[0]) + (post[-1] - post[0])) / ((pre.size - 1) + (post.size - 1))
    gap = 0.5 * ((b + b1 - 1) - (a0 + 1 + a))  # between the centres of the means
    return float(np.mean(pre[1:]) + slope * gap - np.mean(post[:-1]))


def _goes_on(sig: FloatArray, a: int, b: int, lo: int, hi: int, m: int) -> bool:
    """Whether the set goes on through the dropout ``[a, b)``: over the period after it,
    ``sig`` both changes about as much from sample to sample (the spread of those changes)
    and swings about as far (its range) as over the period before it, each within a factor
    of two. Where it does not (the set ended, or began, inside it), the motion is no
    periodic one and the bridge is left as it is.

    Each measure alone mistakes a rest for a set. On a noisy accelerometer the noise is most
    of a slow rep's sample-to-sample changes, so a rest after a set of 6-s lowerings changes
    as much; its velocity, though, swings a fraction as far (on the grid's 1-s end dropouts,
    8 of the 18 sets miscounted were hip thrusts miscounted that way, 6 of them with 6-s
    lowerings). The range alone is no better: where the period after a set holds one large
    movement (the re-rack), it swings as far as over a rep; judged on its range about its
    trend alone, 3 sets on those dropouts that the changes tell right were miscounted. A rep
    swings through its whole range within any one period, however much of it a pause fills."""
    pre, post = sig[max(a - m, lo) : a], sig[b : min(b + m, hi)]
    if pre.size < 3 or post.size < 3:
        return False
    measures = ((np.std(np.diff(pre)), np.std(np.diff(post))), (np.ptp(pre), np.ptp(post)))
    return all(0.5 * before <= after <= 2.0 * before for before, after in measures)


def _bounds(spans: IntArray, k: int, n: int) -> tuple[int, int]:
    """Where the stretches either side of dropout ``k`` must stop: the dropouts next to it, or
    the ends of a signal of ``n`` samples."""
    lo = int(spans[k - 1, 1]) if k else 0
    hi = int(spans[k + 1, 0]) if k + 1 < len(spans) else n
    return lo, hi


def _stitchable(sig: FloatArray, spans: IntArray, period_n: int) -> list[tuple[int, int, int, int]]:
    """The dropouts ``[a, b)`` of ``spans`` to stitch ``sig`` across, with the bounds ``lo``,
    ``hi`` of the stretches either side (``_bounds``): those inside ``sig`` that the set goes
    on through (``_goes_on``)."""
    n = sig.size
    out = []
    for k, (a, b) in enumerate(spans.tolist()):
        lo, hi = _bounds(spans, k, n)
        if a >= 1 and b < n and _goes_on(sig, a, b, lo, hi, period_n):
            out.append((a, b, lo, hi))
    return out


def stitch(sig: FloatArray, spans: IntArray, period_n: int) -> FloatArray:
    """``sig`` (a running integral: an angle or a velocity) across the dropouts ``spans``
    (``dropout_spans``) that the set goes on through: past each, shifted so that its mean
    over ``period_n`` samples continues its mean before it (``_matched_shift``), and straight
    across the dropout. Other dropouts, and one at either end of ``sig``, are left as the
    bridge made them."""
    return _stitch(sig, _stitchable(sig, spans, period_n), period_n)


def _stitch(sig: FloatArray, todo: list[tuple[int, int, int, int]], period_n: int) -> FloatArray:
    """``stitch`` across the dropouts ``todo`` (``_stitchable``)."""
    out = sig.copy()
    for a, b, lo, hi in todo:
        out[b:] += _matched_shift(out, a, b, lo, hi, period_n)
        out[a:b] = np.linspace(out[a - 1], out[b], b - a + 2)[1:-1]
    return out


def stitch_velocity(
    v: FloatArray, spans: IntArray, period_n: int, fs_hz: float
) -> tuple[FloatArray, IntArray]:
    """``stitch`` for a velocity (m/s at ``fs_hz``), whose integral is matched across each
    dropout as well: the velocity inside the dropout carries the step that takes. Across the
    other dropouts inside ``v`` the velocity is held level (``_level``): those are returned
    too, as ``[a, b)`` rows (the set ended or began inside them, and what the load did there
    is unknown)."""
    todo = _stitchable(v, spans, period_n)
    out = _stitch(v, todo, period_n)
    held = _level(out, spans, {(a, b) for a, b, _, _ in todo})
    for a, b, lo, hi in todo:
        lo, hi = max(lo, a - period_n - 1), min(hi, b + period_n + 1)
        x = integrate(out[lo:hi], fs_hz)
        step = _matched_shift(x, a - lo, b - lo, 0, hi - lo, period_n)
        out[a:b] += step * fs_hz / (b - a)  # the trapezoid integral of a constant over [a-1, b]
    return out, held


def _level(v: FloatArray, spans: IntArray, stitched: set[tuple[int, int]]) -> IntArray:
    """Hold the velocity ``v`` level, in place, across each dropout ``[a, b)`` of ``spans``
    inside it and not among those ``stitched``: at its value before the dropout, and shifted
    from ``b`` on to continue from there (see the module's docstring). Returns those
    dropouts."""
    held = []
    for a, b in spans.tolist():
        if (a, b) in stitched or a < 1 or b >= v.size:
            continue
        v[b:] += v[a - 1] - v[b]
        v[a:b] = v[a - 1]
        held.append((a, b))
    return np.array(held, dtype=np.int64).reshape(-1, 2)


def in_dropouts(spans: IntArray, lo: npt.ArrayLike, hi: npt.ArrayLike) -> FloatArray:
    """How many samples of each span ``[lo[i], hi[i])`` (sub-sample bounds, ``lo <= hi``) lie
    in the dropouts ``spans`` (``dropout_spans``)."""
    a, b = spans[:, 0], spans[:, 1]
    lo_, hi_ = np.asarray(lo, dtype=np.float64)[:, None], np.asarray(hi, dtype=np.float64)[:, None]
    out: FloatArray = np.clip(np.minimum(b, hi_) - np.maximum(a, lo_), 0.0, None).sum(axis=1)
    return out


def hidden_per_step(
    starts: FloatArray, spans: IntArray, motion: FloatArray, fs_hz: float
) -> IntArray:
    """How many reps the dropouts ``spans`` (``[a, b)`` grid samples) hid in each step between the
    consecutive found reps of a set, which start at the grid samples ``starts`` (in order): for a
    step with a dropout in it, one less than the number of rep periods between them (the period:
    the median step between the set's other consecutive reps, over ``k`` of them; the number within
    ``_RHYTHM * sqrt((m + m**2 / k) / 2)``, at most ``_RHYTHM_MOST``, of a whole one, ``m``); only
    where no more than ``_RECORDED_PERIODS`` periods of the step were recorded or dropouts cut into
    each of those reps (``_cut_into``), and where ``motion`` (the sensor's movement on the grid, a
    non-negative measure such as the deviation of its low-passed acceleration from its slow mean)
    averages, over ``_EDGE_S`` both before and after the dropout, at least ``_EDGE_MOTION`` of its
    usual average over a step between reps (the median over the steps recorded throughout). See the
    module's docstring."""
    hidden = np.zeros(max(starts.size - 1, 0), dtype=np.int64)
    if starts.size < 2 or not spans.size:
        return hidden
    steps = np.diff(starts)
    lo, hi = starts[:-1], starts[1:]
    unrec = in_dropouts(spans, lo, hi)
    whole = unrec == 0  # the steps recorded throughout
    if not whole.any():
        return hidden
    period = median(steps[whole])
    n_whole = int(whole.sum())
    n_edge = max(int(_EDGE_S * fs_hz), 1)
    usual = [
        float(np.mean(motion[int(a) : int(b) + 1]))
        for a, b in zip(lo[whole], hi[whole], strict=True)
    ]
    moves = median(usual)
    enough = _EDGE_MOTION * moves
    for k in np.flatnonzero(unrec > 0):
        n = round(steps[k] / period) - 1
        m = n + 1
        rhythm = min(_RHYTHM * math.sqrt((m + m * m / n_whole) / 2), _RHYTHM_MOST)
        if n < 1 or abs(steps[k] / period - m) > rhythm:
            continue  # out of rhythm: a pause
        on_record = steps[k] - unrec[k] > _RECORDED_PERIODS * period
        if on_record and not _cut_into(spans, motion, lo[k], steps[k], n, moves):
            continue  # a pause, not reps
        inside = spans[(spans[:, 1] > lo[k]) & (spans[:, 0] < hi[k])]
        if not any(_moving_at(motion, int(a), int(b), n_edge, enough) for a, b in inside):
            continue
        hidden[k] = n
    return hidden


def _cut_into(
    spans: IntArray, motion: FloatArray, start: float, step: float, n: int, moves: float
) -> bool:
    """Whether dropouts cut into each of the ``n`` reps that fit evenly in the ``step`` after
    the rep that starts at ``start`` (each ``step / (n + 1)`` long): each reaches into one of
    ``spans``, and ``motion`` over what of them is on record averages at least
    ``_CUT_MOTION`` of ``moves``, its usual average over a step between reps."""
    edges = start + step / (n + 1) * np.arange(1, n + 2)
    if not bool((in_dropouts(spans, edges[:-1], edges[1:]) > 0).all()):
        return False
    a, b = math.ceil(edges[0]), math.ceil(edges[-1])
    recorded = ~unrecorded(spans, b)[a:]
    return bool(recorded.any()) and float(np.mean(motion[a:b][recorded])) >= _CUT_MOTION * moves


def _moving_at(motion: FloatArray, a: int, b: int, n: int, enough: float) -> bool:
    """Whether ``motion`` over the ``n`` samples before ``a`` and over those after ``b`` averages
    at least ``enough``."""
    before, after = motion[max(a - n, 0) : a], motion[b : b + n]
    return all(x.size and float(np.mean(x)) >= enough for x in (before, after))
