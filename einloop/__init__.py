"""einloop: model, map and explore tensor-algebra accelerators described as Einsums."""
from einloop.api import Spec, evaluate, evaluate_spec, load, load_timeloop, timeloop_files
from einloop.errors import SpecError
from einloop.model.result import Result
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Fanout, Storage
from einloop.spec.mapping import Loop, Mapping, NodeMapping
from einloop.spec.workload import Einsum, Tensor, Workload

__version__ = "0.1.0"
__all__ = ["Spec", "evaluate", "evaluate_spec", "load", "load_timeloop", "timeloop_files", "SpecError", "Result",
           "ActionEnergy", "Architecture", "Compute", "Fanout", "Storage", "Loop", "Mapping", "NodeMapping",
           "Einsum", "Tensor", "Workload"]
