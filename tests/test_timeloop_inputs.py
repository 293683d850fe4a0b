"""Timeloop inputs as the public exercises ship them: mapspace constraints with Timeloop's meaning,
the exercises' own input folders, and bad Timeloop input refused with one message naming file and field."""
from __future__ import annotations

import re
import textwrap

import pytest

import einloop
from einloop.errors import SpecError
from tests.conftest import reference_case


def _tl06():
    d = reference_case("tl06_mapper_eyeriss_constrained")
    return einloop.load([d / "parsed-processed-input.yaml", d / "timeloop-mapper.ERT.yaml"], format="timeloop")


def test_eyeriss_exercise_constraints_load_unchanged():
    """tl06's own ``architecture_constraints``: spatial permutation + split, dummy-level targets.

    inter_PE_column_spatial (14x1): ``NCPRSQM`` split 7 sends every rank to X, factors N,C,P,R,S = 1.
    inter_PE_spatial (1x12): ``NPQRSCM`` split 4: N,P,Q,R to X (all fixed 1), S,C,M to Y.
    The dummies' temporal factors are all 1 and they bypass everything: no limit on the merged level.
    weights_spad ``NMPQSCR`` (inner to outer) is einloop's outer-to-inner R,C,S,Q,P,M,N."""
    spec = _tl06()
    lv = spec.constraints.levels
    col, pe = lv["inter_PE_column_spatial"], lv["inter_PE_spatial"]
    assert col.spatial_x == frozenset("NCPRSQM") and col.spatial_y == frozenset()
    assert col.factors == {"N": 1, "C": 1, "P": 1, "R": 1, "S": 1}
    assert pe.spatial_x == frozenset("NPQR") and pe.spatial_y == frozenset("SCM")
    assert pe.factors == {"N": 1, "P": 1, "Q": 1, "R": 1}
    assert lv["shared_glb"].bypass == {"Weights"} and lv["shared_glb"].keep == {"Inputs", "Outputs"}
    assert lv["weights_spad"].permutation == tuple("RCSQPMN")
    assert lv["weights_spad"].factors == {"N": 1, "M": 1, "P": 1, "Q": 1, "S": 1}
    assert lv["DRAM"].permutation == ("N",)
    assert set(lv) == {"DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial", "ifmap_spad",
                       "weights_spad", "psum_spad"}


# ---- constraint forms (item 3) -----------------------------------------------------------------
ARCH = textwrap.dedent("""
    architecture:
      version: 0.4
      nodes:
      - !Container {name: System, attributes: {technology: 40nm}}
      - !Component {name: MainMemory, class: DRAM, attributes: {width: 64, datawidth: 8}}
      - !Component {name: Buffer, class: SRAM, attributes: {depth: 1024, width: 64, datawidth: 8}}
      - !Container {name: PE, spatial: {meshX: 4, meshY: 2}}
      - !Component {name: Reg, class: regfile, attributes: {depth: 16, width: 8, datawidth: 8}}
      - !Component {name: MAC, class: intmac, attributes: {width: 8}}
    problem:
      version: 0.4
      shape:
        name: mm
        dimensions: [M, N, K]
        data_spaces:
        - {name: A, projection: [[[M]], [[K]]]}
        - {name: B, projection: [[[K]], [[N]]]}
        - {name: Z, projection: [[[M]], [[N]]], read_write: true}
      instance: {M: 16, N: 8, K: 32}
    """)


def _load(tmp_path, extra: str):
    f = tmp_path / "in.yaml"
    f.write_text(ARCH + textwrap.dedent(extra))
    return einloop.load([f], format="timeloop")


