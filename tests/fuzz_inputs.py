"""Hypothesis strategies that mutate real inputs (the shipped examples, Timeloop reference inputs).

A mutation changes one file of a seed (a list of input files that evaluates cleanly): a structural
change of its parsed YAML (a value replaced by a wrong type or an extreme number, a key dropped,
misspelled or added, a list emptied), an Einsum or loop string edited, or the YAML text itself edited
(characters deleted or inserted, lines duplicated, indentation broken, hostile YAML).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import strategies as st

from conftest import ROOT

EX = ROOT / "examples"
REFERENCE = ROOT.parent / "shared" / "reference"


@dataclass(frozen=True)
class Seed:
    """Input files that evaluate cleanly, and the command that reads them."""

    name: str
    files: tuple[Path, ...]


NATIVE_SEEDS = (
    Seed("matmul-two-level", (EX / "workloads/matmul.yaml", EX / "arch/two_level.yaml",
                              EX / "mappings/matmul_two_level.yaml")),
    Seed("matmul-tpu-like", (EX / "workloads/matmul.yaml", EX / "arch/tpu_like.yaml",
                             EX / "mappings/matmul_tpu_like.yaml")),
    Seed("conv-eyeriss-like", (EX / "workloads/conv.yaml", EX / "arch/eyeriss_like.yaml",
                               EX / "mappings/conv_eyeriss_like.yaml")),
)

TIMELOOP_CASES = ("tl00_conv1d_1level", "tl03_conv1d_oc_3level_bypass", "tl04_conv1d_oc_ic_spatial_kp_multicast")


def timeloop_seeds() -> tuple[Seed, ...]:
    """Reference cases' input of record (processed input, mapping, ERT, ART), where available."""
    from einloop.api import timeloop_files
    out = []
    for case in TIMELOOP_CASES:
        folder = REFERENCE / "timeloop-cases" / case / "ref-output"
        if folder.is_dir():
            out.append(Seed(case, tuple(timeloop_files(folder))))
    return tuple(out)


# ---- values ------------------------------------------------------------------------------------
EXTREME = [True, False, None, 0, -1, -7, 1, 2, 3, 255, 2**31, 2**31 + 1, 2**47 + 1, 2**63, 10**18, 10**30,
           0.5, -0.0, 1e-300, 1e308, math.inf, -math.inf, math.nan, "", "lots", "4", "1e3", "inf", "nan",
           "x" * 300, "-5", "0x10", "1_000", "2**20", "__import__('os')", "{{ 7*7 }}", [], [1, 2], {},
           {"a": 1}, [[[]]], "DRAM", "m", "Z", "n1=4", "m=0", "Z[m] += A[m]"]
KEY_TYPOS = ["depth", "width", "datawidth", "mesh_x", "mesh_X", "meshX", "einsum", "ranks", "bits", "op",
             "target", "temporal", "spatial", "keep", "bypass", "energy", "read", "class", "attributes",
             "factors", "permutation", "instance", "shape", "nodes", "name", "_tag", "storage", "fanout"]
EINSUM_PIECES = ["Z", "A", "B", "[", "]", ",", "+=", "=", "*", "+", "-", "m", "n", "k", "p", "r", "2", "0",
                 "99999999999999999999999", " ", "**", "(", ")", "m*0", "q", "Z[m,n]", "A[m,k]", "é", "\\"]
YAML_PIECES = [":", "- ", "[", "]", "{", "}", "&a ", "*a", "*zz", "!!python/object:os.system", "!Tag ", "\t",
               "'", '"', "#", "|", ">", "? ", "<<: *a", "---\n", "...\n", "%YAML 1.1\n", "\n  ", "\n", "\ufeff",
               "\x07", "1e999", ".nan", "-.inf", "9" * 50, "true", "~", ",", "@", "`"]


def _fresh(value):
    """A copy of a pool value, so mutating the tree never changes the pool (or makes a cycle)."""
    return copy.deepcopy(value)


def _paths(tree, prefix=()) -> list[tuple]:
    """Every (container path) location in a parsed YAML tree: (path, key-or-index) pairs."""
    out = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    for key, value in items:
        out.append(prefix + (key,))
        out += _paths(value, prefix + (key,))
    return out


def _parent(tree, path):
    for key in path[:-1]:
        tree = tree[key]
    return tree


@st.composite
def mutated_tree(draw, tree):
    """A deep copy of ``tree`` with one to three structural mutations."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        if not paths:
            return _fresh(draw(st.sampled_from(EXTREME)))
        path = draw(st.sampled_from(paths))
        parent, key = _parent(tree, path), path[-1]
        action = draw(st.sampled_from(["value", "value", "value", "drop", "rename", "add", "string", "scale"]))
        if action == "value":
            parent[key] = _fresh(draw(st.sampled_from(EXTREME)))
        elif action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEY_TYPOS)) + draw(st.sampled_from(["", "e", "_", "s"]))] = parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEY_TYPOS))] = _fresh(draw(st.sampled_from(EXTREME)))
        elif action == "string" and isinstance(parent[key], str):
            parent[key] = draw(edited_string(parent[key]))
        elif action == "scale" and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from([0, -1, 2, 3, 10**6, 10**18, 0.5, 1e300]))
    return tree


@st.composite
def edited_string(draw, text: str):
    """An Einsum, loop or name string with pieces deleted, inserted or swapped."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(chars)))
        what = draw(st.sampled_from(["insert", "delete", "digit"]))
        if what == "insert":
            chars[at:at] = list(draw(st.sampled_from(EINSUM_PIECES)))
        elif what == "delete" and chars:
            del chars[at:at + draw(st.integers(1, 4))]
        else:
            chars[at:at] = list(str(draw(st.sampled_from([0, 1, 7, 13, 64, 10**12, 2**31]))))
    return "".join(chars)


@st.composite
def edited_text(draw, text: str):
    """YAML text with characters deleted or inserted, lines duplicated or re-indented."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        what = draw(st.sampled_from(["insert", "insert", "delete", "duplicate", "indent", "dedent"]))
        line = lines[i]
        if what == "insert":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(YAML_PIECES)) + line[at:]
        elif what == "delete":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + line[at + draw(st.integers(1, 6)):]
        elif what == "duplicate":
            lines.insert(i, line)
        elif what == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + line
        else:
            lines[i] = line.lstrip()
    return "".join(lines)


@st.composite
def mutated_file(draw, path: Path) -> bytes:
    """The bytes of one mutated version of the YAML file at ``path``."""
    from einloop.spec.yamlio import load_yaml
    text = path.read_text()
    kind = draw(st.sampled_from(["tree", "tree", "tree", "text", "text", "bytes"]))
    if kind == "tree":
        tree = draw(mutated_tree(load_yaml(path)))
        return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True).encode()
    if kind == "text":
        return draw(edited_text(text)).encode("utf-8", "surrogatepass")
    data = bytearray(text.encode())
    at = draw(st.integers(0, len(data)))
    data[at:at] = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xe9t\xe9", b"\xef\xbb\xbf"]))
    return bytes(data)
