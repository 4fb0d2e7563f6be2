"""MkDocs hooks: pages that other tools write, present in every build.

``docs/benchmarks.md`` is written by ``make bench`` from the benchmark scripts' JSON lines. In a
checkout where it has not been generated yet, the site gets a page that says how to produce it,
so links to it stay valid and ``mkdocs build --strict`` passes.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

GENERATED_ELSEWHERE = {
    "benchmarks.md": (
        "# Benchmarks\n\n"
        "The table of measured claims is written here by `make bench` (full size) or "
        "`make bench-quick`: each script in `benchmarks/` measures the project against a "
        "baseline in the same run and ends with one JSON line per target. This build ran "
        "before any benchmark results were recorded.\n"
    ),
}


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for path, content in GENERATED_ELSEWHERE.items():
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, content=content))
    return files
