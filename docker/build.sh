#!/usr/bin/env bash
# Build the training image offline (wheels fetched on the host into the build context), tagged
# airflow-mlops-train:<content hash>; a second run with unchanged inputs builds nothing.
# Usage: docker/build.sh [--base IMAGE] [--base-has-torch] [--tag NAME] [--force]
# Prints the image reference and its id as JSON on the last line. Used by CI and the demo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$python" ] || python=python3
exec "$python" -m airflow_mlops.training.image --repo "$repo" "$@"
