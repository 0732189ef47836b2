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
node "$cli" start "$@"
# Once per project: the manager under PM2 dies with PM2's own daemon; say how to supervise it from outside.
project="$PWD" hint=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --cwd) project="${2:-$project}"; shift ;;
    --cwd=*) project="${1#--cwd=}" ;;
    --foreground|--dry-run|--quiet|--json) hint=no ;;
  esac
  shift
done
# The dashboard's address, once the manager's listener is up (it starts right after the first report).
if [ "$hint" = yes ]; then
  for _ in 1 2 3 4; do
    line="$(node "$cli" --cwd "$project" status --json 2>/dev/null | node -e '
      let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
        let http; try { http = JSON.parse(t).manager.http; } catch {}
        if (!http) return;
        if (http.error) return console.log(`redundancy: dashboard not served: ${http.error}`);
        const loopback = /^(127\.|\[::1\]|localhost)/.test(http.listen);
        console.log(`redundancy: dashboard at http://${http.listen}/` + (loopback ? "" : ` (first visit: http://${http.listen}/?token=<http.token>)`));
      });' || true)"
    if [ -n "$line" ]; then echo "$line"; break; fi
    sleep 0.25
  done
fi
shown="$project/.redundancy/startup-hint-shown"
if [ "$hint" = yes ] && [ -d "$project/.redundancy" ] && [ ! -e "$shown" ]; then
  cat >&2 <<EOF
redundancy: the manager runs as the PM2 app redundancy-manager, so it dies with PM2's own daemon
  (kill -9, the OOM killer) and nothing brings it back. To supervise it from outside PM2:
    node $cli --cwd $project startup          # a systemd unit (root: system-wide; else systemctl --user)
    node $cli --cwd $project startup cron     # where systemd does not run: @reboot and every minute
  See "Surviving PM2's own daemon" in the README. (Said once; $shown remembers.)
EOF
  : > "$shown" || true
fi
