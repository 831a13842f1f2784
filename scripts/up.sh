#!/usr/bin/env bash
# Brings PersonaGym up on this machine and runs a first evaluation on it:
#   1. installs PostgreSQL and RabbitMQ when there is no container runtime and they are missing;
#   2. starts the Aspire AppHost (Postgres, RabbitMQ, the Api, question-generator, agent-runner, judge×2, the web app,
#      dashboard);
#   3. once the Api is healthy, submits an evaluation of samples/personas.txt through it with the `personagym` CLI,
#      follows its progress and prints the PersonaScores (offline models unless configured: not an evaluation);
#   4. keeps the system running until Ctrl+C.
# The Api needs a key: up.sh gives the AppHost a first operator key ($PERSONAGYM_API_KEY, else the one kept in
# artifacts/api-key, made on first use, readable only by you) and prints how to use it, never the key itself.
# Options: --no-demo skips step 3. Everything else goes to the AppHost, e.g. scripts/up.sh --Judge:Replicas=4
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/prerequisites.sh
source "$repo/scripts/prerequisites.sh"

demo=yes
apphost_args=()
for arg in "$@"; do
  if [ "$arg" = "--no-demo" ]; then demo=""; else apphost_args+=("$arg"); fi
done

ensure_local_servers
if ! command -v curl > /dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "curl is missing: sudo apt-get install -y curl" >&2; exit 1; }
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl
fi
cd "$repo"

api="${PERSONAGYM_API_URL:-http://localhost:5180}"
web="${PERSONAGYM_WEB_URL:-http://localhost:5190}"
log="$repo/artifacts/apphost.log"
mkdir -p "$repo/artifacts"

key_file="$repo/artifacts/api-key"
if [ -z "${PERSONAGYM_API_KEY:-}" ]; then
  if [ ! -s "$key_file" ]; then
    (umask 077 && printf 'pgk_%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '=\n' | tr '+/' '-_')" > "$key_file")
  fi
  PERSONAGYM_API_KEY="$(cat "$key_file")"
fi
export PERSONAGYM_API_KEY

echo "Building PersonaGym…"
dotnet build PersonaGym.sln -v quiet -nologo

echo "Starting the AppHost (log: $log)…"
# Its own process group (job control on), so a stop reaches `dotnet run` and the AppHost under it alike,
# as Ctrl+C in a terminal would.
set -m
# The key goes through the environment (not the command line, which every user of the machine can read).
env "Parameters__api-key=$PERSONAGYM_API_KEY" dotnet run --no-build --project AppHost -- "${apphost_args[@]}" > "$log" 2>&1 &
apphost=$!
set +m
tail -n +1 -f "$log" --pid "$apphost" | grep --line-buffered -E "Login to the dashboard|fail:|crit:|Unhandled|error" &
stop() {
  trap - INT TERM EXIT
  if kill -0 "$apphost" 2> /dev/null; then
    echo "Stopping PersonaGym…"
    kill -TERM -- "-$apphost" 2> /dev/null || true
    wait "$apphost" 2> /dev/null || true
  fi
}
trap stop INT TERM EXIT

echo "Waiting for the Api at $api …"
for _ in $(seq 1 300); do
  if ! kill -0 "$apphost" 2> /dev/null; then
    echo "The AppHost stopped during start-up; see $log" >&2
    exit 1
  fi
  if curl -fsS "$api/health" > /dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "$api/health" > /dev/null || { echo "The Api did not become healthy in 5 minutes; see $log" >&2; exit 1; }

if [ -n "$demo" ]; then
  mkdir -p "$repo/results"
  echo "Submitting an evaluation of samples/personas.txt to $api …"
  dotnet run --no-build --project Services/PersonaGym.Cli -- run --server "$api" \
    --personas samples/personas.txt --questions-per-task 3 --name first-run \
    --output results/first-run.md --output results/first-run.json || echo "The first run did not complete; see above." >&2
fi

# The web app starts after the Api; say where it is once it answers.
for _ in $(seq 1 120); do
  if curl -fsS "$web/health" > /dev/null 2>&1; then break; fi
  kill -0 "$apphost" 2> /dev/null || break
  sleep 1
done

echo
echo "PersonaGym is running. Api: $api (OpenAPI: $api/openapi/v1.json)"
if curl -fsS "$web/health" > /dev/null 2>&1; then
  echo "Web app: $web  (runs live, every verdict, leaderboard, start a run, rate answers)"
else
  echo "The web app did not answer at $web yet; see $log" >&2
fi
grep -m1 -o "Login to the dashboard at .*" "$log" || true
if [ -s "$key_file" ] && [ "$(cat "$key_file")" = "$PERSONAGYM_API_KEY" ]; then
  echo "The Api wants a key. An operator key is in $key_file: export PERSONAGYM_API_KEY=\$(cat $key_file)"
else
  echo "The Api wants a key: your \$PERSONAGYM_API_KEY is its operator key."
fi
echo "  Sign in to the web app ($web/signin) by pasting that key (cat $key_file, or your \$PERSONAGYM_API_KEY): it signs you in as an operator."
echo "  (HTTP: send it as the X-Api-Key header. More keys, e.g. read-only ones for people who only read results:"
echo "   personagym keys create --db … --name NAME --role reader; see docs/security.md)"
echo "Submit runs with: dotnet run --project Services/PersonaGym.Cli -- run --server $api --persona \"…\""
echo "Press Ctrl+C to stop everything."
wait "$apphost"