def test_factor_forms_and_spatial_split(tmp_path):
    """``M<=8`` is a maximum, ``K=0`` the whole bound (32), ``N=1,K=1`` / lists / ``M4`` fixed; a spatial
    permutation ``KMN`` with split 1 gives X = {K} and Y = {M, N}; a container is a spatial target."""
    spec = _load(tmp_path, """
        mapspace_constraints:
          targets:
          - {target: Buffer, type: temporal, factors: "M<=8 N=1,K=0", permutation: KN}
          - {target: Reg, type: temporal, factors: [M4, N=1]}
          - {target: PE, type: spatial, permutation: KMN, split: 1, factors: N=1}
          - {target: Reg, type: bypass, keep: [Z], bypass: [A]}
        """)
    lv = spec.constraints.levels
    assert lv["Buffer"].max_factors == {"M": 8} and lv["Buffer"].factors == {"N": 1, "K": 32}
    assert lv["Buffer"].permutation == ("N", "K")        # Timeloop inner to outer -> einloop outer to inner
    assert lv["Reg"].factors == {"M": 4, "N": 1} and lv["Reg"].keep == {"Z"} and lv["Reg"].bypass == {"A"}
    fan = lv["inter_PE_spatial"]
    assert fan.spatial_x == {"K"} and fan.spatial_y == {"M", "N"} and fan.factors == {"N": 1}


def test_utilization_with_one_fanout_is_its_min_utilization(tmp_path):
    """Timeloop's ``utilization`` min is the fraction of all MACs used; with one fanout that is its own."""
    spec = _load(tmp_path, """
        mapspace_constraints: {targets: [{target: Reg, type: utilization, min: 0.5}]}
        """)
    assert spec.constraints.levels["inter_PE_spatial"].min_utilization == 0.5


@pytest.mark.parametrize("target, match", [
    ("{target: Buffer, type: temporal, factors: M>=2}", r"targets\[0\]\.factors: einloop cannot honour a minimum"),
    ("{target: Buffer, type: no_multicast_no_reduction, datatypes: [Q]}", r"targets\[0\]\.datatypes: unknown data space"),
    ("{target: Buffer, type: no_link_transfer, datatypes: [Q]}", r"targets\[0\]\.datatypes: unknown data space"),
    ("{target: Buffer, type: temporal, factor: M=2}", r"targets\[0\]\.factor: unknown key 'factor' \(did you mean 'factors'\?\)"),
    ("{target: Bufer, type: temporal}", r"unknown target 'Bufer' \(did you mean 'Buffer'\?\)"),
    ("{target: Buffer, type: temporl}", r"unknown constraint type 'temporl'"),
    ("{target: Buffer, type: temporal, factors: Q=2}", r"unknown dimension 'Q' in factors"),
    ("{target: Buffer, type: temporal, factors: M=2 junk}", r"cannot read factor 'junk'"),
    ("{target: Buffer, type: temporal, permutation: MMK}", r"M listed twice"),
    ("{target: PE, type: spatial, permutation: MK, split: -1}", r"split must be a whole number"),
    ("{target: inter_PE_spatial, type: temporal, factors: M=2}", r"dummy level inter_PE_spatial"),
    ("{target: inter_PE_spatial, type: bypass, keep: [A]}", r"dummy level \(it holds no data\)"),
    ("{target: Buffer, type: bypass, keep: [Q]}", r"unknown data space\(s\) Q"),
])
def test_constraint_refusals_name_file_field_and_constraint(tmp_path, target, match):
    """Every constraint einloop cannot honour, or that is malformed, is one SpecError naming it."""
    with pytest.raises(SpecError, match=match) as err:
        _load(tmp_path, f"mapspace_constraints: {{targets: [{target}]}}\n")
    assert "in.yaml" in str(err.value) and "mapspace_constraints.targets[0]" in str(err.value)


