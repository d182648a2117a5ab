#!/usr/bin/env bash
# The conference demo through Janus (Debian's janus 1.1.2), the real SFU
# that cannot read: Janus runs with only the VideoRoom plugin and the HTTP
# transport inside a network namespace of its own, a short call goes
# through it (the same checks as with the embedded SFU), and Janus is
# stopped. Runs as root. Prints one summary line.
#
# Janus skips loopback interfaces when gathering ICE candidates, so the
# namespace gets a veth pair with 127.0.0.2 on `jv0`, and Janus is told to
# use only `jv0` (ice_enforce_list). Janus's socket then sends through
# jv0, so loopback addresses must be routable there (route_localnet) and
# accepted back on the peer end (accept_local); without these sendmsg
# fails with EINVAL, or the packets are dropped as martians.
set -euo pipefail
cd "$(dirname "$0")/.."

CODEC=${1:-vp8}
SECONDS_PER_CALL=${CONFERENCE_SECONDS:-4}
command -v janus >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends janus >/dev/null; }
command -v ip >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
cargo build --release -q -p conference
BIN=$PWD/target/release/conference
LIB=/usr/lib/x86_64-linux-gnu/janus
CONF=$(mktemp -d)
trap 'rm -rf "$CONF"' EXIT
mkdir -p "$CONF/plugins" "$CONF/transports" "$CONF/empty"
ln -s "$LIB/plugins/libjanus_videoroom.so" "$CONF/plugins/"
ln -s "$LIB/transports/libjanus_http.so" "$CONF/transports/"
cat >"$CONF/janus.jcfg" <<JCFG
general: {
  configs_folder = "$CONF"
  plugins_folder = "$CONF/plugins"
  transports_folder = "$CONF/transports"
  events_folder = "$CONF/empty"
  loggers_folder = "$CONF/empty"
  debug_level = 3
}
media: { ipv6 = false }
nat: {
  ice_enforce_list = "jv0"
  ignore_mdns = true
}
JCFG
cat >"$CONF/janus.transport.http.jcfg" <<JCFG
general: { base_path = "/janus", http = true, port = 8088, https = false }
admin: { admin_http = false }
JCFG
# No rooms configured: the demo creates its own.
echo 'general: { }' >"$CONF/janus.plugin.videoroom.jcfg"

cat >"$CONF/inside.sh" <<INSIDE
set -e
ip link set lo up
ip link add jv0 type veth peer name jv1
sysctl -qw net.ipv6.conf.jv0.disable_ipv6=1 net.ipv6.conf.jv1.disable_ipv6=1
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.jv0.route_localnet=1 net.ipv4.conf.jv1.route_localnet=1
sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.jv0.accept_local=1 net.ipv4.conf.jv1.accept_local=1
ip addr add 127.0.0.2/32 dev jv0
ip link set jv0 up
ip link set jv1 up
janus -C "$CONF/janus.jcfg" -F "$CONF" >"$CONF/janus.log" 2>&1 &
JANUS=\$!
trap 'kill \$JANUS 2>/dev/null; wait \$JANUS 2>/dev/null || true' EXIT
for _ in \$(seq 100); do
  python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8088/janus/info", timeout=1)' 2>/dev/null && break
  sleep 0.1
done
"$BIN" --sfu janus=http://127.0.0.1:8088/janus --codec $CODEC --seconds $SECONDS_PER_CALL --seed 7 >"$CONF/call.log" 2>&1
INSIDE
if ! unshare -n bash "$CONF/inside.sh"; then
  cat "$CONF/call.log" 2>/dev/null || true
  echo "--- janus log (tail)"
  tail -30 "$CONF/janus.log" 2>/dev/null || true
  echo "the call through Janus failed"
  exit 1
fi
echo "janus $CODEC: $(grep '^VERDICT' "$CONF/call.log" | cut -c1-60)... | $(grep '^Janus' "$CONF/call.log")"
