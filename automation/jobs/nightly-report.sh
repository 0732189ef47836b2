#!/bin/sh
# Counts the heartbeats written so far; the header comes on stdin (the crontab line's `%` part).
set -eu
mkdir -p logs
read -r header || header='report'
count=$(wc -l < logs/heartbeat.txt 2>/dev/null || echo 0)
printf '%s: %s heartbeats\n' "$header" "$count" > logs/nightly-report.txt
