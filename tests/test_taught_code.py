"""The code a notebook writes out and the helper later notebooks call from ``helpers`` are one code.

Each definition a notebook teaches is compared with its helper by syntax tree. The comparison
ignores docstrings, type annotations, the helper module a name is reached through
(``pipelines.decode`` and ``decode`` are alike) and named constants (``SHUFFLE_BUFFER`` and
``256`` are alike while the constant holds 256); comments and layout never reach a syntax tree.
Everything else must match: names, arguments and their defaults, every statement and call.

Where a helper extends the taught code on purpose, its entry in ``TAUGHT`` names the parts that
may differ, each with its reason; every other part must match. A part is a function's signature
or body, or a class's bases or one of its methods. A declared difference that no longer differs
fails too, so the declarations stay true.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from helpers import decoding, measure, models, pipelines, profiling, strategy

ROOT = Path(__file__).resolve().parents[1]
# the prefixes a notebook may write
HELPERS = {path.stem for path in (ROOT / "helpers").glob("*.py")}
TAUGHT_IN = re.compile(r"(?:Taught|Written out) in notebook (\d\d)")


@dataclass(frozen=True)
class Taught:
    """A definition a notebook writes out, and the helper that keeps it."""

    notebook: str  # its number: "03"
    name: str  # as the notebook names it
    module: ModuleType
    helper: str = ""  # as the helper module names it, when that differs
    changed: dict[str, str] = field(default_factory=dict)  # part -> why the helper's differs
    added: dict[str, str] = field(default_factory=dict)  # part only the helper has -> why

    def __str__(self) -> str:
        return f"{self.notebook}:{self.name}"


TAUGHT = [
    *(
        Taught("03", name, pipelines)
        for name in ("split", "decode", "load", "augment", "load_and_augment", "from_files")
    ),
    *(Taught("06", name, pipelines) for name in ("load_uint8", "to_float", "uint8_cached")),
    *(Taught("07", name, pipelines) for name in ("parse_record", "from_records")),
    *(
        Taught("08", name, decoding)
        for name in (
            "reduced",
            "largest_ratio_index",
            "decode_any",
            "decode_at_ratio",
            "decode_random_crop",
        )
    ),
    Taught(
        "02",
        "course_model",
        models,
        changed={
            "signature": "the scale and class names come as arguments: a notebook has its own"
        },
    ),
    Taught(
        "01",
        "throughput",
        measure,
        changed={
            "signature": "a progress bar (label); batches default to the scale's, for callers without one at hand",
            "body": "the progress bar, whole passes of a repeated tf.data.Dataset, a last partial batch counted "
            "at its size, and an error when the data ends during warm-up",
        },
    ),
    Taught(
        "01",
        "TraceSteps",
        profiling,
        helper="StepProfiler",
        changed={
            "__init__": "its folder (logs/<notebook>/<run>) and window come from the run's settings",
            "on_train_batch_begin": "recording goes through the start and step_marker hooks, and the "
            "two seconds count from the first traced step's start",
            "on_train_batch_end": "once its window is traced it stops recording and sets done rather "
            "than ending the fit, so it can watch a long fit (profile_fit ends its own)",
            "on_train_end": "recording stops through the stop hook, once",
        },
        added={
            "start": "a hook notebook 09's JaxTrace overrides to record with JAX's profiler",
            "stop": "a hook notebook 09's JaxTrace overrides to record with JAX's profiler",
            "step_marker": "a hook notebook 09's JaxTrace overrides to record with JAX's profiler",
            "trace": "the same window over a custom training loop's batches",
        },
    ),
]
# Helpers a docstring says are taught, that no notebook writes out as a definition of its own.
NOT_WRITTEN_OUT = {
    "strategy.jax_devices": "notebook 09 explains it in prose and calls it",
}


class Normalize(ast.NodeTransformer):
    """Drops what the comparison ignores; ``constants`` gives each named constant's value."""

    def __init__(self, constants: dict[str, object]) -> None:
        self.constants = constants

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        # pipelines.decode: decode
        if isinstance(node.value, ast.Name) and node.value.id in HELPERS:
            return self.visit(ast.Name(node.attr, node.ctx))
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.constants and isinstance(node.ctx, ast.Load):
            return ast.Constant(self.constants[node.id])
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:  # a bare declaration: nothing runs
            return None
        return self.visit(ast.copy_location(ast.Assign([node.target], node.value), node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.returns = None
        return self.without_docstring(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        return self.without_docstring(node)

    def without_docstring(self, node: ast.FunctionDef | ast.ClassDef) -> ast.AST:
        if ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
        return self.generic_visit(node)


def parts(node: ast.FunctionDef | ast.ClassDef) -> dict[str, str]:
    """A normalized definition as its parts' source: signature and body, or bases and methods."""
    if isinstance(node, ast.FunctionDef):
        return {"signature": ast.unparse(node.args), "body": "\n".join(map(ast.unparse, node.body))}
    found = {"bases": ", ".join(map(ast.unparse, [*node.bases, *node.keywords]))}
    for statement in node.body:
        name = statement.name if isinstance(statement, ast.FunctionDef) else "class attributes"
        found[name] = "\n".join(filter(None, [found.get(name), ast.unparse(statement)]))
    return found


def constants(tree: ast.Module) -> dict[str, object]:
    """The named constants a source gives a literal value: ``NAME = 256``."""
    return {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
        and target.id.isupper()
        and isinstance(node.value, ast.Constant)
    }


def definition(tree: ast.Module, name: str) -> ast.FunctionDef | ast.ClassDef:
    return next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name
    )


def notebook_tree(number: str) -> ast.Module:
    """Every code cell of notebook ``number``, as one module (IPython's ``!`` and ``%`` lines made Python)."""
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    cells = nbformat.read(path, as_version=4).cells
    transform = TransformerManager().transform_cell
    return ast.Module(
        [
            node
            for cell in cells
            if cell.cell_type == "code"
            for node in ast.parse(transform(cell.source)).body
        ],
        [],
    )


def helper_module_tree(module: ModuleType) -> ast.Module:
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def compared(taught: Taught) -> tuple[dict[str, str], dict[str, str]]:
    """The parts of the notebook's definition and of its helper, both normalized.

    A named constant takes the notebook's value where the notebook gives one, else the helper's.
    """
    notebook, helper = notebook_tree(taught.notebook), helper_module_tree(taught.module)
    values = {
        name: value
        for name, value in vars(taught.module).items()
        if name.isupper() and isinstance(value, int | float | str)
    }
    normalize = Normalize({**values, **constants(notebook)})
    return (
        parts(normalize.visit(definition(notebook, taught.name))),
        parts(normalize.visit(definition(helper, taught.helper or taught.name))),
    )


@pytest.mark.parametrize("taught", TAUGHT, ids=str)
def test_the_taught_definition_is_its_helper(taught: Taught) -> None:
    written, kept = compared(taught)
    for part in written.keys() | kept.keys():
        if part in taught.added:
            assert part in kept and part not in written, (
                f"{taught}: {part} is declared as the helper's own"
            )
        elif part in taught.changed:
            assert written.get(part) != kept.get(part), (
                f"{taught}: {part} is declared to differ but agrees"
            )
            assert part in written and part in kept, (
                f"{taught}: {part} is declared changed, not added or gone"
            )
        else:
            assert written.get(part) == kept.get(part), (
                f"{taught}: its {part} differs from the helper's"
            )


def test_every_helper_said_to_be_taught_is_compared() -> None:
    compared_names = {f"{t.module.__name__.split('.')[-1]}.{t.helper or t.name}" for t in TAUGHT}
    said = {
        f"{module.__name__.split('.')[-1]}.{node.name}"
        for module in (measure, models, pipelines, profiling, strategy)
        for node in helper_module_tree(module).body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        and TAUGHT_IN.search(ast.get_docstring(node) or "")
    }
    assert said - compared_names <= NOT_WRITTEN_OUT.keys(), "taught helpers no test compares"


def test_the_normalization_keeps_what_matters() -> None:
    """Alike but for a docstring, annotations, a module prefix and a named constant; unlike by one default."""
    taught = ast.parse("def f(x, n=256):\n    return pipelines.g(x, n)")
    helper = ast.parse('def f(x: int, n: int = SIZE) -> int:\n    """Doc."""\n    return g(x, n)')
    changed = ast.parse("def f(x, n=255):\n    return g(x, n)")
    normalize = Normalize({"SIZE": 256})
    seen = [parts(normalize.visit(tree.body[0])) for tree in (taught, helper, changed)]
    assert seen[0] == seen[1] != seen[2]
