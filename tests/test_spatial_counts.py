"""distinct_offsets (the number of distinct tiles or points a box of loops reaches) equals a literal
enumeration of every point, for the closed forms (``p*s+r``; spatial translations of one structure,
where rows share which dimensions move but not by how much) and for the general path."""
import itertools

import numpy as np
from hypothesis import given, settings

from conftest import examples
from hypothesis import strategies as st

from einloop.model.spatial import distinct_offsets


def enumerate_points(offsets, factors):
    return len({tuple(sum(x * np.asarray(o) for x, o in zip(xs, offsets))) if len(xs) else ()
                for xs in itertools.product(*[range(f) for f in factors])})


@st.composite
def boxes(draw):
    m, dims = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    one_dim = draw(st.booleans())   # most loops of real tensors move one coordinate (the closed form)
    offsets = []
    for _ in range(m):
        if one_dim:
            row = [0] * dims
            row[draw(st.integers(0, dims - 1))] = draw(st.sampled_from([1, 1, 2, 3, 5, -1, -2]))
        else:
            row = [draw(st.sampled_from([0, 0, 1, 2, -1])) for _ in range(dims)]
        offsets.append(row)
    factors = [draw(st.integers(1, 6)) for _ in range(m)]
    return offsets, factors


@settings(max_examples=examples(400), deadline=None)
@given(boxes())
def test_distinct_offsets_equals_enumeration(box):
    offsets, factors = box
    got = distinct_offsets(np.array([offsets], np.int64), np.array([factors], np.int64))
    assert int(got[0]) == enumerate_points(offsets, factors)


@settings(max_examples=examples(200), deadline=None)
@given(boxes(), st.lists(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=4, max_size=4), min_size=2, max_size=4))
def test_rows_moving_the_same_dimensions_by_different_steps(box, scales):
    """A batch whose rows scale each loop's step differently (an inner extent times a coefficient)."""
    offsets, factors = box
    rows = [[[x * s for x in row] for row, s in zip(offsets, scale)] for scale in scales]
    got = distinct_offsets(np.array(rows, np.int64), np.array([factors] * len(rows), np.int64))
    assert [int(g) for g in got] == [enumerate_points(r, factors) for r in rows]


def test_strided_window_has_gaps():
    """O[p] reads I[p*2+r]: 6 outputs with r of extent 1 touch 6 points, not the box's 11; with r of
    extent 3 the runs overlap: 13 points."""
    offsets = np.array([[[2], [1]]], np.int64)
    assert int(distinct_offsets(offsets, np.array([[6, 1]]))[0]) == 6
    assert int(distinct_offsets(offsets, np.array([[6, 3]]))[0]) == 13


def test_an_empty_batch_counts_nothing():
    """The mapper's seed can price an empty batch (GPT-3's q projection, weights W_q[h*128+e, c], on the
    TPU-like example): zero rows in, zero counts out (it raised IndexError)."""
    import numpy as np
    from einloop.model.spatial import distinct_offsets
    out = distinct_offsets(np.zeros((0, 2, 3), np.int64), np.zeros((0, 2), np.int64))
    assert out.shape == (0,)
