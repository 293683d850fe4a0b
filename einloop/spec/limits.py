"""The ceilings einloop puts on spec values and YAML files, and why (README "Bad input" lists them).

The model counts reads, fills, updates and cycles exactly in 64-bit integers (numpy int64). Every
count is at most the iteration space (the product of all rank bounds) times one factor below 2**16
(bits per value, words per vector access, an index coefficient), so the iteration space is capped
at 2**47 and every such factor at 2**16: 2**47 * 2**16 = 2**63.
"""
from __future__ import annotations

#: the largest bound of one rank (and one loop factor)
MAX_BOUND = 2**31
#: the largest iteration space (product of an Einsum's rank bounds)
MAX_ITERATIONS = 2**47
#: the largest per-access factor: bits per value, datawidth, width, |index coefficient|
MAX_FACTOR = 2**16
#: the largest |constant offset| in a tensor index
MAX_OFFSET = 2**31
#: the largest storage depth (words) and the largest number of instances below one fanout
MAX_DEPTH_WORDS = 2**47
MAX_FANOUT = 2**24
#: the largest energy per action (pJ), area (um^2) or bandwidth (words/cycle): finite in every sum
MAX_ENERGY = 1e12
MAX_AREA = 1e15
MAX_BANDWIDTH = float(2**47)
#: the largest multiple-buffering factor and clock period (s)
MAX_BUFFERING = 64.0
MAX_CYCLE_SECONDS = 1.0

#: YAML reading: bytes per file, nodes after alias expansion, nesting depth, path length
MAX_FILE_BYTES = 4 * 2**20
MAX_YAML_NODES = 200_000
MAX_YAML_DEPTH = 64
MAX_PATH_CHARS = 4096
#: characters of a user value echoed in a message
MAX_ECHO = 60

BOUND_REASON = (f"einloop counts exactly in 64-bit integers: an iteration space up to 2**47 "
                f"times a per-access factor below 2**16 stays below 2**63")


def shorten(value: object, limit: int = MAX_ECHO) -> str:
    """``repr(value)``, cut to ``limit`` characters with the total length said, for messages."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"

