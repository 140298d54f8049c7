#!/usr/bin/env bash
# Prints the NIC of a VM's private (underlay) network: the interface that holds the address, or, once
# provision-host.sh has moved the address onto br-phy, the NIC that is br-phy's port.
#
# usage: underlay-nic.sh 192.168.56.11
set -euo pipefail
ip=${1:?usage: underlay-nic.sh IP}

dev=$(ip -o -4 addr show | awk -v ip="$ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
if [ -n "$dev" ] && [ "$dev" != br-phy ]; then
  echo "$dev"
  exit 0
fi
if command -v ovs-vsctl >/dev/null && ovs-vsctl br-exists br-phy 2>/dev/null; then
  port=$(ovs-vsctl list-ports br-phy | head -n1)
  if [ -n "$port" ]; then
    echo "$port"
    exit 0
  fi
fi
echo "underlay-nic.sh: no interface holds $ip and br-phy has no port; is the Vagrant private network configured?" >&2
exit 1
