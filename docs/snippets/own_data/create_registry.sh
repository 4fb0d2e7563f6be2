#!/usr/bin/env bash
# Create a DVC data registry: a git repository whose dataset versions DVC tracks, the data
# itself in a DVC remote (a directory, or s3://bucket/prefix).
# Usage: create_registry.sh REGISTRY_DIR REMOTE_URL [S3_ENDPOINT_URL]
set -euo pipefail
registry=$1 remote=$2 endpoint=${3:-}

mkdir -p "$registry"
cd "$registry"
git init -q -b main
dvc init -q
dvc config core.analytics false
dvc remote add -d storage "$remote"
if [ -n "$endpoint" ]; then  # an S3-compatible store other than AWS (MinIO, ...)
  dvc remote modify storage endpointurl "$endpoint"
fi
git add .dvc .dvcignore
git commit -q -m "DVC data registry"
