"""Hypothesis strategies for small random Timeloop-style cases (plain data).

`case()` is a strategy producing {"ranks", "tensors", "nodes"} in exactly the
form taken by tests/bruteforce.py::simulate:

* problems: matmul   Z[m,n] += A[m,k] * B[k,n]
            conv1d   O[k,p]   += I[c, p*s + r*d] * W[k,c,r]
            conv2d   O[k,p,q] += I[c, p*s + r*d, q*s + t*d] * W[k,c,r,t]
  with stride s and dilation d in 1..2 and at most MAX_POINTS iteration points;
* 2-4 storage levels (outer -> inner), optional fanout nodes (spatial loops on
  X and/or Y) between consecutive storage levels and just above compute;
* every rank's bound is split into factors over all loop slots (each prime
  factor goes to a random slot, so the product is exactly the bound); unit
  factors are dropped, as in Timeloop's printed nest;
* random loop order inside each storage level and each fanout;
* random keep/bypass per (level, tensor); the outermost level keeps every tensor.
"""

from __future__ import annotations

from hypothesis import strategies as st

MAX_POINTS = 2000

# rank names follow the einsum letters of the brief; in conv2d the filter column rank is "T"


def prime_factors(n: int) -> list[int]:
    """The prime factors of n, smallest first, with repeats (n = their product)."""
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def _bounds(draw, spec):
    """spec: [(rank, lo, hi)]; draws bounds with a product <= MAX_POINTS."""
    ranks, total = {}, 1
    for rank, lo, hi in spec:
        cap = min(hi, MAX_POINTS // total)
        b = draw(st.integers(lo, max(lo, cap)))
        ranks[rank] = b
        total *= b
    return ranks


@st.composite
def problem(draw, kind=None):
    """{"kind", "ranks", "tensors"} for a random problem."""
    kind = kind or draw(st.sampled_from(["matmul", "conv1d", "conv2d"]))
    if kind == "matmul":
        ranks = draw(_bounds([("M", 1, 12), ("N", 1, 12), ("K", 1, 12)]))
        tensors = [
            {"name": "A", "dims": [[("M", 1)], [("K", 1)]], "output": False},
            {"name": "B", "dims": [[("K", 1)], [("N", 1)]], "output": False},
            {"name": "Z", "dims": [[("M", 1)], [("N", 1)]], "output": True},
        ]
    elif kind == "conv1d":
        s = draw(st.integers(1, 2))
        d = draw(st.integers(1, 2))
        ranks = draw(_bounds([("R", 1, 4), ("P", 1, 12), ("K", 1, 6), ("C", 1, 6)]))
        tensors = [
            {"name": "W", "dims": [[("K", 1)], [("C", 1)], [("R", 1)]], "output": False},
            {"name": "I", "dims": [[("C", 1)], [("P", s), ("R", d)]], "output": False},
            {"name": "O", "dims": [[("K", 1)], [("P", 1)]], "output": True},
        ]
    elif kind == "conv2d":
        s = draw(st.integers(1, 2))
        d = draw(st.integers(1, 2))
        ranks = draw(_bounds([("R", 1, 3), ("T", 1, 3), ("P", 1, 6), ("Q", 1, 6),
                              ("K", 1, 4), ("C", 1, 4)]))
        tensors = [
            {"name": "W", "dims": [[("K", 1)], [("C", 1)], [("R", 1)], [("T", 1)]],
             "output": False},
            {"name": "I", "dims": [[("C", 1)], [("P", s), ("R", d)], [("Q", s), ("T", d)]],
             "output": False},
            {"name": "O", "dims": [[("K", 1)], [("P", 1)], [("Q", 1)]], "output": True},
        ]
    else:
        raise ValueError(kind)
    return {"kind": kind, "ranks": ranks, "tensors": tensors}


@st.composite
def case(draw, kind=None, min_levels=2, max_levels=4, fanout_probability=0.4):
    prob = draw(problem(kind))
    ranks, tensors = prob["ranks"], prob["tensors"]
    n_levels = draw(st.integers(min_levels, max_levels))
    level_names = [f"L{i}" for i in range(n_levels)]

    # Node skeleton: storage, [fanout], storage, [fanout], ..., storage, [fanout], compute
    skeleton = []
    for i, name in enumerate(level_names):
        skeleton.append(("storage", name))
        if draw(st.floats(0, 1)) < fanout_probability:
            skeleton.append(("fanout", f"F{i}"))
    slots = list(range(len(skeleton)))

    # Distribute each rank's prime factors over the slots.
    factors = [dict() for _ in skeleton]
    for rank in sorted(ranks):
        for p in prime_factors(ranks[rank]):
            j = draw(st.sampled_from(slots))
            factors[j][rank] = factors[j].get(rank, 1) * p

    names = [t["name"] for t in tensors]
    nodes = []
    for j, (kind_, name) in enumerate(skeleton):
        present = sorted(r for r, f in factors[j].items() if f > 1)
        order = draw(st.permutations(present)) if present else []
        if kind_ == "storage":
            if name == level_names[0]:
                keep = set(names)
            else:
                keep = {t for t in names if draw(st.booleans())}
            nodes.append({"kind": "storage", "name": name,
                          "loops": [(r, factors[j][r]) for r in order], "keep": keep})
        else:
            nodes.append({"kind": "fanout", "name": name,
                          "loops": [(r, factors[j][r], draw(st.sampled_from(["X", "Y"])))
                                    for r in order]})
    nodes.append({"kind": "compute", "name": "MAC"})
    return {"ranks": ranks, "tensors": tensors, "nodes": nodes}
