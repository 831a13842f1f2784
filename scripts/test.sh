#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "Tests: N passed, N failed, N skipped".
# The AppHost and browser tests start the real system on local PostgreSQL and RabbitMQ, and the browser tests drive
# Chromium: those are installed first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/prerequisites.sh
source "$repo/scripts/prerequisites.sh"

ensure_local_servers always
ensure_chromium
cd "$repo"

# The whole-system tests start every service with 'dotnet run'; on a machine without internet, nothing there
# should wait on the SDK's update checks or telemetry.
export DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE="${DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE:-1}"
export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

# The Bicep in infra/ compiles and lints without a warning (scripts/check-infra.sh) before any test runs.
bash "$repo/scripts/check-infra.sh"

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

# The failures again, at the end where a reader (or a CI log tail) sees them: name, then the start of the message.
if [ "$failed" -ne 0 ]; then
  echo
  echo "Failed tests:"
  find "$results" -name '*.trx' -print0 | xargs -0 -r awk '
    BEGIN { RS = "</UnitTestResult>" }
    function decode(text) {
      gsub(/&#xD;/, "", text); gsub(/&lt;/, "<", text); gsub(/&gt;/, ">", text)
      gsub(/&quot;/, "\"", text); gsub(/&apos;/, "\047", text); gsub(/&amp;/, "\\&", text)
      return text
    }
    {
      # Passed tests are mostly self-closing elements: the result this record closes is its last one.
      n = split($0, chunk, "<UnitTestResult ")
      result = chunk[n]
      # The outcome is an attribute of the result element itself: its opening tag only (the run summary after the last
      # result also says outcome="Failed").
      head = substr(result, 1, index(result, ">"))
      if (n < 2 || head !~ /outcome="(Failed|Error|Timeout|Aborted)"/) next
      name = result; sub(/^.*testName="/, "", name); sub(/".*/, "", name)
      message = ""
      if (match(result, /<Message>[^<]*<\/Message>/)) message = substr(result, RSTART + 9, RLENGTH - 19)
      message = decode(message)
      name = decode(name)
      print "  - " name
      # Tests failing for one cause (a fixture that did not start) share a message: it is printed once.
      if (message in first) { print "      (the same message as " first[message] ")"; next }
      first[message] = name
      lines = split(message, part, "\n")
      for (i = 1; i <= lines && i <= 50; i++) print "      " part[i]
      if (lines > 50) print "      ... (" lines - 50 " more lines in the TRX file)"
      # Where it was thrown: the first frames of the stack trace (a bare "operation was canceled" says nothing alone).
      if (match(result, /<StackTrace>[^<]*<\/StackTrace>/)) {
        frames = split(decode(substr(result, RSTART + 12, RLENGTH - 25)), frame, "\n")
        for (i = 1; i <= frames && i <= 15; i++) print "      " frame[i]
        if (frames > 15) print "      ... (" frames - 15 " more frames in the TRX file)"
      }
    }'
  echo
fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status (build or test host failure; see above)" >&2
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  exit 1
fi
