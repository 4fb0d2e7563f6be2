"""Security: models and other files are loaded without running code that the file chooses.

A checkpoint crosses the training sandbox's boundary: the container writes it, the worker loads
it (ONNX export). Each test crafts a hostile file whose payload would write a marker file, proves
the payload is live (a control that does run it), and proves our loaders refuse it unrun.
"""

from __future__ import annotations

import ast
import io
import pickle
import shutil
from pathlib import Path

import pytest

from airflow_mlops.errors import ConfigError, ExportError, TrainingError
from airflow_mlops.operators.export import ExportOnnxOperator, OnnxExportError
from airflow_mlops.training.checkpoint import MODEL_FILE, load_checkpoint

REPO = Path(__file__).resolve().parents[2]
#: the code that ships (tests and benchmarks are not loaded by a deployment)
SHIPPED = ("airflow_mlops", "operators", "hooks", "sensors", "plugins", "dags", "docker")


class WritesMarker:
    """Unpickling this runs ``exec``: it writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real training output (one epoch on 64 rows)."""
    from airflow_mlops.local.demo.dataset import breast_cancer_frame
    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.loop import train

    output = tmp_path_factory.mktemp("checkpoint")
    config = TrainingConfig(label="malignant", max_epochs=1, device="cpu", num_threads=1)
    train(breast_cancer_frame().head(64), config, output, log=lambda line: None)
    return output


