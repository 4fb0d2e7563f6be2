"""A seeded generator with the demo dataset's schema that scales to tens of millions of rows.

Fitted on the real data: per class, a multivariate normal over the 30 features (so their
correlations survive), clipped at zero like the real measurements; ``clinic`` is drawn with the
real frequencies. Rows are produced in chunks, so memory stays flat whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.local.demo.dataset import LABEL, SEGMENT, breast_cancer_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class SyntheticGenerator:
    """Per-class Gaussian model of the demo features; build it with :meth:`fit`."""

    features: tuple[str, ...]
    class_prior: np.ndarray
    means: np.ndarray  # (classes, features)
    cholesky: np.ndarray  # (classes, features, features)
    categories: tuple[str, ...]
    category_prior: np.ndarray

    @classmethod
    def fit(cls, frame: pd.DataFrame | None = None) -> SyntheticGenerator:
        """Fit on ``frame`` (default: the real breast cancer data)."""
        import numpy as np

        frame = breast_cancer_frame() if frame is None else frame
        features = tuple(c for c in frame.columns if c not in (LABEL, SEGMENT))
        classes = sorted(frame[LABEL].unique())
        means, factors, prior = [], [], []
        for label in classes:
            rows = frame.loc[frame[LABEL] == label, list(features)].to_numpy(dtype="float64")
            cov = np.cov(rows, rowvar=False) + 1e-9 * np.eye(len(features))
            means.append(rows.mean(axis=0))
            factors.append(np.linalg.cholesky(cov))
            prior.append(len(rows) / len(frame))
        counts = frame[SEGMENT].value_counts(normalize=True).sort_index()
        return cls(
            features=features,
            class_prior=np.asarray(prior),
            means=np.asarray(means),
            cholesky=np.asarray(factors),
            categories=tuple(counts.index),
            category_prior=counts.to_numpy(),
        )

    def chunks(
        self,
        rows: int,
        *,
        seed: int = 0,
        chunk_rows: int = 500_000,
        shift: dict[str, float] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``rows`` rows in frames of at most ``chunk_rows``.

        :param shift: features moved by this many (per-class) standard deviations, for drift.
        """
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        offsets = np.zeros(len(self.features))
        stds = np.sqrt(np.einsum("cij,cij->ci", self.cholesky, self.cholesky)).mean(axis=0)
        for name, sigmas in (shift or {}).items():
            offsets[self.features.index(name)] = sigmas * stds[self.features.index(name)]
        remaining = rows
        while remaining > 0:
            size = min(chunk_rows, remaining)
            labels = rng.choice(len(self.class_prior), size=size, p=self.class_prior)
            noise = rng.standard_normal((size, len(self.features)))
            values = np.einsum("nij,nj->ni", self.cholesky[labels], noise)
            values += self.means[labels] + offsets
            np.clip(values, 0.0, None, out=values)
            frame = pd.DataFrame(values.astype("float32"), columns=list(self.features))
            frame[SEGMENT] = pd.Categorical.from_codes(
                rng.choice(len(self.categories), size=size, p=self.category_prior),
                categories=list(self.categories),
            )
            frame[LABEL] = labels.astype("int64")
            remaining -= size
            yield frame

    def write_parquet(self, path: str | Path, rows: int, **kwargs: object) -> Path:
        """Write ``rows`` rows to one Parquet file, chunk by chunk, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        writer = None
        try:
            for frame in self.chunks(rows, **kwargs):  # type: ignore[arg-type]
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
            tmp.replace(target)
        except BaseException:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
            raise
        return target
