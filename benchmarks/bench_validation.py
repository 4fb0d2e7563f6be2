"""Learned-suite validation on 1M rows x 30 features vs the same checks in plain pandas.

Measures, on one synthetic frame with the demo schema: the project's default ``auto`` engine,
GX computing every expectation (``engine="gx"``), and a hand-written pandas version of the same
checks (columns, dtypes, null fractions, ranges, category sets, constant columns, duplicate
rows, row count). Best of ``--repeat`` runs; peak memory by tracemalloc in a separate run.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def pandas_checks(frame: Any, suite: dict[str, Any]) -> int:
    """The learned suite's checks written directly in pandas; returns the failure count."""
    import pandas as pd

    failures = 0
    for item in suite["expectations"]:
        kwargs = item["kwargs"]
        kind = item["type"]
        column = frame[kwargs["column"]] if "column" in kwargs else None
        if kind == "expect_table_columns_to_match_set":
            failures += set(frame.columns) != set(kwargs["column_set"])
        elif kind == "expect_table_row_count_to_be_between":
            failures += not kwargs["min_value"] <= len(frame) <= kwargs["max_value"]
        elif kind == "expect_column_values_to_be_in_type_list":
            failures += column.dtype.name not in kwargs["type_list"]
        elif kind == "expect_column_values_to_not_be_null":
            failures += column.notna().mean() < kwargs["mostly"]
        elif kind == "expect_column_values_to_be_between":
            outside = ((column < kwargs["min_value"]) | (column > kwargs["max_value"])).mean()
            failures += outside > 1 - kwargs.get("mostly", 1.0)
        elif kind == "expect_column_values_to_be_in_set":
            failures += bool((~column.dropna().isin(kwargs["value_set"])).any())
        elif kind == "expect_column_stdev_to_be_between":
            failures += not column.std() > 0
        elif kind == "expect_compound_columns_to_be_unique":
            failures += frame.duplicated(keep=False).mean() > 1 - kwargs["mostly"]
        elif kind != "expect_column_to_exist":
            raise ValueError(kind)
    assert isinstance(frame, pd.DataFrame)
    return failures


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        value = run()
        best = min(best, time.perf_counter() - started)
    return best, value


def peak_mib(run: Callable[[], Any]) -> float:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows (<1 min)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-gx", action="store_true", help="do not time engine='gx'")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    size = "quick" if args.quick else "full"

    import pandas as pd

    from airflow_mlops.local.demo.synthetic import SyntheticGenerator
    from airflow_mlops.validation.learn import LearnOptions, learn_suite
    from airflow_mlops.validation.suite import check_with_gx
    from airflow_mlops.validation.validate import validate_frame

    print(f"generating {rows:,} rows ...", flush=True)
    frame = pd.concat(list(SyntheticGenerator.fit().chunks(rows, seed=0)), ignore_index=True)
    print(f"frame {frame.shape}, {frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB", flush=True)
    suite = learn_suite(frame, name="bench", options=LearnOptions(label="malignant"))
    check_with_gx(suite)  # imports GX once, outside the timings
    print(f"suite: {len(suite['expectations'])} expectations", flush=True)

    pandas_s, pandas_failures = best_of(args.repeat, lambda: pandas_checks(frame, suite))
    print(f"plain pandas: {pandas_s:.3f} s ({pandas_failures} failures)", flush=True)
    auto_s, report = best_of(args.repeat, lambda: validate_frame(frame, suite, engine="auto"))
    print(f"auto engine: {auto_s:.3f} s, outcome {report.outcome}, {report.engines}", flush=True)
    assert report.outcome == "pass" and pandas_failures == 0
    lines = [
        {
            "bench": "validation",
            "metric": "auto_engine_time_ratio_vs_pandas",
            "value": round(auto_s / pandas_s, 2),
            "target": 2.0,
            "better": "lower",
            "baseline": f"same checks in plain pandas ({pandas_s:.2f} s)",
            "n": rows,
            "size": size,
        }
    ]
    # the duplicate-row check hashes whole rows and dominates both sides: time without it too
    rowwise = "expect_compound_columns_to_be_unique"
    per_column = {
        **suite,
        "expectations": [e for e in suite["expectations"] if e["type"] != rowwise],
    }
    pandas_col_s, _ = best_of(args.repeat, lambda: pandas_checks(frame, per_column))
    auto_col_s, _ = best_of(args.repeat, lambda: validate_frame(frame, per_column, engine="auto"))
    print(f"without the duplicate check: pandas {pandas_col_s:.3f} s, auto {auto_col_s:.3f} s")
    lines.append(
        {
            "bench": "validation",
            "metric": "auto_engine_time_ratio_vs_pandas_without_duplicate_check",
            "value": round(auto_col_s / pandas_col_s, 2),
            "target": 2.0,
            "better": "lower",
            "baseline": f"same per-column checks in plain pandas ({pandas_col_s:.2f} s)",
            "n": rows,
            "size": size,
        }
    )
    if not args.skip_gx:
        gx_s, gx_report = best_of(1, lambda: validate_frame(frame, suite, engine="gx"))
        print(f"gx engine: {gx_s:.3f} s, outcome {gx_report.outcome}", flush=True)
        lines.append(
            {
                "bench": "validation",
                "metric": "gx_engine_time_ratio_vs_pandas",
                "value": round(gx_s / pandas_s, 2),
                "target": 2.0,
                "better": "lower",
                "baseline": f"same checks in plain pandas ({pandas_s:.2f} s)",
                "n": rows,
                "size": size,
            }
        )
    frame_mib = frame.memory_usage(deep=True).sum() / 2**20
    auto_peak = peak_mib(lambda: validate_frame(frame, suite, engine="auto"))
    pandas_peak = peak_mib(lambda: pandas_checks(frame, suite))
    print(
        f"peak extra memory: auto {auto_peak:.0f} MiB, pandas {pandas_peak:.0f} MiB "
        f"(frame itself {frame_mib:.0f} MiB)",
        flush=True,
    )
    lines.append(
        {
            "bench": "validation",
            "metric": "auto_engine_peak_memory_ratio_vs_pandas",
            "value": round(auto_peak / pandas_peak, 2),
            "target": 2.0,
            "better": "lower",
            "baseline": f"plain pandas checks peak {pandas_peak:.0f} MiB over a "
            f"{frame_mib:.0f} MiB frame (auto {auto_peak:.0f} MiB)",
            "n": rows,
            "size": size,
        }
    )
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
