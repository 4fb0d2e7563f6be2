"""Level 2's image test against the real Docker engine: the pytest plugin's pipeline tests run
with pytest in the built image, locked down, with the pipeline's params; a factory whose package
the image lacks fails them before any training, saying what to install."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.cicd import IMAGE_CHECKS, run_pipeline_tests
from airflow_mlops.errors import TrainingError
from tests.support.user_models import MODEL_CLASSES

pytestmark = pytest.mark.integration


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=["x0", "x1", "x2", "x3"])
    frame["y"] = (frame.x0 + frame.x1 > 0).astype(int)
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # the image's non-root user reads it (tmp_path itself is 0700)
    frame.to_csv(data / "sample.csv", index=False)
    (data / "sample.csv").chmod(0o644)
    return data / "sample.csv"


@pytest.mark.docker
def test_the_checks_pass_in_the_image_for_a_sound_pipeline(training_image, sample, tmp_path):
    report = run_pipeline_tests(training_image.tag, sample, "y", tmp_path / "out", {"label": "y"})
    assert [(c["name"], c["passed"]) for c in report["checks"]] == [
        (name, True) for name in IMAGE_CHECKS
    ]
    assert (tmp_path / "out" / "smoke" / "model.pt").is_file()


@pytest.mark.docker
def test_a_factory_missing_from_the_image_fails_naming_what_to_install(
    training_image, sample, tmp_path
):
    params = {"label": "y", "model_factory": "acme_models.nets:build"}
    with pytest.raises(TrainingError, match="forward_shape") as caught:
        run_pipeline_tests(training_image.tag, sample, "y", tmp_path / "out", params)
    (shape,) = [c for c in caught.value.details["checks"] if c["name"] == "forward_shape"]
    assert "No module named 'acme_models'" in shape["detail"]["error"]
    assert "Install the package that defines it in the training image" in shape["detail"]["error"]
    assert not (tmp_path / "out" / "smoke" / "model.pt").exists()


@pytest.fixture
def species(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Not the demo's data: three string classes, a string feature and an id column; the
    user's model module importable from the working directory, as in their repository."""
    rng = np.random.default_rng(1)
    label = rng.choice(["setosa", "versicolor", "virginica"], size=240)
    frame = pd.DataFrame({
        "plant_id": [f"p{i:04d}" for i in range(240)],
        "petal": (label == "virginica") * 2.0 + (label == "versicolor") + rng.normal(0, .1, 240),
        "sepal": rng.normal(size=240),
        "soil": rng.choice(["clay", "sand"], size=240),
        "species": label,
    })  # fmt: skip
    frame.to_csv(tmp_path / "species.csv", index=False)
    (tmp_path / "user_models.py").write_text(MODEL_CLASSES)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "species.csv"


def test_locally_the_pipeline_tests_run_with_pytest_on_the_users_model(species, tmp_path):
    params = {"label": "species", "id_column": "plant_id", "model_factory": "user_models:Linear"}
    report = run_pipeline_tests(None, species, "species", tmp_path / "out", params)
    assert [(c["name"], c["passed"]) for c in report["checks"]] == [
        (name, True) for name in IMAGE_CHECKS
    ]
    assert (tmp_path / "out" / "pipeline-tests.xml").is_file()
    assert (tmp_path / "out" / "smoke" / "model.pt").is_file()


def test_locally_a_model_giving_nan_fails_naming_the_check(species, tmp_path):
    params = {"label": "species", "id_column": "plant_id", "model_factory": "user_models:Nan"}
    with pytest.raises(TrainingError, match="finite") as caught:
        run_pipeline_tests(None, species, "species", tmp_path / "out", params)
    failed = {c["name"]: c["detail"]["error"] for c in caught.value.details["checks"]
              if not c["passed"]}  # fmt: skip
    assert "nan" in failed["finite"].lower()
    assert "loss_falls" in failed and "forward_shape" not in failed
