#!/bin/sh
# A job you can break on demand: `touch automation/heartbeat.fail` (rm it to mend). The twin
# (REDUNDANCY_ROLE is not set for cron jobs; the ledger says which side ran) writes the same file.
set -eu
if [ -e automation/heartbeat.fail ]; then
  echo "heartbeat: failing on purpose (automation/heartbeat.fail)" >&2
  exit 1
fi
mkdir -p logs
date -u +%Y-%m-%dT%H:%M:%SZ >> logs/heartbeat.txt
