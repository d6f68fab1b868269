#!/usr/bin/env bash
# Create .venv (if missing) with the pinned boto3, aws CLI (v1, from PyPI), pytest and test issuer.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
# Pinned versions; a no-op when the venv already has exactly them.
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
.venv/bin/python -c "import boto3, botocore; print('boto3', boto3.__version__, 'botocore', botocore.__version__)"
.venv/bin/aws --version
