#!/usr/bin/env bash
# Configures and starts the bumless agent of a Vagrant VM as the systemd service bumless-agent:
# this host's mesh certificate and key and the CA certificate (staged by the Vagrantfile's file
# provisioners; never ca.key) to /etc/bumless/pki, /etc/bumless/agent.json (schema:
# src/config/schema.ts), the unit file, then waits until the agent answers GET /readyz with 200.
#
# usage: start-agent.sh --host-id vm1 --ip 192.168.56.11 [--peer vm2=192.168.56.12]... \
#                       [--pki DIR] [--remove-pki yes|no] [--encap vxlan]
#   --pki DIR          holds ca.crt, <host-id>.crt and <host-id>.key
#   --remove-pki yes   deletes those three from DIR once installed, so the key has one copy (Vagrant staging)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

HOST_ID="" IP="" PKI="$here/.pki" REMOVE_PKI=no ENCAP=vxlan PEERS=()
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "start-agent.sh: option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --host-id) HOST_ID=$2 ;;
    --ip) IP=$2 ;;
    --peer) PEERS+=("$2") ;;
    --pki) PKI=$2 ;;
    --remove-pki) REMOVE_PKI=$2 ;;
    --encap) ENCAP=$2 ;;
    *) echo "start-agent.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
if [ -z "$HOST_ID" ] || [ -z "$IP" ]; then
  echo "start-agent.sh: --host-id and --ip are required" >&2
  exit 2
fi
for f in ca.crt "$HOST_ID.crt" "$HOST_ID.key"; do
  [ -f "$PKI/$f" ] || { echo "start-agent.sh: $PKI/$f is missing (the Vagrantfile makes it with vagrant/pki.rb; run vagrant provision again)" >&2; exit 1; }
done

# curl waits for /readyz here and registers the containers in demo-containers.sh.
command -v curl >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends curl ca-certificates >/dev/null
}

install -d -m 755 /etc/bumless /var/lib/bumless
install -d -m 700 /etc/bumless/pki
install -m 644 "$PKI/ca.crt" /etc/bumless/pki/ca.crt
install -m 644 "$PKI/$HOST_ID.crt" /etc/bumless/pki/mesh.crt
install -m 600 "$PKI/$HOST_ID.key" /etc/bumless/pki/mesh.key
if [ "$REMOVE_PKI" = yes ]; then
  rm -f "$PKI/ca.crt" "$PKI/$HOST_ID.crt" "$PKI/$HOST_ID.key"
  rmdir "$PKI" 2>/dev/null || true
fi

# The agent must use the datapath provision-host.sh gave br-int (system with the kernel module, netdev without).
datapath=$(ovs-vsctl get bridge br-int datapath_type | tr -d '"')
[ -n "$datapath" ] || datapath=system

peers=""
for p in "${PEERS[@]}"; do
  id=${p%%=*} addr=${p#*=}
  peers="$peers${peers:+,}
      { \"hostId\": \"$id\", \"url\": \"wss://$addr:7471\" }"
done
cat >/etc/bumless/agent.json.new <<JSON
{
  "hostId": "$HOST_ID",
  "vtepIp": "$IP",
  "bridge": "br-int",
  "encap": "$ENCAP",
  "tunnelPort": "tun0",
  "dataDir": "/var/lib/bumless",
  "ovs": { "db": "unix:/var/run/openvswitch/db.sock", "datapathType": "$datapath", "rundir": "/var/run/openvswitch" },
  "api": { "listen": "$IP:8080" },
  "mesh": {
    "listen": "$IP:7471",
    "tls": { "ca": "/etc/bumless/pki/ca.crt", "cert": "/etc/bumless/pki/mesh.crt", "key": "/etc/bumless/pki/mesh.key" },
    "peers": [$peers
    ]
  }
}
JSON
# Validated by the agent's own schema before it replaces a working configuration.
bumless agent --config /etc/bumless/agent.json.new --check
mv /etc/bumless/agent.json.new /etc/bumless/agent.json

install -m 644 "$here/bumless-agent.service" /etc/systemd/system/bumless-agent.service
systemctl daemon-reload
systemctl enable bumless-agent.service >/dev/null 2>&1
# A restart keeps traffic flowing: the agent reads the installed flows back and changes none that are right.
systemctl restart bumless-agent.service

for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "http://$IP:8080/readyz"; then
    echo "bumless agent $HOST_ID ready: API http://$IP:8080, admin token in /var/lib/bumless/admin.token"
    exit 0
  fi
  systemctl is-failed --quiet bumless-agent.service && break
  sleep 0.5
done
echo "start-agent.sh: the agent did not become ready; its log:" >&2
journalctl -u bumless-agent.service -n 30 --no-pager >&2 || true
exit 1
