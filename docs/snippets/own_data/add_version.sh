#!/usr/bin/env bash
# Publish a new version of a dataset: copy the file in, track it with DVC, commit, tag, push.
# The CT pipeline trains on `main`; the data-arrival sensor notices the new commit.
# Usage: add_version.sh REGISTRY_DIR DATA_PATH NEW_FILE TAG
set -euo pipefail
registry=$1 path=$2 file=$3 tag=$4

cd "$registry"
mkdir -p "$(dirname "$path")"
cp "$file" "$path"
dvc add -q "$path"
git add "$path.dvc" "$(dirname "$path")/.gitignore"
git commit -q -m "Dataset $tag"
git tag "$tag"
dvc push -q  # the data to the remote; the git repository only holds its md5
