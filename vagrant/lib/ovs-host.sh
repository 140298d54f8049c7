#!/usr/bin/env bash
# Open vSwitch host setup shared by `bumless lab` and the Vagrant VMs: the one place where the recipe in
# shared/notes/ovs-userspace-lab.md (userspace datapath, br-phy carrying the underlay IP, flow-based
# tunnel port, checksum offload off in containers) is written down as commands.
#
# The lab runs it with a private Open vSwitch per host (--dir D: database, sockets, pidfiles and logs
# in D, daemons inside the host's namespace --netns H, --datapath netdev). A Vagrant VM runs the same
# subcommands against the system Open vSwitch (default --db, no --netns, --datapath system).
#
# usage: ovs-host.sh SUBCOMMAND [--option VALUE]...
#   ovs-start      --dir D [--netns H]            start ovsdb-server + ovs-vswitchd for D (idempotent)
#   ovs-stop       --dir D                        stop the daemons of D (by pidfile)
#   bridges        --ip A/P --encap E [--phy-dev DEV] [--db DB] [--datapath T] [--netns H]
#                                                 br-phy with the underlay IP, br-int (secure, OpenFlow13,
#                                                 no flows) and the flow-based tunnel port (idempotent)
#   container-add  --cns C --port P --ip A/P --mac M --mtu N [--db DB] [--netns H] [--iface-id ID]
#                                                 namespace C with eth0, its peer P on br-int (idempotent)
#   container-del  --cns C --port P [--db DB] [--netns H]
# Common options: --bridge (br-int), --tunnel (tun0).
set -euo pipefail

SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

sub=${1:-}
[ -n "$sub" ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
shift

DIR="" NETNS="" DB="" DATAPATH=system BRIDGE=br-int TUNNEL=tun0 PHY_DEV="" IP="" ENCAP=""
CNS="" PORT="" MAC="" MTU="" IFACE_ID=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "ovs-host.sh: option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --dir) DIR=$2 ;;
    --netns) NETNS=$2 ;;
    --db) DB=$2 ;;
    --datapath) DATAPATH=$2 ;;
    --bridge) BRIDGE=$2 ;;
    --tunnel) TUNNEL=$2 ;;
    --phy-dev) PHY_DEV=$2 ;;
    --ip) IP=$2 ;;
    --encap) ENCAP=$2 ;;
    --cns) CNS=$2 ;;
    --port) PORT=$2 ;;
    --mac) MAC=$2 ;;
    --mtu) MTU=$2 ;;
    --iface-id) IFACE_ID=$2 ;;
    *) echo "ovs-host.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done

if [ -n "$DIR" ]; then
  # A private Open vSwitch: every socket, pidfile and log stays in DIR (<bridge>.mgmt included),
  # nothing touches the system's /var/run/openvswitch.
  export OVS_RUNDIR=$DIR OVS_LOGDIR=$DIR OVS_DBDIR=$DIR
  [ -n "$DB" ] || DB="unix:$DIR/db.sock"
fi
[ -n "$DB" ] || DB="unix:/var/run/openvswitch/db.sock"

need() { [ -n "$2" ] || { echo "ovs-host.sh $sub: $1 is required" >&2; exit 2; }; }

# Runs a command in the host's namespace (or here when there is none).
in_ns() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

vsctl() { ovs-vsctl --db="$DB" --timeout=30 "$@"; }

# Lab only (--netns): the host namespace's own Linux interfaces (the underlay veth, br-phy, the host-side
# ends of container veths) need no IPv6, and with it each sends router solicitations and MLD reports of
# its own that never pass br-int: into the underlay, or straight into a container. Disabled before the
# link comes up, so not even the first one leaves. Containers' eth0 keep IPv6 (the pipeline must drop
# their multicast); a Vagrant VM's interfaces are left as its system configured them.
no_ipv6() {
  [ -n "$NETNS" ] || return 0
  in_ns test -e "/proc/sys/net/ipv6/conf/$1/disable_ipv6" || return 0
  # The slash form keeps a dot in an interface name from being read as a separator.
  in_ns sysctl -qw "net/ipv6/conf/$1/disable_ipv6=1"
}

# A pidfile names a live daemon of DIR only if that process's command line mentions DIR: a stale
# pidfile whose number was reused by an unrelated process must not count (or be killed).
alive() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid=$(tr -dc 0-9 <"$pidfile")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/"
}

# Running and not a zombie (an init that does not reap orphans leaves zombies behind).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$(cut -c1 <<<"${stat##*) }")" != Z ]
}

