"""The CiM macro model: hand-derived counts, the ideal-converter property, value statistics, bad input."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from einloop.errors import SpecError
from einloop.model.cim import evaluate_cim, price
from einloop.model.cim_values import FULL_SCALE, from_arrays, from_distributions, histogram
from einloop.model.evaluate import evaluate
from einloop.spec import native
from einloop.spec.cim import CimSpec, read_cim
from einloop.spec.workload import Workload


def arch_dict(mx, my, mac_energy=0.7):
    return {"name": "cim-test", "technology": "22nm", "nodes": [
        {"storage": "Buffer", "class": "SRAM", "depth": 4096, "width": 8, "datawidth": 8},
        {"fanout": "Macro", "mesh_x": mx, "mesh_y": my},
        {"storage": "Cells", "class": "register", "depth": 1, "width": 8, "datawidth": 8},
        {"compute": "MAC", "class": "intmac", "datawidth": 8, "energy": mac_energy}]}


def spec_for(m, k, n, mx, my, cim, outer="", macros=1):
    """m x k x n matmul on an mx x my array (k on rows, n on columns); `macros` side by side split m."""
    wl = native.read_workload({"name": "mm", "bits": 8, "einsums": [
        {"name": "mm", "einsum": "Z[m,n] += A[m,k] * B[k,n]", "ranks": {"m": m * macros, "k": k, "n": n}}]})
    d = arch_dict(mx, my)
    nodes = [{"target": "Buffer", "temporal": f"{outer} m{m}".strip(), "keep": ["A", "B", "Z"]},
             {"target": "Macro", "spatial": {"X": f"k{mx}", "Y": f"n{my}"}},
             {"target": "Cells", "keep": ["B"]}]
    if macros > 1:
        d["nodes"].insert(1, {"fanout": "Macros", "mesh_x": macros})
        nodes.insert(1, {"target": "Macros", "spatial": {"X": f"m{macros}"}})
    arch = native.read_architecture(d)
    mapping = native.read_mapping(nodes)
    return CimSpec(wl, arch, mapping, read_cim({"array": "Macro", "cells": "Cells", **cim}, arch, 22.0), {})


ZERO = {"dac": {"energy": 0}, "adc": {"energy": 0}, "shift_add": {"energy": 0}}


def test_counts_bit_serial_digital_combine():
    """m=4, k=8, n=4 on an 8 x 4 array; 8-bit inputs bit-serial (8 slices), 8-bit weights over 2-bit cells
    (4 slices, digital combine), 2 columns per ADC:
    activations 4 x 8 = 32; cell ops 128 MACs x 8 x 4 = 4096; DAC 32 input reads x 8 = 256;
    ADC 16 outputs x 8 x 4 = 512 = shift-adds; cycles 32 x 2 = 64."""
    s = spec_for(4, 8, 4, 8, 4, {"input_bits": 8, "dac_resolution": 1, "weight_bits": 8, "bits_per_cell": 2,
                                 "weight_combine": "digital", "adc_resolution": 6, "columns_per_adc": 2})
    c = evaluate_cim(s).counts
    assert (c.activations, c.cell_ops, c.dac_conversions, c.adc_conversions, c.shift_adds, c.cycles) == \
        (32, 4096, 256, 512, 512, 64)


def test_tiled_reduction_converts_each_partial_sum():
    """k=16 on 8 rows: the Buffer's k2 loop makes every output leave the array twice (two partial sums):
    ADC 2 x 16 = 32 conversions for 16 outputs, DAC 64 input reads."""
    s = spec_for(4, 16, 4, 8, 4, {"input_bits": 8, "dac_resolution": 8, "weight_bits": 8, "bits_per_cell": 8,
                                  "adc_resolution": 8}, outer="k2")
    c = evaluate_cim(s).counts
    assert (c.activations, c.adc_conversions, c.dac_conversions, c.shift_adds) == (8, 32, 64, 0)


@given(m=st.integers(1, 6), k=st.sampled_from([2, 4, 8]), n=st.sampled_from([1, 2, 4]),
       in_bits=st.integers(1, 8), dac=st.integers(1, 8), w_bits=st.integers(1, 8), cell=st.integers(1, 4),
       combine=st.sampled_from(["analog", "digital"]), macros=st.integers(1, 3))
def test_ideal_converters_equal_the_digital_array(m, k, n, in_bits, dac, w_bits, cell, combine, macros):
    """Zero-energy DACs, ADCs and shift-adds and cells costing a MAC / (input x weight slices) give exactly
    the digital MAC array's energy (same buffers, same counts)."""
    dac = min(dac, in_bits)
    s_in, s_w = -(-in_bits // dac), -(-w_bits // cell)
    cim = {"input_bits": in_bits, "dac_resolution": dac, "weight_bits": w_bits, "bits_per_cell": cell,
           "weight_combine": combine, "adc_resolution": 8,
           "components": {**ZERO, "cell": {"energy": 0.7 / (s_in * s_w)}}}
    s = spec_for(m, k, n, k, n, cim, macros=macros)
    digital = evaluate(s.workload.einsum(), s.arch, s.mapping)
    got = evaluate_cim(s)
    assert got.energy == pytest.approx(digital.energy, rel=1e-12)
    assert got.energy_by_part["array"] == pytest.approx(digital.level("MAC").dynamic_energy, rel=1e-12)
    assert got.counts.activations == digital.compute_cycles * s_in * macros


def test_value_stats_by_hand():
    """2-bit inputs {0, 3}, 1-bit DAC: slices (0,0) and (1,1) -> input level 0.5; 2-bit weights {1, 2} in
    1-bit cells: (1,0), (0,1) -> 0.5; output level E[x]/3 * E[w]/3 = 0.5 * 0.5 = 0.25."""
    v = from_arrays(np.array([0, 3]), np.array([1, 2]), input_bits=2, weight_bits=2, dac_resolution=1,
                    bits_per_cell=1)
    assert (v.input_level, v.weight_level, v.output_level) == pytest.approx((0.5, 0.5, 0.25))
    # a 2-bit DAC sees whole values: 0 and 3 of 3 -> 0.5; the output level does not depend on slicing
    v2 = from_distributions([1, 0, 0, 1], [0, 1, 1, 0], input_bits=2, weight_bits=2, dac_resolution=2,
                            bits_per_cell=2)
    assert (v2.input_level, v2.weight_level, v2.output_level) == pytest.approx((0.5, 0.5, 0.25))


def test_measured_values_scale_dac_and_array_energy():
    """Half-scale values halve the DAC energy and quarter the cell energy; ADC energy is value-independent."""
    s = spec_for(4, 8, 4, 8, 4, {"input_bits": 2, "dac_resolution": 2, "weight_bits": 2, "bits_per_cell": 2,
                                 "adc_resolution": 4, "components": {"dac": {"energy": 1.0},
                                                                      "adc": {"energy": 2.0},
                                                                      "cell": {"energy": 0.5}}})
    full = evaluate_cim(s, FULL_SCALE)
    half = evaluate_cim(s, from_arrays(np.array([0, 3]), np.array([1, 2]), input_bits=2, weight_bits=2,
                                       dac_resolution=2, bits_per_cell=2))
    assert full.energy_by_part["dac"] == pytest.approx(32 * 1.0)
    assert half.energy_by_part["dac"] == pytest.approx(0.5 * full.energy_by_part["dac"])
    assert half.energy_by_part["array"] == pytest.approx(0.25 * full.energy_by_part["array"])
    assert half.energy_by_part["adc"] == full.energy_by_part["adc"] == pytest.approx(16 * 2.0)


def test_given_energy_moves_with_voltage():
    s = spec_for(1, 8, 4, 8, 4, {"voltage": 0.9, "components": {"adc": {"energy": 1.0, "at_voltage": 0.6}}})
    assert s.macro.adc.energy == pytest.approx((0.9 / 0.6) ** 2)


@pytest.mark.parametrize("cim,field", [
    ({"rows": 3}, "cim"),
    ({"array": "Buffer"}, "cim.array"),
    ({"array": "Nope"}, "cim.array"),
    ({"cells": "Buffer"}, "cim.cells"),
    ({"weight_combine": "optical"}, "cim.weight_combine"),
    ({"input_bits": 4, "dac_resolution": 5}, "cim.dac_resolution"),
    ({"voltage": -1}, "cim.voltage"),
    ({"components": {"laser": {}}}, "cim.components"),
    ({"components": {"adc": {"energy": "x"}}}, "cim.components.adc.energy"),
    ({"components": {"adc": {"resolution": 0}}}, "cim.components.adc.resolution"),
])
def test_bad_cim_section(cim, field):
    arch = native.read_architecture(arch_dict(8, 4))
    with pytest.raises(SpecError) as e:
        read_cim({"array": "Macro", "cells": "Cells", **cim}, arch, 22.0, "f.yaml")
    assert e.value.field == field and e.value.file == "f.yaml"


def test_cells_must_keep_only_the_weights():
    s = spec_for(4, 8, 4, 8, 4, {})
    mapping = native.read_mapping([{"target": "Buffer", "temporal": "m4"},
                                   {"target": "Macro", "spatial": {"X": "k8", "Y": "n4"}},
                                   {"target": "Cells", "keep": ["A", "B"]}])
    with pytest.raises(SpecError, match="exactly one input tensor"):
        evaluate_cim(s, mapping=mapping)


def test_bad_distributions():
    with pytest.raises(SpecError, match="2\\^2 = 4"):
        from_distributions([1, 1], [1, 1, 1, 1], input_bits=2, weight_bits=2, dac_resolution=1, bits_per_cell=1)
    with pytest.raises(SpecError, match="0..3"):
        histogram(np.array([4]), 2, "input")
    with pytest.raises(SpecError):
        histogram(np.array([0.5]), 2, "input")


def test_ignored_attributes_are_reported():
    s = spec_for(4, 8, 4, 8, 4, {"components": {"adc": {"energy": 1.0, "resolution": 6},
                                                 "dac": {"resolution": 2, "colour": "red"}},
                                 "periphery": {"energy": 0.1, "speed": 3}})
    assert s.macro.notes == ("cim.components.dac: attribute(s) colour ignored",
                             "cim.components.adc: attribute(s) resolution ignored",
                             "cim.periphery: attribute(s) speed ignored")
    assert evaluate_cim(s).notes[-3:] == list(s.macro.notes)


@pytest.mark.parametrize("cim,field", [
    ({"components": {"adc": {"energy": 1, "area": "big"}}}, "cim.components.adc.area"),
    ({"columns_per_adc": 64}, "cim.columns_per_adc"),
])
def test_more_bad_fields(cim, field):
    arch = native.read_architecture(arch_dict(8, 4))
    with pytest.raises(SpecError) as e:
        read_cim({"array": "Macro", "cells": "Cells", "bits_per_cell": 8, **cim}, arch, 22.0)
    assert e.value.field == field


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8), st.integers(1, 8), st.integers(0, 2 ** 16))
def test_value_stats_match_direct_bit_slicing(in_bits, w_bits, dac, cell, seed):
    """from_arrays against slicing every value of random arrays directly."""
    dac, cell = min(dac, in_bits), min(cell, w_bits)
    rng = np.random.default_rng(seed)
    x, w = rng.integers(0, 2 ** in_bits, 50), rng.integers(0, 2 ** w_bits, 40)

    def direct(values, bits, width):
        n = -(-bits // width)
        return np.mean([((values >> (j * width)) & (2 ** width - 1)) / (2 ** width - 1) for j in range(n)])

    v = from_arrays(x, w, input_bits=in_bits, weight_bits=w_bits, dac_resolution=dac, bits_per_cell=cell)
    assert v.input_level == pytest.approx(direct(x, in_bits, dac))
    assert v.weight_level == pytest.approx(direct(w, w_bits, cell))
    assert v.output_level == pytest.approx(x.mean() / (2 ** in_bits - 1) * w.mean() / (2 ** w_bits - 1))


def test_rram_cells_storing_zero_still_conduct():
    """RRAM: a cell at G_off draws G_off / G_on = 1% of an on cell; SRAM cells storing 0 draw nothing.
    Weights all 0, inputs full scale: array energy = cell ops x E_cell x 0.01 (RRAM), 0 (SRAM)."""
    zero_w = from_distributions([0, 1], [1, 0], input_bits=1, weight_bits=1, dac_resolution=1, bits_per_cell=1)
    base = {"input_bits": 1, "dac_resolution": 1, "weight_bits": 1, "bits_per_cell": 1}
    rram = spec_for(4, 8, 4, 8, 4, {**base, "components": {"cell": {"cell": "RRAM"}}})
    sram = spec_for(4, 8, 4, 8, 4, {**base, "components": {"cell": {"cell": "SRAM"}}})
    r = evaluate_cim(rram, zero_w)
    assert r.energy_by_part["array"] == pytest.approx(r.counts.cell_ops * rram.macro.cell.energy * 0.01)
    assert evaluate_cim(sram, zero_w).energy_by_part["array"] == 0


def test_activations_count_every_macro():
    """Two macros side by side (Macros X: n2), each 8 x 4: m=4, k=8, n=8 -> 4 temporal iterations per macro;
    8-bit inputs bit-serial (the default): 4 x 8 = 32 activations and cycles per macro, 64 activations in all."""
    wl = native.read_workload({"name": "mm", "einsums": [
        {"name": "mm", "einsum": "Z[m,n] += A[m,k] * B[k,n]", "ranks": {"m": 4, "k": 8, "n": 8}}]})
    d = arch_dict(8, 4)
    d["nodes"].insert(1, {"fanout": "Macros", "mesh_x": 2})
    arch = native.read_architecture(d)
    mapping = native.read_mapping([{"target": "Buffer", "temporal": "m4", "keep": ["A", "B", "Z"]},
                                   {"target": "Macros", "spatial": {"X": "n2"}},
                                   {"target": "Macro", "spatial": {"X": "k8", "Y": "n4"}},
                                   {"target": "Cells", "keep": ["B"]}])
    macro = read_cim({"array": "Macro", "cells": "Cells", "periphery": {"energy": 1.0}}, arch, 22.0)
    r = evaluate_cim(CimSpec(wl, arch, mapping, macro, {}))
    assert (r.counts.activations, r.cycles) == (64, 32)
    assert r.energy_by_part["periphery"] == pytest.approx(64 * 1.0)