def hostile_copy(checkpoint: Path, target: Path, edit) -> Path:
    """``checkpoint`` copied to ``target`` with its model.pt payload changed by ``edit``."""
    import torch

    shutil.copytree(checkpoint, target)
    payload = torch.load(target / MODEL_FILE, weights_only=True)
    edit(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    (target / MODEL_FILE).write_bytes(buffer.getvalue())
    return target


def export(checkpoint_dir: Path, tmp_path: Path) -> None:
    ExportOnnxOperator(
        task_id="export",
        checkpoint_uri=str(checkpoint_dir),
        output_uri=str(tmp_path / "onnx"),
        latency_batches=(),
    ).execute({})


@pytest.mark.parametrize("form", ["torch_zip", "raw_pickle"])
def test_pickled_code_in_a_checkpoint_never_runs(checkpoint: Path, tmp_path: Path, form) -> None:
    import torch

    marker = tmp_path / "pwned"
    if form == "torch_zip":
        hostile = hostile_copy(
            checkpoint, tmp_path / "ckpt", lambda p: p.update(preprocessing=WritesMarker(marker))
        )
    else:
        hostile = tmp_path / "ckpt"
        shutil.copytree(checkpoint, hostile)
        (hostile / MODEL_FILE).write_bytes(pickle.dumps({"state_dict": WritesMarker(marker)}))

    with pytest.raises(TrainingError, match="as a weights-only checkpoint"):
        load_checkpoint(hostile)
    with pytest.raises(OnnxExportError, match="as a weights-only checkpoint"):
        export(hostile, tmp_path)
    assert not marker.exists()
    assert not (tmp_path / "onnx").exists()

    # control: the payload is live, an unrestricted unpickler runs it
    if form == "torch_zip":
        torch.load(hostile / MODEL_FILE, weights_only=False)
    else:
        pickle.loads((hostile / MODEL_FILE).read_bytes())
    assert marker.read_text() == "pwned"


def test_a_checkpoint_cannot_choose_the_code_that_rebuilds_it(
    checkpoint: Path, tmp_path: Path
) -> None:
    """Weights-only data can still name a callable: ``subprocess:run`` called with the model
    config dict runs ``list(dict)`` as a command. The loader decides the factory, not the file."""
    from airflow_mlops.training.model import build_model

    marker = tmp_path / "pwned"
    command = {"sh": 0, "-c": 0, f"echo pwned > {marker}": 0}

    def edit(payload: dict) -> None:
        payload.update(model_factory="subprocess:run", model_config=command)

    hostile = hostile_copy(checkpoint, tmp_path / "ckpt", edit)

    with pytest.raises(TrainingError, match="names model_factory 'subprocess:run'"):
        load_checkpoint(hostile)
    with pytest.raises(TrainingError, match=r"but 'my_pkg\.models:build' was expected"):
        load_checkpoint(hostile, model_factory="my_pkg.models:build")
    with pytest.raises(OnnxExportError, match="names model_factory"):
        export(hostile, tmp_path)
    assert not marker.exists()

    # control: rebuilding the net the way the file asks runs the command
    with pytest.raises(ConfigError, match=r"not a torch\.nn\.Module"):
        build_model("subprocess:run", command)
    assert marker.read_text().strip() == "pwned"


def test_onnx_external_data_cannot_escape_the_model_directory(tmp_path: Path) -> None:
    """An ONNX file may keep weights in external files: a path out of its directory (to read
    another file into the model) is refused by both loaders we use (onnxruntime, onnx.load)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.model_registry.register import _load_onnx

    (tmp_path / "secret.bin").write_bytes(b"not-for-the-model-0123456789")
    weights = numpy_helper.from_array(np.zeros(2, dtype=np.float32), "w")
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in {"location": "../secret.bin", "offset": "0", "length": "8"}.items():
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    vector = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x", "y")]
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g", vector[:1], vector[1:], [weights]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "model" / "model.onnx"
    path.parent.mkdir()
    path.write_bytes(model.SerializeToString())

    with pytest.raises(ExportError, match="escapes model directory"):
        OnnxPredictor.load(path)
    with pytest.raises(onnx.checker.ValidationError, match="points outside the directory"):
        _load_onnx(path)


#: calls that run code chosen by the data they load, or by a string
UNSAFE_CALLS = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "dill.load",
    "dill.loads",
    "cloudpickle.load",
    "cloudpickle.loads",
    "joblib.load",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "yaml.unsafe_load",
    "yaml.full_load",
    "pd.read_pickle",
    "pandas.read_pickle",
    "mlflow.pyfunc.load_model",
    "mlflow.pytorch.load_model",
    "mlflow.sklearn.load_model",
    "eval",
    "exec",
    "os.system",
    "os.popen",
}


#: modules whose loaders unpickle (no use of them is safe on files from elsewhere)
PICKLERS = {"pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _keyword(call: ast.Call, name: str) -> object:
    """The constant passed as ``name=``; None when absent; the source text when not constant."""
    for keyword in call.keywords:
        if keyword.arg == name:
            value = keyword.value
            return value.value if isinstance(value, ast.Constant) else ast.unparse(value)
    return None


def unsafe_calls(source: str) -> list[tuple[int, str]]:
    """(line, reason) of each call in ``source`` that may run code chosen by data."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            found += [(node.lineno, f"imports {m}") for m in modules if m in PICKLERS]
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name in UNSAFE_CALLS:
            found.append((node.lineno, name))
        elif name == "torch.load" and _keyword(node, "weights_only") is not True:
            found.append((node.lineno, "torch.load without weights_only=True"))
        elif name == "yaml.load" and "Safe" not in ast.unparse(node):
            found.append((node.lineno, "yaml.load without a safe loader"))
        elif name.endswith(("np.load", "numpy.load")) and _keyword(node, "allow_pickle") not in (
            None,
            False,
        ):
            found.append((node.lineno, "numpy.load(allow_pickle=True)"))
        elif name.startswith("subprocess.") and _keyword(node, "shell") not in (None, False):
            found.append((node.lineno, f"{name}(shell=True)"))
    return found


def test_the_audit_finds_each_unsafe_form() -> None:
    source = "\n".join(
        [
            "pickle.loads(b)",
            "torch.load(f)",
            "torch.load(f, weights_only=False)",
            "torch.load(f, weights_only=True)",
            "yaml.load(s)",
            "yaml.load(s, Loader=yaml.SafeLoader)",
            "np.load(f, allow_pickle=True)",
            "subprocess.run(c, shell=True)",
            "subprocess.run(['ls'])",
            "subprocess.run(c, shell=flag)",
            "subprocess.run(c, shell=False)",
            "eval(s)",
            "from pickle import loads",
            "import joblib",
        ]
    )
    assert sorted(line for line, _ in unsafe_calls(source)) == [1, 2, 3, 5, 7, 8, 10, 12, 13, 14]


def test_shipped_code_has_no_unsafe_loads_eval_or_shell() -> None:
    files = [p for top in SHIPPED for p in sorted((REPO / top).rglob("*.py"))]
    assert len(files) > 50
    findings = {
        f"{path.relative_to(REPO)}:{line}": reason
        for path in files
        for line, reason in unsafe_calls(path.read_text(encoding="utf-8"))
    }
    assert findings == {}