def test_dummy_level_left_free_under_a_constrained_parent_is_refused(tmp_path):
    """A dummy's free loops fold into Buffer; Buffer fixes M, so folding would widen it: refused."""
    with pytest.raises(SpecError, match=r"dummy level inter_PE_spatial leaves .*M.* free while Buffer"):
        _load(tmp_path, """
            mapspace_constraints:
              targets:
              - {target: Buffer, type: temporal, factors: M=2}
              - {target: inter_PE_spatial, type: temporal, factors: N=1 K=1}
            """)
    spec = _load(tmp_path, """
        mapspace_constraints:
          targets:
          - {target: Buffer, type: temporal, factors: M=2}
          - {target: inter_PE_spatial, type: temporal, factors: M=1 N=1 K=1}
          - {target: inter_PE_spatial, type: bypass, bypass: [A, B, Z]}
        """)
    assert spec.constraints.levels["Buffer"].factors == {"M": 2}
    assert "inter_PE_spatial" not in spec.constraints.levels or \
        spec.constraints.levels["inter_PE_spatial"].factors == {}


def test_exercise_constraint_files_all_load():
    """tl05's three constraint files (baked, free bypass, none) load unchanged with the exercise inputs."""
    for case in ("baked", "freebypass", "unconstrained"):
        d = reference_case(f"tl05_mapper_3level_{case}")
        spec = einloop.load(sorted((d / "input").glob("*.yaml")), format="timeloop")
        levels = spec.constraints.levels
        if case == "unconstrained":
            assert levels == {}
        else:
            assert levels["GlobalBuffer"].factors == {"R": 1, "P": 16, "K": 16}
            assert levels["RegisterFile"].permutation == ("K", "P", "R")


# ---- the exercises' input folders (item 2) -----------------------------------------------------
@pytest.mark.parametrize("case", ["tl00_conv1d_1level", "tl01_conv1d_2level_os", "tl01_conv1d_2level_ws",
                                  "tl02_conv1d_oc_2level_tiled", "tl02_conv1d_oc_2level_untiled",
                                  "tl03_conv1d_oc_3level_bypass", "tl03_conv1d_oc_3level_nobypass"])
def test_input_folder_gives_the_reference_energy(case):
    """The exercise's own input/ (nested !Container architecture, problem, mapping) with the run's ERT
    gives the reference's cycles and total energy (within 0.01 %), as the processed input does."""
    import json
    d = reference_case(case)
    ref = json.loads((d / "reference_summary.json").read_text())
    spec = einloop.load(sorted((d / "input").glob("*.yaml")) + sorted((d / "ref-output").glob("*.ERT.yaml")),
                        format="timeloop")
    result = einloop.evaluate_spec(spec, reuse_rule="2024")
    assert result.cycles == ref["summary"]["Cycles"]
    total = ref["fJ_per_compute"]["Total"] * ref["summary"]["Computes"] / 1000
    assert result.energy == pytest.approx(total, rel=1e-4)


def test_tl04_input_folder_spatial_target_is_the_container():
    """tl04's input/ maps ``target: PE, type: spatial`` (a container): it is the 16x1 fanout below the
    GlobalBuffer (named inter_PE_spatial as timeloopfe names it). Hand-derived counts (C=16 across PEs,
    GlobalBuffer loops C2 K32 R3 outer to inner, RegisterFile P16): each PE's RegisterFile holds one
    weight, refilled every step: 2*32*3 = 192; its 16-input window is fetched whole at each (C, K) pair
    and slides by one for the next two R steps: 2*32*(16+1+1) = 1152. No multicast (every PE has its own
    C), so GlobalBuffer reads 16x those: 3072 and 18432."""
    d = reference_case("tl04_conv1d_oc_ic_spatial_cp_reduction")
    spec = einloop.load(sorted((d / "input").glob("*.yaml")) + sorted((d / "ref-output").glob("*.ERT.yaml")),
                        format="timeloop")
    fan = spec.arch.node("inter_PE_spatial")
    assert (fan.mesh_x, fan.mesh_y) == (16, 1)
    result = einloop.evaluate_spec(spec)
    assert result.tensor("RegisterFile", "Weights").fills == 192
    assert result.tensor("RegisterFile", "Inputs").fills == 1152
    assert result.tensor("GlobalBuffer", "Weights").reads == 3072
    assert result.tensor("GlobalBuffer", "Inputs").reads == 18432
    assert result.cycles == 3072


