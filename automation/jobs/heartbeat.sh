#!/bin/sh
# A job you can break on demand: `touch automation/heartbeat.fail` makes the primary fail (rm it to
# mend). Its twin, run by the manager with REDUNDANCY_ROLE=backup, still writes the heartbeat.
set -eu
if [ "${REDUNDANCY_ROLE:-primary}" != backup ] && [ -e automation/heartbeat.fail ]; then
  echo "heartbeat: failing on purpose (automation/heartbeat.fail)" >&2
  exit 1
fi
mkdir -p logs
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ${REDUNDANCY_ROLE:-primary}" >> logs/heartbeat.txt
