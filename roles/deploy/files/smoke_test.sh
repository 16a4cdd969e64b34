#!/usr/bin/env bash
# Smoke test of a running Stratum API (the runbook's scripts/smoke_test.sh):
#   BASE_URL=http://localhost:8000 ./smoke_test.sh
# Checks the health endpoints and one API call; prints one line per check; exits non-zero on any failure.
# Optional: EXPECT_VERSION (the version /health/detailed must report), SMOKE_TIMEOUT (seconds per request),
# SMOKE_API_PATH (the API call, default /api/v1/status), SMOKE_INSECURE=1 (skip TLS verification).
set -u
BASE_URL="${BASE_URL:?set BASE_URL, e.g. BASE_URL=http://localhost:8000}"
BASE_URL="${BASE_URL%/}"
TIMEOUT="${SMOKE_TIMEOUT:-10}"
API_PATH="${SMOKE_API_PATH:-/api/v1/status}"
EXPECT_VERSION="${EXPECT_VERSION:-}"
CURL_OPTS=(--silent --show-error --max-time "$TIMEOUT" --output /dev/stderr --write-out '%{http_code}')
if [ "${SMOKE_INSECURE:-0}" = "1" ]; then CURL_OPTS+=(--insecure); fi

failures=0
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT

check() {
  local path="$1" code
  code=$(curl "${CURL_OPTS[@]}" "$BASE_URL$path" 2>"$body_file") || code="000"
  if [ "$code" = "200" ]; then
    echo "PASS $path ($code)"
  else
    echo "FAIL $path (HTTP $code) $(head -c 300 "$body_file" | tr '\n' ' ')"
    failures=$((failures + 1))
  fi
}

check /health
check /health/live
check /health/ready
check /health/detailed
if [ -n "$EXPECT_VERSION" ] && ! grep -q '"version"' "$body_file"; then
  echo "SKIP /health/detailed reports no version"
elif [ -n "$EXPECT_VERSION" ]; then
  if grep -q "\"version\": *\"$EXPECT_VERSION\"" "$body_file"; then
    echo "PASS /health/detailed reports version $EXPECT_VERSION"
  else
    echo "FAIL /health/detailed does not report version $EXPECT_VERSION: $(head -c 300 "$body_file" | tr '\n' ' ')"
    failures=$((failures + 1))
  fi
fi
check "$API_PATH"

if [ "$failures" -gt 0 ]; then
  echo "smoke test FAILED against $BASE_URL: $failures check(s) failed"
  exit 1
fi
echo "smoke test passed against $BASE_URL"
