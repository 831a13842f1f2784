#!/usr/bin/env bash
# Compiles and lints every Bicep file in infra/ with the Bicep CLI from NuGet, and fails on any warning or error.
# Usage: scripts/check-infra.sh            (scripts/test.sh runs it before the tests)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/infra/tools/Bicep.CommandLine.csproj"

# The binary comes from the package Azure.Bicep.CommandLine.linux-x64 in the NuGet cache.
dotnet restore "$tools" --verbosity quiet >/dev/null
# One property asked for at a time: MSBuild then prints its bare value.
packages="$(dotnet msbuild "$tools" -getProperty:NuGetPackageRoot)"
version="$(dotnet msbuild "$tools" -getProperty:BicepVersion)"
bicep="${packages%/}/azure.bicep.commandline.linux-x64/$version/tools/bicep"
[ -x "$bicep" ] || chmod +x "$bicep"

cd "$repo"
count="$(find infra -name '*.bicep' | wc -l)"
if [ "$count" -eq 0 ]; then
  echo "check-infra: no .bicep files under infra/" >&2
  exit 1
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0
# Diagnostics, warnings included, are printed as "path(line,col) : Warning rule: text": any output at all fails.
for command in build lint; do
  if [ "$command" = build ]; then
    report="$("$bicep" build --pattern 'infra/**/*.bicep' --outdir "$out" 2>&1)" && status=0 || status=$?
  else
    report="$("$bicep" lint --pattern 'infra/**/*.bicep' 2>&1)" && status=0 || status=$?
  fi
  if [ "$status" -ne 0 ] || [ -n "$report" ]; then
    echo "bicep $command (exit $status):"
    echo "$report" | sed 's/^/  /'
    failed=1
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "check-infra: Bicep reported problems (Bicep $version)" >&2
  exit 1
fi
echo "check-infra: $count Bicep files build and lint clean (Bicep $version)"
