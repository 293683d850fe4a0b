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


# ---- the classes of issue 17's "Why", one regression test each ----------------------------------
STORAGE = "architecture:\n  nodes:\n    - storage: DRAM\n      class: DRAM\n    - storage: Buffer\n{}    - compute: MAC\n"
WL = "workload:\n  einsums:\n{}"
MATMUL = "    - einsum: 'Z[m,n] += A[m,k] * B[k,n]'\n      ranks: {{m: {m}, n: 256, k: 256}}\n"


def _arch(attrs: str) -> str:
    return STORAGE.format("".join(f"      {line}\n" for line in attrs.splitlines()) or "      depth: 32768\n")


CORPUS = {  # name: (which file is replaced, its text, what the one-line message must say)
    "depth true": ("arch", _arch("depth: true"), ["architecture.nodes[1].depth", "boolean"]),
    "depth inf": ("arch", _arch("depth: .inf"), ["architecture.nodes[1].depth"]),
    "depth huge float": ("arch", _arch("depth: 1.0e+300"), ["architecture.nodes[1].depth", "too large"]),
    "depth above ceiling": ("arch", _arch("depth: 1000000000000000"), ["depth", "2**47", "64-bit"]),
    "energy inf": ("arch", _arch("depth: 64\nenergy: {read: .inf}"), ["energy.read", "finite"]),
    "energy nan": ("arch", _arch("depth: 64\nenergy: {fill: .nan}"), ["energy.fill", "finite"]),
    "energy negative": ("arch", _arch("depth: 64\nenergy: {read: -0.5}"), ["energy.read", "greater than or equal to 0"]),
    "energy huge": ("arch", _arch("depth: 64\nenergy: {read: 1.0e+30}"), ["energy.read", "at most"]),
    "mesh bool": ("arch", STORAGE.format("      depth: 64\n    - fanout: F\n      mesh_x: false\n"), ["mesh_x", "boolean"]),
    "bound true": ("wl", WL.format(MATMUL.format(m="true")), ["workload.einsums[0].ranks.m", "boolean"]),
    "bound 10**18": ("wl", WL.format(MATMUL.format(m=10**18)), ["ranks.m", "2**31", "64-bit integers"]),
    "bound 10**400": ("wl", WL.format(MATMUL.format(m=10**400)), ["digits"]),
    "iteration space": ("wl", WL.format(MATMUL.format(m=2**31).replace("k: 256", "k: 512")),
                        ["ranks", "2**47", "64-bit integers"]),
    "duplicate key": ("wl", WL.format(MATMUL.format(m=256) + "      ranks: {m: 4, n: 4, k: 4}\n"),
                      ["duplicate key 'ranks'", "line"]),
    "unknown op": ("wl", WL.format(MATMUL.format(m=256) + "      op: frobnicate\n"), ["op", "unknown op", "relu"]),
    "two writers": ("wl", WL.format("    - {name: a, einsum: 'Z[m] += A[m] * B[m]', ranks: {m: 4}}\n"
                                    "    - {name: b, einsum: 'Z[m] += C[m] * D[m]', ranks: {m: 4}}\n"),
                    ["tensor Z is written by two Einsums (a and b)"]),
    "einsum cycle": ("wl", WL.format("    - {name: a, einsum: 'Z[m] += A[m] * B[m]', ranks: {m: 4}}\n"
                                     "    - {name: b, einsum: 'A[m] += Z[m] * C[m]', ranks: {m: 4}}\n"),
                     ["cycle", "a -> b -> a"]),
    "unknown section": ("wl", "workload_typo: {}\n", ["unknown top-level section", "workload_typo"]),
    "long einsum shortened": ("wl", WL.format(f"    - einsum: 'Z[m] += A[m] ** {'x' * 5000}'\n      ranks: {{m: 4}}\n"),
                              ["characters)"]),
    "level twice": ("map", "mapping:\n  - target: DRAM\n  - target: DRAM\n    temporal: m4 n8\n"
                           "  - target: Buffer\n    temporal: m64 n32 k256\n", ["mapping[DRAM]", "listed twice"]),
    "factors name the levels": ("map", "mapping:\n  - target: DRAM\n    temporal: m4 n8\n  - target: Buffer\n"
                                       "    temporal: m64 n16 k256\n", ["rank n", "DRAM 8 x Buffer 16", "256"]),
    "loop typo": ("map", "mapping:\n  - target: Buffer\n    temporal: m64 n?32\n", ["mapping[Buffer].temporal", "RANK=FACTOR"]),
    "deep nesting": ("wl", "workload: " + "[" * 3000 + "]" * 3000 + "\n", ["nested deeper than 64"]),
    "alias bomb": ("wl", "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"a{i}: &a{i} [{','.join([f'*a{i - 1}' if i > 1 else '*a'] * 9)}]\n" for i in range(1, 10)),
        ["alias", "200,000 nodes"]),
    "recursive alias": ("wl", "workload: &w {einsums: [*w]}\n", ["recursive"]),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus(tmp_path, capsys, name):
    """Each class of issue 17: one line naming the file and the field, exit 2, fast and without a traceback."""
    import time
    which, text, expected = CORPUS[name]
    bad = write(tmp_path, f"{which}.yaml", text)
    files = {"wl": WORKLOAD, "arch": ARCH, "map": MAPPING} | {which: bad}
    start = time.perf_counter()
    code, err = run(capsys, files["wl"], files["arch"], files["map"])
    seconds = time.perf_counter() - start
    assert code == 2 and len(err.splitlines()) == 1 and str(bad) in err, err
    for text in expected:
        assert text in err, (text, err)
    assert len(err) < 600 and seconds < 5, (len(err), seconds)


def test_alias_bomb_is_refused_without_memory(tmp_path):
    """A 9**9 alias expansion is refused before anything is built: under 16 MiB traced."""
    import tracemalloc
    from einloop.errors import SpecError
    from einloop.spec.yamlio import load_yaml
    bomb = write(tmp_path, "wl.yaml", CORPUS["alias bomb"][1])
    tracemalloc.start()
    with pytest.raises(SpecError, match="200,000 nodes"):
        load_yaml(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2**20, peak


@pytest.mark.parametrize("data,expected", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
    ("workload: caf\xe9\n".encode("latin-1"), "not UTF-8 text: byte 0xe9 at offset 13"),
])
def test_bad_bytes(tmp_path, capsys, data, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(data)
    code, err = run(capsys, bad, ARCH, MAPPING)
    assert code == 2 and str(bad) in err and expected in err


@pytest.mark.parametrize("make,expected", [
    (lambda d: d / ("x" * 300 + ".yaml"), "file name too long"),
    (lambda d: d, "is a folder"),
    (lambda d: "/dev/null", "not a regular file"),
])
def test_bad_paths(tmp_path, capsys, make, expected):
    path = str(make(tmp_path))
    code, err = run(capsys, path, ARCH, MAPPING)
    assert code == 2 and expected in err and path[:40] in err


def test_timeloop_nan_depth(tmp_path, capsys):
    """Timeloop numbers go through yamlio.number(): NaN is refused there too."""
    arch = write(tmp_path, "arch.yaml", """
        architecture:
          version: '0.4'
          nodes:
          - !Component
            name: Buffer
            class: SRAM
            attributes: {depth: .nan, width: 8, datawidth: 8}
          - !Component
            name: MAC
            class: intmac
        problem:
          shape: {name: dot, dimensions: [K], data_spaces: [{name: A, projection: [[[K]]]}, {name: Z, projection: [], read_write: true}]}
          instance: {K: 4}
        mapping:
          - {target: Buffer, type: temporal, factors: K=4}
        """)
    code, err = run(capsys, arch)
    assert code == 2 and str(arch) in err and "finite" in err


@pytest.mark.parametrize("argv,expected", [
    (["eval", str(WORKLOAD), "--bogus"], "unrecognized arguments: --bogus"),
    (["eval", str(WORKLOAD), "--reuse-rule", "1999"], "invalid choice: '1999'"),
    (["analyze", "resnet50", "--batch", "0"], "--batch"),
    (["analyze", "resnet50", "--arch", str(ARCH), "--plot", "/no/such/folder/r.png"], "does not exist"),
    (["analyze", "x" * 5000 + ".yaml"], "file name too long"),
    (["analyze", "resnet50", "--arch", "y" * 5000 + ".yaml"], "file name too long"),
    (["analyze", "resnet50", "--arch", "/tmp"], "is a folder"),
    (["eval", str(WORKLOAD), str(ARCH), str(MAPPING), "--einsum", "z" * 5000], "characters)"),
])
def test_bad_flags_are_one_line(capsys, argv, expected):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and len(captured.err.strip().splitlines()) == 1 and expected in captured.err
    assert "usage:" not in captured.err and "Traceback" not in captured.err


def test_internal_error_is_one_line_exit_3(capsys, monkeypatch):
    """The net under the fixes: an unexpected exception is one line with its class, exit 3."""
    from einloop import api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(api, "evaluate_spec", broken)
    code = main(["eval", str(WORKLOAD), str(ARCH), str(MAPPING)])
    err = capsys.readouterr().err.strip()
    assert code == 3 and err.startswith("einloop: internal error (ZeroDivisionError)") and len(err.splitlines()) == 1


def test_closed_pipe_is_quiet():
    """`einloop analyze ... --json | head -c 1`: no BrokenPipeError traceback, exit 0."""
    import os
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "einloop.cli", "analyze", "resnet50", "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == "", err


def test_counts_are_exact_at_the_ceiling(tmp_path, capsys):
    """At the ceiling (an iteration space of 2**47, m = 2**31, n = 2**16) the model still counts exactly:
    every MAC reads one A and one B word at the Buffer (2**47 each), A is fetched from DRAM once (2**31),
    B once per m (2**47), and the integers are exact in JSON."""
    wl = write(tmp_path, "wl.yaml", f"""
        workload:
          einsums:
            - einsum: "Z[m,n] += A[m,k] * B[k,n]"
              ranks: {{m: {2**31}, n: {2**16}, k: 1}}
        """)
    mp = write(tmp_path, "map.yaml", f"mapping:\n  - target: DRAM\n    temporal: m={2**31} n={2**16}\n")
    assert main(["eval", str(wl), str(ARCH), str(mp), "--json"]) == 0
    import json
    r = json.loads(capsys.readouterr().out)
    t = r["tensors"]
    assert r["computes"] == r["cycles"] == 2**47
    assert t["Buffer.A"]["reads"] == t["Buffer.B"]["reads"] == t["DRAM.B"]["reads"] == 2**47
    assert t["DRAM.A"]["reads"] == t["Buffer.A"]["fills"] == 2**31
    assert t["Buffer.Z"]["updates"] == 2**47


TL_REF = ROOT.parent / "shared" / "reference" / "timeloop-cases" / "tl00_conv1d_1level" / "ref-output"


def _timeloop_case(tmp_path, edit) -> list[str]:
    """The tl00 reference input with ``edit(doc, ert)`` applied, written to tmp_path."""
    import yaml
    from einloop.spec.yamlio import load_yaml
    if not TL_REF.is_dir():
        pytest.skip("Timeloop reference case tl00 not available")
    doc, ert = load_yaml(TL_REF / "parsed-processed-input.yaml"), load_yaml(TL_REF / "timeloop-model.ERT.yaml")
    edit(doc, ert)
    (tmp_path / "in.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "ert.yaml").write_text(yaml.safe_dump(ert))
    return [str(tmp_path / "in.yaml"), str(tmp_path / "ert.yaml"), str(TL_REF / "timeloop-model.ART.yaml")]


def test_timeloop_without_mapping_names_the_files(tmp_path, capsys):
    files = _timeloop_case(tmp_path, lambda doc, ert: doc.pop("mapping"))
    code, err = run(capsys, *files)
    assert code == 2 and files[0] in err and "the factors of rank" in err


def test_timeloop_constraint_targets_must_be_a_list(tmp_path, capsys):
    files = _timeloop_case(tmp_path, lambda doc, ert: doc.update(architecture_constraints={"targets": 1.5}))
    code, err = run(capsys, *files)
    assert code == 2 and files[0] in err and "architecture_constraints.targets" in err


@pytest.mark.parametrize("energy", [float("inf"), float("nan"), -5.0])
def test_timeloop_ert_energy_must_be_finite(tmp_path, capsys, energy):
    def edit(doc, ert):
        ert["ERT"]["tables"][0]["actions"][0]["energy"] = energy
    files = _timeloop_case(tmp_path, edit)
    code, err = run(capsys, *files)
    assert code == 2 and files[1] in err
