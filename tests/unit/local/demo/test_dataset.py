"""The demo dataset and its versions have the shape the pipelines rely on."""

from __future__ import annotations

import pytest

from airflow_mlops.local.demo import dataset as demo


@pytest.fixture(scope="module")
def full():
    return demo.breast_cancer_frame()


def test_full_dataset_has_real_features_segment_and_label(full) -> None:
    assert full.shape == (569, 32)
    assert full[demo.LABEL].value_counts().to_dict() == {0: 357, 1: 212}
    assert set(full[demo.SEGMENT]) == set(demo.CLINICS)
    assert "mean_radius" in full.columns
    assert not full.isna().any().any()


def test_v1_is_a_deterministic_subset(full) -> None:
    v1 = demo.version_v1(full)
    assert len(v1) == demo.V1_ROWS
    assert v1.equals(demo.version_v1(demo.breast_cancer_frame()))


def test_drift_moves_only_the_listed_features(full) -> None:
    drifted = demo.with_drift(full)
    for column in full.columns.drop([demo.LABEL, demo.SEGMENT]):
        moved = drifted[column].mean() - full[column].mean()
        if column in demo.DRIFT_SHIFT:
            assert abs(moved) > 0.5 * full[column].std()
        else:
            assert moved == 0


def test_corrupt_batch_breaks_schema_and_values(full) -> None:
    broken = demo.corrupt_batch(full)
    assert "mean_concavity" not in broken.columns
    assert broken["mean_texture"].isna().sum() == 40
    assert (broken["mean_radius"] < 0).sum() == 10
    assert "unknown-site" in set(broken[demo.SEGMENT])
