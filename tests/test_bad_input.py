"""Every kind of bad input gives one message naming the file and the field, exit code 2, no traceback."""
import textwrap

import pytest

from conftest import ROOT
from einloop.cli import main

EX = ROOT / "examples"
WORKLOAD, ARCH, MAPPING = EX / "workloads/matmul.yaml", EX / "arch/two_level.yaml", EX / "mappings/matmul_two_level.yaml"


def run(capsys, *files):
    code = main(["eval", *map(str, files)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_examples_are_valid(capsys):
    code, err = run(capsys, WORKLOAD, ARCH, MAPPING)
    assert code == 0 and err == ""


@pytest.mark.parametrize("storage,expected", [
    ("class: DRAM\n  sizee: 4", ["architecture.nodes[0].sizee", "'sizee'", "allowed fields", "depth", "datawidth"]),
    ("class: DRAM\n  width: lots", ["width", "integer"]),
    ("class: SRAM\n  depth: -5\n  width: 64", ["depth", "greater than 0"]),
])
def test_bad_storage_attribute(tmp_path, capsys, storage, expected):
    """An unknown field lists the allowed ones; a wrong type or a negative size names the field."""
    node = "\n".join("    " + line for line in f"- storage: Buffer\n  {storage}".splitlines())
    arch = write(tmp_path, "arch.yaml", f"architecture:\n  nodes:\n{node}\n    - compute: MAC\n")
    code, err = run(capsys, WORKLOAD, arch, MAPPING)
    assert code == 2 and str(arch) in err
    for text in expected:
        assert text in err


def test_rank_used_but_never_bounded(tmp_path, capsys):
    wl = write(tmp_path, "wl.yaml", """
        workload:
          einsums:
            - einsum: "Z[m,n] += A[m,k] * B[k,n]"
              ranks: {m: 4, n: 4}
        """)
    code, err = run(capsys, wl, ARCH, MAPPING)
    assert code == 2 and str(wl) in err and "k" in err and "never bounded" in err


def test_factors_do_not_multiply_to_the_bound(tmp_path, capsys):
    mp = write(tmp_path, "map.yaml", """
        mapping:
          - target: DRAM
            temporal: m4 n8
          - target: Buffer
            temporal: m64 n16 k256
        """)
    code, err = run(capsys, WORKLOAD, ARCH, mp)
    assert code == 2 and "rank n" in err and "128" in err and "256" in err


def test_tensor_bypassed_everywhere(tmp_path, capsys):
    mp = write(tmp_path, "map.yaml", """
        mapping:
          - target: DRAM
            temporal: m4 n8
            bypass: [A]
          - target: Buffer
            temporal: m64 n32 k256
            bypass: [A]
        """)
    code, err = run(capsys, WORKLOAD, ARCH, mp)
    assert code == 2 and "tensor A is bypassed at every storage level" in err


def test_unknown_level_in_mapping(tmp_path, capsys):
    mp = write(tmp_path, "map.yaml", """
        mapping:
          - target: GLB
            temporal: m256 n256 k256
        """)
    code, err = run(capsys, WORKLOAD, ARCH, mp)
    assert code == 2 and "'GLB'" in err and "DRAM, Buffer, MAC" in err


def test_broken_yaml(tmp_path, capsys):
    bad = write(tmp_path, "bad.yaml", "workload: [unclosed\n")
    code, err = run(capsys, bad, ARCH, MAPPING)
    assert code == 2 and str(bad) in err and "broken YAML" in err and "line" in err


def test_missing_file(tmp_path, capsys):
    code, err = run(capsys, tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in err and "file not found" in err


def test_bad_einsum_syntax(tmp_path, capsys):
    wl = write(tmp_path, "wl.yaml", """
        workload:
          einsums:
            - einsum: "Z[m,n] += A[m,k] ** B[k,n]"
              ranks: {m: 4, n: 4, k: 4}
        """)
    code, err = run(capsys, wl, ARCH, MAPPING)
    assert code == 2 and str(wl) in err and "workload.einsums[0]" in err


def test_yaml_code_is_never_executed(tmp_path, capsys):
    evil = write(tmp_path, "evil.yaml", "workload: !!python/object/apply:os.system ['echo pwned']\n")
    code, err = run(capsys, evil, ARCH, MAPPING)
    assert code == 2 and "pwned" not in capsys.readouterr().out


def test_overflowing_buffer_is_invalid_not_an_error(tmp_path, capsys):
    mp = write(tmp_path, "map.yaml", """
        mapping:
          - target: DRAM
          - target: Buffer
            temporal: m256 n256 k256
        """)
    code = main(["eval", str(WORKLOAD), str(ARCH), str(mp)])
    out = capsys.readouterr().out
    assert code == 1 and "INVALID" in out and "Buffer" in out and "196608 words but it holds 32768" in out


@pytest.mark.parametrize("spatial,attribute", [("{meshX: x}", ""), ("{meshX: 1}", ", depth: [1]")])
def test_timeloop_bad_attribute(tmp_path, capsys, spatial, attribute):
    arch = write(tmp_path, "arch.yaml", f"""
        architecture:
          version: '0.4'
          nodes:
          - !Container
            name: sys
            spatial: {spatial}
          - !Component
            name: Buffer
            class: SRAM
            attributes: {{depth: 64, width: 8, datawidth: 8{attribute}}}
          - !Component
            name: MAC
            class: intmac
        problem:
          shape: {{name: dot, dimensions: [K], data_spaces: [{{name: A, projection: [[[K]]]}}, {{name: Z, projection: [], read_write: true}}]}}
          instance: {{K: 4}}
        mapping:
          - {{target: Buffer, type: temporal, factors: K=4}}
        """)
    code, err = run(capsys, arch)
    assert code == 2 and str(arch) in err
