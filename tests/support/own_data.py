"""The own-data tutorial's two datasets, used nowhere else in the project.

- **wine** (multiclass): scikit-learn's bundled wine data, grown with jittered copies to 350 rows,
  plus a ``sample_id`` column, a string feature ``vineyard`` (leaning to the cultivar) and string
  labels ``cultivar`` = ``class_a`` / ``class_b`` / ``class_c``.
- **diabetes** (regression): scikit-learn's bundled diabetes data (442 rows, unscaled) plus a
  ``patient_id`` column; the label ``progression`` is the disease progression after one year.

Each has two versions: ``v1`` (the first rows) and ``v2`` (``v1`` plus new rows), large enough
that the gate's 20 % holdout has at least :data:`MIN_HOLDOUT_ROWS` rows in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: the gate's default least holdout size (GateConfig.min_holdout_rows)
MIN_HOLDOUT_ROWS = 30
WINE_LABELS = ("class_a", "class_b", "class_c")
VINEYARDS = ("north", "south", "coast")


@dataclass(frozen=True)
class OwnDataset:
    """One tutorial dataset: its columns and its two versions as data frames."""

    name: str
    label: str
    id_column: str
    task: str
    v1: pd.DataFrame
    v2: pd.DataFrame

    def write_versions(self, folder: Path) -> tuple[Path, Path]:
        """Write ``v1`` and ``v2`` as CSV files under ``folder``; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = (folder / f"{self.name}-v1.csv", folder / f"{self.name}-v2.csv")
        self.v1.to_csv(paths[0], index=False)
        self.v2.to_csv(paths[1], index=False)
        return paths

    def scoring_batch(self, rows: int = 40) -> pd.DataFrame:
        """Unlabelled rows to score: the last ``rows`` of ``v2`` without the label."""
        return self.v2.tail(rows).drop(columns=[self.label]).reset_index(drop=True)


def wine_dataset(*, v1_rows: int = 250, total_rows: int = 350, seed: int = 7) -> OwnDataset:
    """The multiclass dataset: wine, a string feature, string labels, an id column."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    base = bunch.frame.rename(columns={"od280/od315_of_diluted_wines": "od280_od315"})
    rng = np.random.default_rng(seed)
    extra = base.sample(n=total_rows - len(base), replace=True, random_state=seed)
    features = [c for c in extra.columns if c != "target"]
    noise = rng.normal(0.0, 0.03, size=(len(extra), len(features)))
    extra[features] = extra[features] * (1.0 + noise)
    frame = pd.concat([base, extra], ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    target = frame.pop("target").to_numpy()
    # the vineyard follows the cultivar two times in three: an informative string feature
    leaning = np.where(rng.random(len(frame)) < 2 / 3, target, rng.integers(0, 3, len(frame)))
    frame.insert(0, "sample_id", [f"w-{i:04d}" for i in range(len(frame))])
    frame.insert(1, "vineyard", [VINEYARDS[i] for i in leaning])
    frame["cultivar"] = [WINE_LABELS[i] for i in target]
    return OwnDataset(
        name="wine",
        label="cultivar",
        id_column="sample_id",
        task="multiclass",
        v1=frame.head(v1_rows).reset_index(drop=True),
        v2=frame,
    )


def diabetes_dataset(*, v1_rows: int = 330) -> OwnDataset:
    """The regression dataset: diabetes (unscaled) with a ``patient_id`` column."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    frame.insert(0, "patient_id", [f"p-{i:04d}" for i in range(len(frame))])
    return OwnDataset(
        name="diabetes",
        label="progression",
        id_column="patient_id",
        task="regression",
        v1=frame.head(v1_rows).reset_index(drop=True),
        v2=frame,
    )


def holdout_rows(dataset: OwnDataset, frame: pd.DataFrame) -> int:
    """How many rows of ``frame`` the training holds out (the default split rule by id)."""
    from airflow_mlops.data.holdout import holdout_mask

    return int(holdout_mask(frame, id_column=dataset.id_column).sum())
