#!/usr/bin/env bash
# Starts PersonaGym on this machine: the Aspire AppHost with Postgres, RabbitMQ and every service.
# Installs the local servers first when there is no container runtime and they are missing.
# Arguments go to the AppHost, e.g.: scripts/up.sh --Judge:Replicas=4
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/prerequisites.sh
source "$repo/scripts/prerequisites.sh"

ensure_local_servers
cd "$repo"
exec dotnet run --project AppHost "$@"
