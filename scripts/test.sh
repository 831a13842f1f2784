#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "Tests: N passed, N failed, N skipped".
# The AppHost tests start the real system on local PostgreSQL and RabbitMQ, so those are installed first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/prerequisites.sh
source "$repo/scripts/prerequisites.sh"

ensure_local_servers always
cd "$repo"

results="$repo/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

set +e
dotnet test PersonaGym.sln --logger "console;verbosity=normal" --logger trx --results-directory "$results" "$@"
status=$?
set -e

# Sum the counters of every project's TRX file. Errors, timeouts and aborts count as failures;
# "not executed" are the skipped tests.
read -r passed failed skipped < <(
  find "$results" -name '*.trx' -print0 | xargs -0 -r grep -h -o '<Counters [^>]*>' |
  awk '
    function count(name,   m) { return match($0, " " name "=\"[0-9]+\"") ? substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 4) + 0 : 0 }
    { p += count("passed"); f += count("failed") + count("error") + count("timeout") + count("aborted"); s += count("notExecuted") }
    END { print p + 0, f + 0, s + 0 }'
)

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status (build or test host failure; see above)" >&2
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  exit 1
fi
