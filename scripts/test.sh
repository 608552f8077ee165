#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, formatting, lints, then
# every test of every crate (unit, conformance suites, end-to-end tests
# against the real server with real clients).
set -euo pipefail
cd "$(dirname "$0")/.."

# The S3 tests find awscli, boto3 and s3tests in this virtualenv.
export S3_TEST_VENV=${S3_TEST_VENV:-$HOME/.cache/dittofs/test-venv}
scripts/test-deps.sh
# The PostgreSQL metadata store is tested against a real server.
scripts/test-postgres.sh

export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

cargo fmt --all -- --check
# aws-lc-sys alone is a tenth of a clean build; TLS goes through ring.
if cargo tree --workspace --locked -i aws-lc-sys >/dev/null 2>&1; then
  echo "aws-lc-sys is in the dependency graph (cargo tree -i aws-lc-sys); keep TLS on ring" >&2
  exit 1
fi
cargo clippy --workspace --all-targets --locked -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