def test_design_folder_with_node_constraints_and_parallel_registers():
    """design_simple_output_stationary's input/arch.yaml (constraints inside nodes, a !Parallel group)
    with its problem and the run's mapping and ERT gives the reference energy within 0.01 %; the PE
    container's spatial constraint (permutation [C, M], split 1) is X = {C}, Y = the rest."""
    import json
    d = reference_case("design_simple_output_stationary")
    ref = json.loads((d / "reference_summary.json").read_text())
    out = d / "ref-output"
    spec = einloop.load([d / "input/arch.yaml", d / "input/default_problem.yaml", out / "timeloop-mapper.map.yaml",
                         out / "timeloop-mapper.ERT.yaml", out / "timeloop-mapper.ART.yaml"], format="timeloop")
    fan = spec.constraints.levels["inter_PE_spatial"]
    assert fan.spatial_x == {"C"} and "M" in fan.spatial_y and fan.factors == {"R": 1, "S": 1, "P": 1, "Q": 1}
    assert spec.constraints.levels["pe_spad"].permutation == ("Q", "P", "S", "R")
    result = einloop.evaluate_spec(spec, reuse_rule="2024")
    assert result.cycles == ref["summary"]["Cycles"]
    assert result.energy == pytest.approx(ref["fJ_per_compute"]["Total"] * ref["summary"]["Computes"] / 1000,
                                          rel=1e-4)


# ---- bad Timeloop input (issue 17) ---------------------------------------------------------------
def _bad(tmp_path, old: str, new: str, extra: str = ""):
    text = ARCH.replace(old, new) + textwrap.dedent(extra)
    assert text != ARCH + textwrap.dedent(extra) or not old, "the mutation must change the input"
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(SpecError) as err:
        einloop.load([f], format="timeloop")
    return str(err.value)


@pytest.mark.parametrize("old, new, match", [
    ("depth: 1024", "dept: 1024", r"nodes\[2\]\.attributes\.dept: unknown attribute 'dept' \(did you mean 'depth'\?\)"),
    ("depth: 1024", "depth: true", r"nodes\[2\]\.attributes\.depth: expected a number, got 'True'"),
    ("depth: 1024", "depth: .inf", r"nodes\[2\]\.attributes\.depth: expected a finite number"),
    ("depth: 1024", "depth: .nan", r"nodes\[2\]\.attributes\.depth: expected a finite number"),
    ("depth: 1024", "depth: -4", r"nodes\[2\]\.attributes\.depth: must be >= 0"),
    ("depth: 1024", "depth: 2*512", r"nodes\[2\]\.attributes\.depth: expected a number, got '2\*512'"),
    ("width: 64, datawidth: 8}}\n  - !Component {name: Buffer", "width: 0, datawidth: 8}}\n  - !Component {name: Buffer",
     r"nodes\[1\]\.attributes\.width: must be > 0"),
    ("meshX: 4", "meshX: 0", r"nodes\[3\]\.spatial\.meshX: must be > 0"),
    ("meshX: 4", "meshZ: 4", r"nodes\[3\]\.spatial\.meshZ: unknown key .meshZ. \(did you mean .mesh[XY].\?\)"),
    ("class: regfile", "clas: regfile", r"nodes\[4\]\.clas: unknown key 'clas' \(did you mean 'class'\?\)"),
    ("M: 16, N: 8", "M: true, N: 8", r"problem\.instance\.M: expected a number"),
    ("M: 16, N: 8", "M: 0, N: 8", r"problem\.instance\.M: must be > 0"),
    ("M: 16, N: 8", "M: 1099511627777, N: 8", r"problem\.instance\.M: a rank bound is at most 2\*\*40"),
    ("read_write: true", "read_writ: true", r"data_spaces\[2\]\.read_writ: unknown key .*did you mean 'read_write'"),
    ("instance:", "instanse:", r"problem\.instanse: unknown key 'instanse' \(did you mean 'instance'\?\)"),
])
def test_bad_timeloop_value_is_one_error_naming_file_and_field(tmp_path, old, new, match):
    """Each class of issue 17 on a Timeloop file: misspelled keys (with did-you-mean), booleans and
    expressions as numbers, NaN/inf, zero and negative sizes, huge bounds."""
    msg = _bad(tmp_path, old, new)
    assert "bad.yaml" in msg
    assert re.search(match, msg), msg


