"""No demo name is a default, a hint or an example outside the demo module.

The shipped demo (breast cancer data, a ``clinic`` slice, a ``v1`` data tag) lives in
``airflow_mlops/local/demo/``; everything else must work for a user's own dataset, so no other
module of the library or its Airflow adapters may mention those names, even in a docstring or an
error hint. The demo DAGs in ``dags/`` reach demo names only through ``airflow_mlops.local.demo``
(their Markdown docs may describe the demo).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("airflow_mlops", "operators", "sensors", "hooks", "plugins")
DEMO = ROOT / "airflow_mlops" / "local" / "demo"
#: the demo's dataset, label, slice and feature names
DEMO_NAMES = re.compile(r"cancer|clinic|malignant|mean_radius", re.IGNORECASE)
#: the demo's first data tag, as a string literal
DEMO_TAG = re.compile(r"""^[rbuRBU]*(['"])v1\1$""")
#: a ``"v1"`` that is not a data tag: the Kubernetes API version of a pod spec
NOT_A_TAG = "apiVersion"


def library_files() -> list[Path]:
    return sorted(
        path
        for root in SCANNED
        for path in (ROOT / root).rglob("*.py")
        if DEMO not in path.parents and "__pycache__" not in path.parts
    )


def demo_mentions(path: Path) -> list[str]:
    """``file:line: text`` for each token (code, string, docstring, comment) naming the demo."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT):
            continue
        tag = token.type == tokenize.STRING and DEMO_TAG.match(token.string)
        if DEMO_NAMES.search(token.string) or (tag and NOT_A_TAG not in lines[token.start[0] - 1]):
            line = token.start[0]
            found.append(f"{path.relative_to(ROOT)}:{line}: {lines[line - 1].strip()}")
    return found


def dag_literals(path: Path) -> list[str]:
    """``file:line: text`` for each string in a DAG file naming the demo outside its docs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.upper().endswith("DOC") for t in node.targets
        ):
            docs.add(id(node.value))
        if isinstance(node, ast.keyword) and node.arg == "doc_md":
            docs.add(id(node.value))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and (DEMO_NAMES.search(node.value) or node.value == "v1")
    ]


def test_the_scan_sees_the_library_and_skips_the_demo() -> None:
    files = library_files()
    assert ROOT / "airflow_mlops" / "ct" / "config.py" in files
    assert ROOT / "operators" / "pipeline.py" in files
    assert not any(DEMO in path.parents for path in files)
    assert demo_mentions(DEMO / "pipeline.py"), "the pattern no longer finds the demo's names"


def test_no_demo_name_outside_the_demo_module() -> None:
    found = [mention for path in library_files() for mention in demo_mentions(path)]
    assert not found, (
        "Demo names outside airflow_mlops/local/demo/ (use neutral examples such as "
        "data/train.csv and 'label'; keep demo values in the demo module):\n" + "\n".join(found)
    )


def test_demo_dags_take_demo_names_from_the_demo_module() -> None:
    found = [
        literal for path in sorted((ROOT / "dags").glob("*.py")) for literal in dag_literals(path)
    ]
    assert not found, (
        "DAG files name demo values directly; import them from airflow_mlops.local.demo:\n"
        + "\n".join(found)
    )
