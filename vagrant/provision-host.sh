#!/usr/bin/env bash
# Provisions one Vagrant VM as a bumless host with the same recipe the lab uses (vagrant/lib/ovs-host.sh),
# against the system Open vSwitch (kernel datapath when the module loads, userspace otherwise).
#
# usage: provision-host.sh --ip 192.168.100.11/24 [--phy-dev eth1] [--encap vxlan|geneve|gre]
#   --ip       this host's underlay (VTEP) address with prefix; it moves from --phy-dev onto br-phy
#   --phy-dev  the NIC on the underlay network (default eth1, Vagrant's first private network)
#   --encap    the tunnel type of br-int's flow-based port tun0 (default vxlan)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

IP="" PHY_DEV=eth1 ENCAP=vxlan
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "provision-host.sh: option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --ip) IP=$2 ;;
    --phy-dev) PHY_DEV=$2 ;;
    --encap) ENCAP=$2 ;;
    *) echo "provision-host.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$IP" ] || { echo "provision-host.sh: --ip A/P is required" >&2; exit 2; }

missing=()
for p in openvswitch-switch iproute2 ethtool; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl enable --now openvswitch-switch >/dev/null
else
  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null
fi

# The kernel datapath needs the openvswitch module; without it the VM runs the userspace datapath,
# as the lab does.
datapath=system
modprobe openvswitch 2>/dev/null || datapath=netdev

bash "$here/lib/ovs-host.sh" bridges --datapath "$datapath" --phy-dev "$PHY_DEV" --ip "$IP" --encap "$ENCAP"
echo "provisioned: br-phy $IP on $PHY_DEV, br-int ($datapath, secure, OpenFlow13) with $ENCAP port tun0"