@pytest.mark.parametrize("extra, match", [
    ("mapings: []\n", r"bad\.yaml: mapings: unknown key 'mapings' \(did you mean 'mapping'\?\)"),
    ("ERT: {tables: [{name: MAC, actions: [{name: mac_random, energy: .nan}]}]}\n",
     r"ERT\.tables\[0\]\.actions\[0\]\.energy: expected a finite number"),
    ("ERT: {tables: [{name: MAC, actions: [{name: mac_random, energy: -1.5}]}]}\n",
     r"ERT\.tables\[0\]\.actions\[0\]\.energy: must be >= 0"),
    ("ERT: {tables: [{name: MAC, actions: [{name: mac_random, energy: true}]}]}\n",
     r"ERT\.tables\[0\]\.actions\[0\]\.energy: expected a number"),
    ("ART: {tables: [{name: MAC, area: .inf}]}\n", r"ART\.tables\[0\]\.area: expected a finite number"),
    ("mapping: [{target: Buffer, type: temporal, factor: M=2}]\n",
     r"mapping\[0\]\.factor: unknown key 'factor' \(did you mean 'factors'\?\)"),
])
def test_bad_timeloop_section_is_one_error(tmp_path, extra, match):
    """Unknown top-level sections, bad ERT/ART energies and areas, unknown mapping keys."""
    msg = _bad(tmp_path, "", "", extra)
    assert re.search(match, msg), msg


def test_v03_input_is_detected_and_read(tmp_path):
    """A v0.3 input (subtree/local with X[0..N-1] ranges, data-spaces, read-write) is recognised without
    --format and read: before, it gave "an Einsum has exactly one output tensor"."""
    f = tmp_path / "v03.yaml"
    f.write_text(textwrap.dedent("""
        architecture:
          version: 0.3
          subtree:
          - name: system
            local:
            - {name: DRAM, class: DRAM, attributes: {width: 64, word-bits: 8}}
            subtree:
            - name: PE[0..3]
              local:
              - {name: RF, class: regfile, attributes: {depth: 16, width: 8, word-bits: 8}}
              - {name: MAC, class: intmac, attributes: {datawidth: 8}}
        problem:
          shape:
            name: mm
            dimensions: [M, K]
            data-spaces:
            - {name: A, projection: [[[M]], [[K]]]}
            - {name: B, projection: [[[K]]]}
            - {name: Z, projection: [[[M]]], read-write: true}
          instance: {M: 8, K: 4, densities: {A: {density: 0.5}}}
        mapping:
        - {target: DRAM, type: temporal, factors: M=2 K=0}
        - {target: DRAM, type: spatial, factors: M=4 K=1}
        - {target: RF, type: temporal, factors: M=1 K=1}
        """))
    spec = einloop.load([f])
    assert spec.format == "timeloop"
    fan = next(n for n in spec.arch.nodes if n.name == "DRAM_fanout")
    assert fan.mesh_x * fan.mesh_y == 4
    dram = next(n for n in spec.mapping.nodes if n.target == "DRAM")
    assert {(l.rank, l.factor) for l in dram.loops} == {("M", 2), ("K", 4)}   # K=0: the rest of K, 4
    assert any("densities (A below 1)" in s for s in spec.ignored)
    result = einloop.evaluate_spec(spec)
    assert result.computes == 32 and result.valid


