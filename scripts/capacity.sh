#!/bin/bash
# Runs every workload of tmate-relay-load at each session count, one after
# the other on a fresh relay (scripts/load.sh), and prints one Markdown
# table of the figures docs/capacity.md gives. Each session has one ssh and
# one browser guest. Raw JSON lines go to var/load/capacity.jsonl.
#
#   scripts/capacity.sh [SESSIONS...]        default: 500 1000 2000
#   WORKLOADS="steady flood" DURATION=30s scripts/capacity.sh 2000
set -eu
command -v jq >/dev/null || { echo "capacity.sh: needs jq (apt-get install jq)" >&2; exit 2; }
sessions=${*:-500 1000 2000}
workloads=${WORKLOADS:-idle steady flood churn restart}
out=var/load/capacity.jsonl
mkdir -p var/load
: > $out
# How long each workload runs: the flood needs about 20 s at the shipped
# host_output_rate, the restart the reconnection of every host.
duration() {
	[ -n "${DURATION:-}" ] && { echo "$DURATION"; return; }
	case $1 in
	idle) echo 20s ;;
	restart) echo 60s ;;
	*) echo 45s ;;
	esac
}
for n in $sessions; do
	for w in $workloads; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		echo "== $w, $n sessions, load average $load" >&2
		line=$(scripts/load.sh -sessions "$n" -guests-per-session 1 -web-guests-per-session 1 \
			-workload "$w" -duration "$(duration "$w")" -churn-rate 20 -json | tail -1) || true
		echo "$line" | jq -c --arg load "$load" --arg at "$(date -u +%H:%M)" '. + {load_avg: $load, at: $at}' >> $out
	done
done
echo "| workload | sessions | guests | at (UTC) | load avg | errors | p50 ms | p99 ms | p99.9 ms | relay RSS MB (peak) | relay CPU s | fds | bytes/guest | other |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
jq -r 'def r1: (. * 10 | round) / 10;
	[.workload, .sessions, .guests, .at, .load_avg, .errors,
	(if .lat_samples > 0 then .lat_p50_ms | r1 else "–" end),
	(if .lat_samples > 0 then .lat_p99_ms | r1 else "–" end),
	(if .lat_samples > 0 then .lat_p999_ms | r1 else "–" end),
	"\(.relay_rss_bytes / 1e6 | round) (\(.relay_peak_rss_bytes / 1e6 | round))",
	(.relay_cpu_seconds | r1), .fds, .bytes_per_guest,
	([ "setup \(.setup_s | r1) s", "generator \(.generator_cpu_seconds | r1) CPU s" ]
	 + (if .flood_s then ["100 MB in \(.flood_s | r1) s, others meanwhile p50 \(.lat_flood_p50_ms | r1) / p99 \(.lat_flood_p99_ms | r1) ms"] else [] end)
	 + (if .churn_joins then ["\(.churn_joins) guests joined and left"] else [] end)
	 + (if .workload == "restart" then ["every host back \(.reconnect_all_s | r1) s after SIGTERM"] else [] end)
	 | join("; "))] | "| " + (map(tostring) | join(" | ")) + " |"' $out
