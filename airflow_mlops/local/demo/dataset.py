"""The demo dataset: scikit-learn's breast cancer data (569 rows, 30 features) and its versions.

Features keep their real values with snake_case names; ``clinic`` is a synthetic, seeded
categorical column (four sites) added so that category checks and per-slice gates have
something to work on; ``malignant`` (1 = malignant) is the label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

LABEL = "malignant"
SEGMENT = "clinic"
CLINICS = ("north", "south", "east", "west")
V1_ROWS = 400
#: features shifted in the drift version, by this many standard deviations
DRIFT_SHIFT = {"mean_radius": 1.5, "mean_texture": 1.0, "worst_area": 1.5, "mean_smoothness": -1.0}


def breast_cancer_frame(seed: int = 0) -> pd.DataFrame:
    """The full dataset: 30 real features, the synthetic ``clinic`` column, the label."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.rename(columns=lambda name: name.strip().replace(" ", "_"))
    rng = np.random.default_rng(seed)
    frame[SEGMENT] = rng.choice(CLINICS, size=len(frame), p=[0.4, 0.3, 0.2, 0.1])
    frame[LABEL] = (bunch.target == 0).astype("int64")
    return frame


def version_v1(full: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The first published version: a seeded sample of ``V1_ROWS`` rows, original order."""
    return full.sample(n=V1_ROWS, random_state=seed).sort_index().reset_index(drop=True)


def with_drift(frame: pd.DataFrame, shift: dict[str, float] | None = None) -> pd.DataFrame:
    """``frame`` with some features shifted by a number of their standard deviations."""
    drifted = frame.copy()
    for column, sigmas in (shift or DRIFT_SHIFT).items():
        drifted[column] = (drifted[column] + sigmas * frame[column].std()).clip(lower=0)
    return drifted


def corrupt_batch(frame: pd.DataFrame) -> pd.DataFrame:
    """A broken delivery: a renamed column, nulls, negative sizes and an unseen category."""
    broken = frame.head(120).copy()
    broken = broken.rename(columns={"mean_concavity": "mean_concavity_v2"})
    broken.loc[broken.index[:40], "mean_texture"] = float("nan")
    broken.loc[broken.index[40:50], "mean_radius"] = -1.0
    broken.loc[broken.index[50:55], SEGMENT] = "unknown-site"
    return broken