# ---- Jinja templates (item 2) --------------------------------------------------------------------
def test_template_is_rendered_in_a_sandbox(tmp_path):
    """A plain template renders (loops, arithmetic on literals); the YAML it makes is read as usual."""
    pytest.importorskip("jinja2")
    f = tmp_path / "prob.yaml.jinja2"
    f.write_text(textwrap.dedent("""
        {% set n = 4 %}
        problem:
          shape:
            name: mm
            dimensions: [{% for d in ['M', 'K'] %}{{ d }}{{ ', ' if not loop.last }}{% endfor %}]
            data_spaces:
            - {name: A, projection: [[[M]], [[K]]]}
            - {name: Z, projection: [[[M]]], read_write: true}
          instance: {M: {{ n * 2 }}, K: {{ n }}}
        """))
    from einloop.spec.yamlio import load_yaml
    doc = load_yaml(f)
    assert doc["problem"]["instance"] == {"M": 8, "K": 4}
    assert doc["problem"]["shape"]["dimensions"] == ["M", "K"]


@pytest.mark.parametrize("text, match", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", r"refused by the sandbox: access to attribute '__class__'"),
    ("{{ include('x.yaml') }}", r"uses 'include', which is not defined"),
    ("{% if %}", r"broken Jinja template at line 1"),
])
def test_unsafe_or_timeloopfe_template_is_refused(tmp_path, text, match):
    """Attribute access outside plain data, timeloopfe's functions and broken syntax: one message."""
    pytest.importorskip("jinja2")
    f = tmp_path / "top.yaml.jinja"
    f.write_text(text)
    with pytest.raises(SpecError, match=match) as err:
        einloop.load([f], format="timeloop")
    assert "top.yaml.jinja" in str(err.value)


def test_exercise_top_template_names_the_missing_function():
    """design_simple_output_stationary's top.yaml.jinja2 calls timeloopfe's cwd(): refused by name."""
    pytest.importorskip("jinja2")
    d = reference_case("design_simple_output_stationary") / "input"
    with pytest.raises(SpecError, match=r"top\.yaml\.jinja2: the template uses 'cwd'"):
        einloop.load([d / "top.yaml.jinja2"], format="timeloop")


def test_eval_reports_ignored_parts_on_stderr_and_in_json(capsys):
    """A Sparseloop v0.3 input with sparse_optimizations: ``einloop eval`` evaluates it sparse (the dense
    result beside it); the dense API says it evaluated it dense."""
    import json
    from einloop.cli import main
    from tests.test_timeloop_v03_cases import SPARSE, V03, input_files
    folder = next((f for f in SPARSE if "table7.sparse" in f), None)
    if folder is None:
        pytest.skip("no sparse v03 case available")
    code = main(["eval", "--json", *map(str, input_files(V03 / folder))])
    out = capsys.readouterr()
    assert code in (0, 1)
    data = json.loads(out.out)
    assert "dense" in data and data["computes"]["algorithmic"] == data["dense"]["computes"]
    assert data["energy_pJ"] < data["dense"]["energy"]
    from einloop import api
    spec = api.load(list(map(str, input_files(V03 / folder))))
    assert any("sparse_optimizations" in s for s in spec.ignored)


def test_factor_above_the_bound_is_clamped_and_said(tmp_path):
    """Timeloop clamps ``M=64`` on a bound of 16 to 16 with a warning (simba_like's C=4 on C=3 relies on
    it); einloop does the same and lists it in Spec.ignored."""
    spec = _load(tmp_path, "mapspace_constraints: {targets: [{target: Buffer, type: temporal, factors: M=64}]}\n")
    assert spec.constraints.levels["Buffer"].factors == {"M": 16}
    assert any("M=64 exceeds the bound 16; read as M=16" in s for s in spec.ignored)


