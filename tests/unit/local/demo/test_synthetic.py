"""The synthetic generator reproduces the demo schema at any size, deterministically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.local.demo import dataset as demo
from airflow_mlops.local.demo.synthetic import SyntheticGenerator


@pytest.fixture(scope="module")
def generator() -> SyntheticGenerator:
    return SyntheticGenerator.fit()


def test_schema_matches_the_real_data(generator: SyntheticGenerator) -> None:
    real = demo.breast_cancer_frame()
    frame = next(generator.chunks(1000, seed=1))
    assert list(frame.columns) == list(real.columns)
    assert set(frame[demo.SEGMENT].cat.categories) == set(demo.CLINICS)
    assert (frame.drop(columns=[demo.SEGMENT, demo.LABEL]) >= 0).all().all()


def test_chunks_cover_the_requested_rows_and_are_seeded(generator: SyntheticGenerator) -> None:
    sizes = [len(c) for c in generator.chunks(2500, seed=7, chunk_rows=1000)]
    assert sizes == [1000, 1000, 500]
    first = pd.concat(generator.chunks(500, seed=7))
    again = pd.concat(generator.chunks(500, seed=7))
    other = pd.concat(generator.chunks(500, seed=8))
    assert first.equals(again)
    assert not first.equals(other)


def test_statistics_follow_the_real_data(generator: SyntheticGenerator) -> None:
    real = demo.breast_cancer_frame()
    frame = next(generator.chunks(200_000, seed=3, chunk_rows=200_000))
    for column in ("mean_radius", "worst_area", "mean_texture"):
        assert frame[column].mean() == pytest.approx(real[column].mean(), rel=0.05)
    real_corr = real["mean_radius"].corr(real["mean_perimeter"])
    assert frame["mean_radius"].corr(frame["mean_perimeter"]) == pytest.approx(real_corr, abs=0.02)
    assert frame[demo.LABEL].mean() == pytest.approx(real[demo.LABEL].mean(), abs=0.01)


def test_shift_moves_a_feature_by_the_requested_sigmas(generator: SyntheticGenerator) -> None:
    base = next(generator.chunks(50_000, seed=5, chunk_rows=50_000))
    shifted = next(generator.chunks(50_000, seed=5, chunk_rows=50_000, shift={"mean_texture": 2}))
    moved = shifted["mean_texture"].mean() - base["mean_texture"].mean()
    assert 1.5 * base["mean_texture"].std() < moved < 2.5 * base["mean_texture"].std()
    assert np.allclose(shifted["mean_radius"], base["mean_radius"])


def test_write_parquet_writes_every_row(generator: SyntheticGenerator, tmp_path) -> None:
    path = generator.write_parquet(tmp_path / "big.parquet", 12_345, chunk_rows=5000, seed=2)
    assert len(pd.read_parquet(path)) == 12_345
    assert [p.name for p in tmp_path.iterdir()] == ["big.parquet"]
