# Sourced by up.sh and test.sh: installs the local PostgreSQL and RabbitMQ servers when they are missing.
# The AppHost runs them itself (Infrastructure:Mode=local) on free loopback ports; see docs/running.md.

postgres_installed() {
  compgen -G "/usr/lib/postgresql/*/bin/postgres" > /dev/null || command -v postgres > /dev/null
}

rabbitmq_installed() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server > /dev/null
}

container_runtime_answers() {
  for runtime in docker podman; do
    if command -v "$runtime" > /dev/null && timeout 5 "$runtime" info > /dev/null 2>&1; then
      return 0
    fi
  done
  return 1
}

# ensure_local_servers [always]
#   Without 'always', nothing is installed when a container runtime answers (the AppHost then uses containers).
ensure_local_servers() {
  if [ "${1:-}" != "always" ] && container_runtime_answers; then
    return 0
  fi

  local packages=()
  postgres_installed || packages+=(postgresql)
  rabbitmq_installed || packages+=(rabbitmq-server)
  [ ${#packages[@]} -eq 0 ] && return 0

  if ! command -v apt-get > /dev/null; then
    echo "Missing: ${packages[*]}. Install them with your package manager (the AppHost runs them itself)." >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing: ${packages[*]}. Run this script with sudo, or: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi

  echo "Installing ${packages[*]} (run by the AppHost on its own ports, not as system services)"
  # Debian starts a package's system service on install; ours would only take memory and, for
  # RabbitMQ, the default ports. policy-rc.d is Debian's switch for 'do not start services now'.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=yes
  fi
  local installed=yes
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" || installed=""
  if [ -n "$created_policy" ]; then rm -f "$policy"; fi
  if [ -z "$installed" ]; then
    echo "Installing ${packages[*]} failed (see above)." >&2
    exit 1
  fi

  # Where systemd starts it regardless, stop and disable the system broker we just installed.
  if [[ " ${packages[*]} " == *" rabbitmq-server "* ]] && command -v systemctl > /dev/null \
     && systemctl is-active --quiet rabbitmq-server 2> /dev/null; then
    systemctl disable --now rabbitmq-server
  fi
}

# ensure_chromium: the browser tests drive Debian's Chromium through Playwright (Playwright cannot download
# a browser of its own here). Installs the 'chromium' package when no Chromium is found.
ensure_chromium() {
  if [ -n "${PERSONAGYM_CHROMIUM:-}" ] && [ -x "$PERSONAGYM_CHROMIUM" ]; then return 0; fi
  if command -v chromium > /dev/null || command -v chromium-browser > /dev/null; then return 0; fi
  if ! command -v apt-get > /dev/null; then
    echo "Missing: Chromium (for the browser tests). Install it, or set PERSONAGYM_CHROMIUM to its executable." >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing: Chromium (for the browser tests). Run this script with sudo, or: sudo apt-get install -y chromium" >&2
    exit 1
  fi
  echo "Installing chromium (for the browser tests)"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium || {
    echo "Installing chromium failed (see above)." >&2
    exit 1
  }
}
