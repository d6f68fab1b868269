#!/usr/bin/env bash
# Create .venv with boto3, the aws CLI (v1, from PyPI) and pytest, unless already complete.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/aws ] || ! .venv/bin/python -c "import boto3, pytest, oidc_provider_mock, httpx" 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
fi
.venv/bin/python -c "import boto3, botocore; print('boto3', boto3.__version__, 'botocore', botocore.__version__)"
.venv/bin/aws --version
