#!/usr/bin/env bash
# Point this clone at the study's DVC remote, outside git (.dvc/config.local), from the
# environment: STUDY_REMOTE_URL (e.g. s3://my-bucket/mnist-study) and, for an S3-compatible
# server other than AWS (MinIO, Ceph, ...), STUDY_REMOTE_ENDPOINT. S3 credentials come from
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or ~/.aws), which DVC reads itself.
set -euo pipefail
: "${STUDY_REMOTE_URL:?set STUDY_REMOTE_URL, e.g. s3://my-bucket/mnist-study}"
dvc remote add --local --force --default study "$STUDY_REMOTE_URL"
if [ -n "${STUDY_REMOTE_ENDPOINT:-}" ]; then
  dvc remote modify --local study endpointurl "$STUDY_REMOTE_ENDPOINT"
fi
