"""Data-value statistics for compute-in-memory energy: what fraction of full scale the input slices, the
weight cells and the outputs carry on average.

A CiM part's energy depends on the values it handles: a DAC (or row driver) charges in proportion to the
input slice it converts, a cell conducts / discharges its line in proportion to input slice x cell value.
einloop takes the expectation: energy = full-scale energy x the mean normalized level. Values are unsigned
integers (offset-binary for signed data); input and weight values are assumed independent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from einloop.errors import SpecError


@dataclass(frozen=True)
class ValueStats:
    """Mean normalized levels in [0, 1]: input slices (per DAC conversion), weight cells (per cell) and the
    product of input and weight values (the output as a fraction of the largest product)."""

    input_level: float = 1.0
    weight_level: float = 1.0
    output_level: float = 1.0

    def average_output(self, adc_resolution: int) -> float:
        """The average ADC code when the ADC's full scale is the largest possible dot product."""
        return self.output_level * (2 ** adc_resolution - 1)


FULL_SCALE = ValueStats()


def _probabilities(probs, bits: int, what: str) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or p.size != 2 ** bits or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise SpecError(f"{what} distribution must list 2^{bits} = {2 ** bits} non-negative probabilities "
                        f"(values 0..{2 ** bits - 1}), got {p.size} entries", field=what)
    return p / p.sum()


def slice_level(probs: np.ndarray, bits: int, slice_bits: int) -> float:
    """Mean of (slice value / slice maximum) over the value distribution and the ceil(bits / slice_bits)
    slices of each value."""
    values = np.arange(2 ** bits)
    n = -(-bits // slice_bits)
    top = 2 ** slice_bits - 1
    levels = [((values >> (j * slice_bits)) & top) / top for j in range(n)]
    return float(np.mean([np.dot(probs, lv) for lv in levels]))


def from_distributions(input_probs, weight_probs, *, input_bits: int, weight_bits: int, dac_resolution: int,
                       bits_per_cell: int) -> ValueStats:
    """Statistics from the probability of each input value and each weight value (index = value)."""
    pi = _probabilities(input_probs, input_bits, "input")
    pw = _probabilities(weight_probs, weight_bits, "weight")
    mean_in = float(np.dot(pi, np.arange(pi.size))) / (2 ** input_bits - 1)
    mean_w = float(np.dot(pw, np.arange(pw.size))) / (2 ** weight_bits - 1)
    return ValueStats(slice_level(pi, input_bits, dac_resolution), slice_level(pw, weight_bits, bits_per_cell),
                      mean_in * mean_w)


def histogram(values: np.ndarray, bits: int, what: str) -> np.ndarray:
    """The value distribution of a numpy array of unsigned `bits`-bit integers."""
    v = np.asarray(values)
    if v.size == 0 or not np.issubdtype(v.dtype, np.integer) or v.min() < 0 or v.max() >= 2 ** bits:
        raise SpecError(f"{what} values must be a non-empty integer array in 0..{2 ** bits - 1}", field=what)
    return np.bincount(v.ravel(), minlength=2 ** bits).astype(float)


def from_arrays(inputs: np.ndarray, weights: np.ndarray, *, input_bits: int, weight_bits: int,
                dac_resolution: int, bits_per_cell: int) -> ValueStats:
    """Statistics measured from an input tensor and a weight tensor (unsigned integer arrays)."""
    return from_distributions(histogram(inputs, input_bits, "input"), histogram(weights, weight_bits, "weight"),
                              input_bits=input_bits, weight_bits=weight_bits, dac_resolution=dac_resolution,
                              bits_per_cell=bits_per_cell)


def bernoulli_bits(p: float, bits: int) -> np.ndarray:
    """Distribution of a `bits`-bit value whose bits are independently 1 with probability p."""
    values = np.arange(2 ** bits)
    ones = np.array([bin(v).count("1") for v in values])
    return p ** ones * (1 - p) ** (bits - ones)
