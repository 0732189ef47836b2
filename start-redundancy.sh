#!/usr/bin/env bash
# Starts the redundancy manager under PM2 for this directory (or --cwd DIR); flags pass through to `redundancy start`.
#   ./start-redundancy.sh                 install if needed, start the manager, register the twins
#   ./start-redundancy.sh --foreground    run the manager in this terminal
#   ./start-redundancy.sh status [--json] print the status instead
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="$here/dist/cli/main.js"
if [ ! -f "$cli" ]; then
  echo "redundancy: first run: installing dependencies and building (npm install)" >&2
  (cd "$here" && npm install --no-audit --no-fund >&2)
fi
if [ "${1:-}" = "status" ]; then
  shift
  exec node "$cli" status "$@"
fi
exec node "$cli" start "$@"
