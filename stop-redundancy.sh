#!/usr/bin/env bash
# Stops the redundancy manager; the active side of every unit keeps running. Flags pass through to `redundancy stop`:
#   --cleanup   also remove the twins, the manager app and the state   --force   kill instead of a clean stop
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/dist/cli/main.js" stop "$@"
