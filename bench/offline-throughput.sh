#!/usr/bin/env bash
# Measures the pipeline's own overhead: a whole evaluation in one process with the offline model (no network, so
# the numbers are PersonaGym's cost per call: scheduling, storage, parsing, scoring), on a fresh SQLite database.
# Usage: bench/offline-throughput.sh [PERSONAS=20] [QUESTIONS_PER_TASK=10] [AGENTS=1]
# Reports wall time, LLM calls and calls per second. Numbers, not assertions: tests never time anything.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
personas="${1:-20}"
questions="${2:-10}"
agents="${3:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

dotnet build "$repo/Services/PersonaGym.Cli" -c Release -v quiet -nologo > /dev/null
cli=("dotnet" "$repo/Services/PersonaGym.Cli/bin/Release/net10.0/personagym.dll")

for i in $(seq 1 "$personas"); do
  echo "A $((20 + i % 50))-year-old test persona number $i who keeps bees and plays the cello"
done > "$work/personas.txt"
agent_args=()
for a in $(seq 1 "$agents"); do agent_args+=(--agent "offline:agent-$a"); done

start=$(date +%s.%N)
"${cli[@]}" run --db "$work/bench.db" --personas "$work/personas.txt" -n "$questions" "${agent_args[@]}" \
  --output "$work/result.json" > "$work/out.txt"
end=$(date +%s.%N)

calls=$(python3 -c "import json;print(json.load(open('$work/result.json'))['usage']['calls'])" 2>/dev/null || grep -o '[0-9]* LLM calls' "$work/out.txt" | tail -1 | cut -d' ' -f1)
seconds=$(python3 -c "print(round($end - $start, 2))")
echo "personas=$personas questions_per_task=$questions agents=$agents"
echo "wall_seconds=$seconds llm_calls=$calls calls_per_second=$(python3 -c "print(round($calls / ($end - $start), 1))")"
