#!/bin/bash
# Runs tmate-relay-load (bin/tmate-relay-load) with the flags given.
#
# With ADDR set, it drives the relay at ADDR as it is (give -web, -relay-pid
# and -restart-cmd yourself). Without, it starts bin/tmate-relay on
# 127.0.0.1:11022 (web 11080) with var/load/relay.toml, written here once:
# the shipped limits, except max_sessions, raised so that runs above the
# shipped 1000 sessions measure the relay rather than its cap. The
# per-address limits stay as shipped: every session connects from its own
# 127.x.y.z address, as users on their own machines would.
set -eu
LOAD=bin/tmate-relay-load
if [ -n "${ADDR:-}" ]; then
	exec $LOAD -addr "$ADDR" "$@"
fi
dir=var/load
conf=$dir/relay.toml
mkdir -p $dir
rm -f $dir/relay.pid
if [ ! -f $conf ]; then
	cat > $conf <<CONF
# Written by make load (scripts/load.sh); edit freely.
[ssh]
listen = "127.0.0.1:11022"
advertise_host = "127.0.0.1"
advertise_port = 11022
host_keys_dir = "$PWD/$dir/keys"
[web]
listen = "127.0.0.1:11080"
[limits]
max_sessions = 10000
[log]
level = "warn"
CONF
fi
bin/tmate-relay keygen -c $conf >/dev/null
# The relay writes its PID on each start, so that the restart workload's
# relay is stopped at the end too.
start="sh -c 'echo \$\$ > $dir/relay.pid; exec bin/tmate-relay serve -c $conf' >>$dir/relay.log 2>&1"
eval "$start &"
stop() {
	pid=$(cat $dir/relay.pid 2>/dev/null || true)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 100); do
	[ -s $dir/relay.pid ] && (exec 3<>/dev/tcp/127.0.0.1/11022) 2>/dev/null && break
	sleep 0.1
done
$LOAD -addr 127.0.0.1:11022 -web http://127.0.0.1:11080 -relay-pid "$(cat $dir/relay.pid)" -restart-cmd "$start" "$@"
