"""Where a window's reps split into sets (``repsets.split_sets``, ``repsets.next_starts``),
when reps overlap (``repsets.tangled``) and which reach into a dropout (``repsets.cut_by``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st

from liftsense.signal.phases import RawRep
from liftsense.signal.repsets import SET_SPLIT_S, cut_by, next_starts, split_sets, tangled

FS = 50.0


def _rep(start_s: float, end_s: float, *, failed: bool = False) -> RawRep:
    a, b = start_s * FS, end_s * FS
    mid = 0.5 * (a + b)
    return RawRep(a, mid, mid, b, 0.0, 1.0, 0.0, int(a), int(mid), int(b), failed)


def test_reps_split_into_sets_at_pauses_over_eight_seconds_and_failed_ones_are_left_out() -> None:
    reps = [
        _rep(20.0, 23.0),
        _rep(3.0, 6.0),  # out of order: sorted by start
        _rep(0.0, 3.0),
        _rep(6.5, 9.0, failed=True),  # no rep of any set
        _rep(14.0, 17.0),  # 8.0 s after the rep before it ends: the same set
        _rep(25.1, 28.0),  # 2.1 s after the rep before it
        _rep(36.1, 39.0),  # 8.1 s: a new set
    ]
    sets = split_sets(reps, FS)
    assert [[(r.out_on / FS, r.back_arr / FS) for r in s] for s in sets] == [
        [(0.0, 3.0), (3.0, 6.0), (14.0, 17.0), (20.0, 23.0), (25.1, 28.0)],
        [(36.1, 39.0)],
    ]
    assert next_starts(sets) == [36.1 * FS, math.inf]
    assert split_sets([_rep(1.0, 2.0, failed=True)], FS) == []
    assert next_starts([]) == []


@given(
    st.lists(
        st.tuples(st.floats(0.0, 300.0), st.floats(0.5, 10.0), st.booleans()),
        max_size=30,
    )
)
def test_sets_hold_every_completed_rep_in_order_parted_by_long_pauses_only(
    spans: list[tuple[float, float, bool]],
) -> None:
    reps = [_rep(a, a + d, failed=f) for a, d, f in spans]
    sets = split_sets(reps, FS)
    flat = [r for s in sets for r in s]
    assert flat == sorted((r for r in reps if not r.failed), key=lambda r: r.out_on)
    for s in sets:
        assert s
        assert all((b.out_on - a.back_arr) / FS <= SET_SPLIT_S for a, b in itertools.pairwise(s))
    for before, after in itertools.pairwise(sets):
        assert (after[0].out_on - before[-1].back_arr) / FS > SET_SPLIT_S
    assert next_starts(sets) == [s[0].out_on for s in sets[1:]] + ([math.inf] if sets else [])


def _spans(*pairs: tuple[float, float]) -> npt.NDArray[np.int64]:
    return np.array([[int(a * FS), int(b * FS)] for a, b in pairs], dtype=np.int64)


def test_reps_are_tangled_where_neither_reaches_into_a_dropout() -> None:
    pair = [_rep(3.0, 7.4), _rep(0.0, 3.0), _rep(6.2, 9.3)]  # 1.2 s shared: 39 % of 3.1 s
    assert tangled(pair)
    assert not tangled([*pair[:2], _rep(6.6, 9.3)])  # 0.8 s: 30 % of 2.7 s at most
    assert not tangled([*pair[:2], _rep(6.2, 9.3, failed=True)])  # a failed rep tangles nothing
    assert not tangled(pair, _spans((5.0, 7.0)))  # what they share lies in the dropout
    # the later rep reaches into a dropout after what they share: it was not timed there
    assert not tangled(pair, _spans((8.5, 9.0)))
    assert not tangled(pair, _spans((4.0, 4.5)))  # ... or the earlier one, before it
    # dropouts that neither rep of the overlapping pair reaches into change nothing
    assert tangled(pair, _spans((0.5, 1.0), (9.4, 10.0)))
    assert tangled(pair, np.empty((0, 2), dtype=np.int64))


def test_a_rep_is_cut_by_a_dropout_it_shares_a_sample_with_and_by_none_it_only_touches() -> None:
    reps = [_rep(0.0, 3.0), _rep(3.0, 6.0), _rep(6.0, 9.0), _rep(9.0, 12.0)]
    spans = np.array([[int(3.0 * FS) - 1, int(3.0 * FS)], [int(12.0 * FS), int(13.0 * FS)]])
    # the first dropout is the last sample of the first rep; the second starts as the last
    # rep ends ([a, b) spans against a rep's [start, end))
    assert cut_by(reps, spans).tolist() == [True, False, False, False]
    assert cut_by(reps, None).tolist() == [False] * 4
    assert cut_by(reps, np.empty((0, 2), dtype=np.int64)).tolist() == [False] * 4
    assert cut_by([], spans).tolist() == []
