"""Level 2's image test against the real Docker engine: the pipeline checks run in the built
image, locked down, with the pipeline's params; a factory whose package the image lacks fails
them before any training, saying what to install."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.cicd import IMAGE_CHECKS, run_selftest
from airflow_mlops.errors import TrainingError

pytestmark = [pytest.mark.integration, pytest.mark.docker]


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


def test_the_checks_pass_in_the_image_for_a_sound_pipeline(training_image, sample, tmp_path):
    report = run_selftest(training_image.tag, sample, "y", tmp_path / "out", {"label": "y"})
    assert [(c["name"], c["passed"]) for c in report["checks"]] == [
        (name, True) for name in IMAGE_CHECKS
    ]
    assert (tmp_path / "out" / "smoke" / "model.pt").is_file()


def test_a_factory_missing_from_the_image_fails_naming_what_to_install(
    training_image, sample, tmp_path
):
    params = {"label": "y", "model_factory": "acme_models.nets:build"}
    with pytest.raises(TrainingError, match="forward_shape") as caught:
        run_selftest(training_image.tag, sample, "y", tmp_path / "out", params)
    (shape,) = [c for c in caught.value.details["checks"] if c["name"] == "forward_shape"]
    assert "No module named 'acme_models'" in shape["detail"]["error"]
    assert "Install the package that defines it in the training image" in shape["detail"]["error"]
    assert not (tmp_path / "out" / "smoke" / "model.pt").exists()