stop_pidfile() {
  local pidfile=$1 pid _
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(tr -dc 0-9 <"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
}

case "$sub" in
  ovs-start)
    need --dir "$DIR"
    mkdir -p "$DIR"
    [ -f "$DIR/conf.db" ] || ovsdb-tool create "$DIR/conf.db" "$SCHEMA"
    if ! alive "$DIR/ovsdb.pid"; then
      in_ns ovsdb-server "$DIR/conf.db" --remote="punix:$DIR/db.sock" --pidfile="$DIR/ovsdb.pid" \
        --detach -vconsole:off --log-file="$DIR/ovsdb.log" --unixctl="$DIR/ovsdb.ctl"
    fi
    vsctl --no-wait init
    if ! alive "$DIR/vswitchd.pid"; then
      in_ns ovs-vswitchd "$DB" --pidfile="$DIR/vswitchd.pid" \
        --detach -vconsole:off --log-file="$DIR/vswitchd.log" --unixctl="$DIR/vswitchd.ctl"
    fi
    ;;

  ovs-stop)
    need --dir "$DIR"
    stop_pidfile "$DIR/vswitchd.pid"
    stop_pidfile "$DIR/ovsdb.pid"
    ;;

  bridges)
    need --ip "$IP"; need --encap "$ENCAP"
    case "$ENCAP" in vxlan|geneve|gre) ;; *) echo "ovs-host.sh: --encap must be vxlan, geneve or gre" >&2; exit 2 ;; esac
    local_ip=${IP%/*}
    # Userspace tunnels find their local address on an OVS bridge, so the underlay IP lives on br-phy
    # (a plain learning bridge) and the underlay NIC is its port.
    vsctl --may-exist add-br br-phy -- set bridge br-phy datapath_type="$DATAPATH"
    if [ -n "$PHY_DEV" ]; then
      in_ns ip -4 addr flush dev "$PHY_DEV"
      no_ipv6 "$PHY_DEV"
      in_ns ip link set "$PHY_DEV" up
      vsctl --may-exist add-port br-phy "$PHY_DEV"
    fi
    no_ipv6 br-phy
    in_ns ip addr replace "$IP" dev br-phy
    in_ns ip link set br-phy up
    # fail_mode=secure: without a controller, or when it goes away, keep the flows and never fall back
    # to a flooding learning switch. No flows here: the controller owns the table.
    vsctl --may-exist add-br "$BRIDGE" -- set bridge "$BRIDGE" datapath_type="$DATAPATH" \
      protocols=OpenFlow13 fail_mode=secure other_config:disable-in-band=true
    existing=$(vsctl --if-exists get interface "$TUNNEL" type 2>/dev/null | tr -d '"' || true)
    if [ -n "$existing" ] && [ "$existing" != "$ENCAP" ]; then
      vsctl del-port "$BRIDGE" "$TUNNEL"
    fi
    # One flow-based tunnel port: flows pick the peer (tun_dst) and the key (tun_id). A per-peer port
    # beside it with the same local IP would steal that peer's traffic, so none is ever added.
    vsctl --may-exist add-port "$BRIDGE" "$TUNNEL" -- set interface "$TUNNEL" type="$ENCAP" \
      options:remote_ip=flow options:local_ip="$local_ip" options:key=flow
    ;;

  container-add)
    need --cns "$CNS"; need --port "$PORT"; need --ip "$IP"; need --mac "$MAC"; need --mtu "$MTU"
    [ -e "/run/netns/$CNS" ] || ip netns add "$CNS"
    ip -n "$CNS" link set lo up
    if ! ip -n "$CNS" link show eth0 >/dev/null 2>&1; then
      # A port whose container namespace is gone may linger while the kernel tears that namespace
      # down in the background; it is replaced, not reused, and ovs-vswitchd is made to open the new
      # device (a port of the userspace datapath stays bound to the device it first opened).
      vsctl --if-exists del-port "$BRIDGE" "$PORT"
      in_ns ip link del "$PORT" 2>/dev/null || true
      # Created straight into both namespaces, so no name ever appears in this namespace.
      if [ -n "$NETNS" ]; then
        ip link add name "$PORT" netns "$NETNS" type veth peer name eth0 netns "$CNS"
      else
        ip link add name "$PORT" type veth peer name eth0 netns "$CNS"
      fi
    fi
    ip -n "$CNS" link set eth0 address "$MAC" mtu "$MTU"
    ip -n "$CNS" addr replace "$IP" dev eth0
    # The userspace datapath forwards TCP segments with unfinished checksums unless the sender
    # completes them: without this, ping works and TCP hangs.
    ip netns exec "$CNS" ethtool -K eth0 tx off >/dev/null
    ip -n "$CNS" link set eth0 up
    in_ns ip link set "$PORT" mtu "$MTU"
    in_ns ethtool -K "$PORT" tx off >/dev/null
    no_ipv6 "$PORT"
    in_ns ip link set "$PORT" up
    vsctl --may-exist add-port "$BRIDGE" "$PORT" -- set interface "$PORT" \
      external_ids:iface-id="${IFACE_ID:-$CNS}" external_ids:attached-mac="$MAC"
    ;;

  container-del)
    need --cns "$CNS"; need --port "$PORT"
    vsctl --if-exists del-port "$BRIDGE" "$PORT"
    in_ns ip link del "$PORT" 2>/dev/null || true
    if [ -e "/run/netns/$CNS" ]; then
      # Whatever still runs in the container's namespace was started there for it.
      for pid in $(ip netns pids "$CNS"); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$CNS"
    fi
    ;;

  *)
    echo "ovs-host.sh: unknown subcommand $sub (ovs-start, ovs-stop, bridges, container-add, container-del)" >&2
    exit 2
    ;;
esac
