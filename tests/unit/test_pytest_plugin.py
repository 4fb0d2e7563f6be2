"""The pipeline tests of the pytest plugin, run by pytester in a user's project: they pass for
a sound model and each fails, saying what failed, for a model broken in its way."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from tests.support.user_models import MODEL_CLASSES

pytest_plugins = ["pytester"]

#: the user's project: models sound and broken, and one pipeline config per model
MODELS = (
    MODEL_CLASSES
    + """
from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec


def config(factory):
    return CTPipelineConfig(
        dag_id="ct_" + factory.lower(),
        model_name=factory.lower(),
        dataset=DatasetSpec(name="sample", registry="/r", path="sample.csv", label="y"),
        model=ModelSpec(model_factory=f"models:{factory}"),
        training_defaults={"learning_rate": 0.05},
    )


SOUND, NAN, DIVERGING, CONSTANT, FLAT, NOISY = map(
    config, ["Linear", "Nan", "Diverging", "Constant", "Flat", "Noisy"]
)
MISSING_PACKAGE = CTPipelineConfig(
    dag_id="ct_missing", model_name="missing",
    dataset=DatasetSpec(name="sample", registry="/r", path="sample.csv", label="y"),
    model=ModelSpec(model_factory="acme_models.nets:build"),
)
"""
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: the models module and a 200-row sample (y = x0 + x1 > 0).

    Each run is a subprocess, as a user's would be (pytester's in-process runs drop the modules
    they imported, and torch cannot be imported twice in one process)."""
    pytester.makepyfile(models=textwrap.dedent(MODELS))
    pytester.syspathinsert()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=["x0", "x1", "x2", "x3"])
    frame["y"] = (frame.x0 + frame.x1 > 0).astype(int)
    frame.to_csv(pytester.path / "sample.csv", index=False)
    return pytester


def run(project: pytest.Pytester, config: str, *selection: str) -> pytest.RunResult:
    args = [
        "--mlops-config",
        f"models:{config}",
        "--mlops-data",
        "sample.csv",
        "-p",
        "no:cacheprovider",
    ]
    if selection:
        args += ["-k", " or ".join(selection)]
    return project.runpytest_subprocess(*args)


def test_a_sound_model_passes_every_pipeline_test(project) -> None:
    result = run(project, "SOUND")
    result.assert_outcomes(passed=7)


def test_a_model_producing_nan_fails_finite_and_loss_falls(project) -> None:
    result = run(project, "NAN", "finite", "loss_falls")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*finite: the training on the sample failed: *nan*"])
    result.stdout.fnmatch_lines(["*loss_falls: the training on the sample failed: *nan*"])


def test_a_diverging_model_fails_loss_falls(project) -> None:
    result = run(project, "DIVERGING", "loss_falls")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*loss_falls: the training loss did not fall*(rose)*"])


def test_a_model_that_cannot_learn_fails_the_overfit(project) -> None:
    result = run(project, "CONSTANT", "overfits_a_few_records", "loss_falls")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*overfits_a_few_records: * records not overfit*cannot learn*"])
    result.stdout.fnmatch_lines(["*loss_falls: the training loss did not fall*(flat)*"])


def test_a_wrong_output_shape_fails_forward_shape(project) -> None:
    result = run(project, "FLAT", "forward_shape")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*forward_shape: model_factory 'models:Flat'*gave (16,)*needs a tensor of shape (16, *"]
    )


def test_a_model_that_onnx_cannot_match_fails_parity(project) -> None:
    result = run(project, "NOISY", "onnx_parity", "writes_artifacts")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*onnx_parity: *"])
    result.stdout.fnmatch_lines(["*writes_artifacts: not written: onnx/*"])


def test_a_factory_whose_package_is_missing_says_what_to_install(project) -> None:
    result = run(project, "MISSING_PACKAGE", "forward_shape")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Cannot import model_factory 'acme_models.nets:build'*"])
    result.stdout.fnmatch_lines(["*Install the package that defines it in the training image*"])


def test_a_preprocessing_that_does_not_round_trip_fails(project) -> None:
    project.makeconftest(
        """
        from airflow_mlops.training import preprocessing

        def pytest_configure(config):
            original = preprocessing.Preprocessor.to_dict
            def lossy(self):
                data = original(self)
                data["mean"] = [m + 1.0 for m in data["mean"]]
                return data
            preprocessing.Preprocessor.to_dict = lossy
        """
    )
    result = run(project, "SOUND", "round_trip")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*preprocessing_round_trip: the exported preprocessing gives other numbers*"]
    )


def test_without_data_the_tests_say_what_to_pass(project) -> None:
    result = project.runpytest_subprocess("--mlops-config", "models:SOUND", "-k", "forward_shape")
    result.stdout.fnmatch_lines(["*need --mlops-config pkg.module:CONFIG and --mlops-data*"])