def test_map_txt_reads_back_as_directives():
    """Timeloop's printed nest: kept tensors in brackets, temporal loops (unit ones dropped, inner to
    outer permutation), spatial X then Y loops with split = number of X loops."""
    from einloop.spec.timeloop_maptxt import read_map_txt
    text = textwrap.dedent("""
        DRAM [ A:512 B:256 Z:128 ]
        --------------------------
        | for M in [0:2)
        |   for K in [0:4)

        Buffer [ A:64 ]
        ---------------
        |     for N in [0:1)
        |       for M in [0:4) (Spatial-Y)
        |         for K in [0:8) (Spatial-X)
        """)
    d = read_map_txt(text, ["A", "B", "Z"])
    assert d[0] == {"target": "DRAM", "type": "bypass", "keep": ["A", "B", "Z"], "bypass": []}
    assert d[1] == {"target": "DRAM", "type": "temporal", "factors": "M=2 K=4", "permutation": "K M"}
    assert d[2] == {"target": "Buffer", "type": "bypass", "keep": ["A"], "bypass": ["B", "Z"]}
    assert d[3] == {"target": "Buffer", "type": "temporal", "factors": "", "permutation": ""}
    assert d[4] == {"target": "Buffer", "type": "spatial", "factors": "K=8 M=4", "permutation": "K M", "split": 1}
    with pytest.raises(SpecError, match="cannot read line 2"):
        read_map_txt("DRAM [ A:1 ]\nwhile x\n", ["A"])


def test_arch_root_and_v02_problem_are_read(tmp_path):
    """v0.2 spellings: an ``arch:`` root, bounds beside ``shape`` (no ``instance:``), word-bits/block-size."""
    f = tmp_path / "v02.yaml"
    f.write_text(textwrap.dedent("""
        arch:
          version: 0.2
          subtree:
          - name: System
            local:
            - {name: MainMemory, class: DRAM, attributes: {width: 64, block-size: 8, word-bits: 8}}
            - {name: Buffer, class: SRAM, attributes: {depth: 64, width: 8, block-size: 1, word-bits: 8}}
            - {name: MACC, class: intmac, attributes: {datawidth: 8}}
        problem:
          shape:
            name: dot
            dimensions: [K]
            data-spaces:
            - {name: A, projection: [[[K]]]}
            - {name: Z, projection: [], read-write: True}
          K: 16
        mapping:
        - {target: MainMemory, type: temporal, factors: K=4}
        - {target: Buffer, type: temporal, factors: K=4}
        """))
    spec = einloop.load([f])
    assert spec.format == "timeloop" and spec.workload.einsum().ranks == {"K": 16}
    mem = spec.arch.node("MainMemory")
    assert (mem.datawidth, mem.block_size) == (8, 8)
    assert einloop.evaluate_spec(spec).computes == 16


def test_unenforced_buffer_attributes_are_reported(tmp_path):
    """min_utilization > 0 and allow_overbooking are Timeloop mapping filters einloop does not apply: said."""
    f = tmp_path / "in.yaml"
    f.write_text(ARCH.replace("depth: 1024,", "depth: 1024, min_utilization: 0.5, allow_overbooking: true,"))
    spec = einloop.load([f], format="timeloop")
    assert any("Buffer.min_utilization 0.5, Buffer.allow_overbooking: not enforced" in s for s in spec.ignored)


def test_constraints_under_mapspace_are_read(tmp_path):
    """Older inputs put the target list under ``mapspace:`` (Timeloop reads ``targets``/``constraints``
    there); a plain ``mapspace: {template: uber}`` is settings, not constraints."""
    spec = _load(tmp_path, "mapspace: {template: uber, targets: [{target: Buffer, type: temporal, factors: K=4}]}\n")
    assert spec.constraints.levels["Buffer"].factors == {"K": 4}
    assert _load(tmp_path, "mapspace: {template: uber}\n").constraints.levels == {}


def test_bad_constraint_section_names_its_file(tmp_path):
    """A misspelled key of the constraints section, or targets that are not a list: file and field named."""
    with pytest.raises(SpecError, match=r"in\.yaml: mapspace_constraints\.target: unknown key 'target' "
                                        r"\(did you mean 'targets'\?\)"):
        _load(tmp_path, "mapspace_constraints: {target: []}\n")
    with pytest.raises(SpecError, match=r"in\.yaml: mapspace_constraints\.targets: expected a list"):
        _load(tmp_path, "mapspace_constraints: {targets: 3}\n")
