"""Small demo frames shared by the training unit tests."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.local.demo.dataset import breast_cancer_frame


@pytest.fixture(scope="session")
def cancer() -> pd.DataFrame:
    """The demo dataset: 30 numeric features, ``clinic`` (categorical), ``malignant`` (0/1)."""
    return breast_cancer_frame()


@pytest.fixture
def regression_frame() -> pd.DataFrame:
    """A small noisy linear regression problem with one categorical column."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    group = rng.choice(["a", "b"], size=300)
    y = 3 * x[:, 0] - 2 * x[:, 1] + (group == "b") * 1.5 + rng.normal(scale=0.1, size=300)
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "group": group, "y": y})
