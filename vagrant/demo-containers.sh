#!/usr/bin/env bash
# The demo's two containers on one host, registered through the REST API of the host's agent: h<N> in
# tenant-a and j<N> in tenant-b, both 10.10.10.<N>/24 with MAC aa:aa:aa:aa:aa:0<N> (the same address
# in both tenants). The containers are made with the lab's recipe (vagrant/lib/ovs-host.sh container-add).
# The host given --create-tenants creates the tenants and their networks; the others wait for the mesh
# to bring them. Each host makes its own tenant token (with its admin token) and keeps it in
# TOKENS_DIR/<tenant>.token: tokens replicate, so any of them works on every agent, but a token file per
# VM keeps the VMs independent of each other. Idempotent: a second run changes nothing.
#
# usage: demo-containers.sh --index N --api http://192.168.56.11:8080 [--create-tenants yes]
#          [--encap vxlan] [--token-file /var/lib/bumless/admin.token] [--tokens-dir /etc/bumless/tokens]
#          [--db unix:/var/run/openvswitch/db.sock] [--netns H] [--ns-prefix P] [--wait-seconds 600]
# --netns, --db and --ns-prefix let the lab run it for a host namespace (test/integration/demo-vagrant.test.ts):
# the API is then reached from inside H and the containers' ports live in H, as in `bumless lab`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

INDEX="" API="" CREATE=no ENCAP=vxlan TOKEN_FILE=/var/lib/bumless/admin.token TOKENS_DIR=/etc/bumless/tokens
DB="unix:/var/run/openvswitch/db.sock" NETNS="" NS_PREFIX="" WAIT=600
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "demo-containers.sh: option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --index) INDEX=$2 ;;
    --api) API=$2 ;;
    --create-tenants) CREATE=$2 ;;
    --encap) ENCAP=$2 ;;
    --token-file) TOKEN_FILE=$2 ;;
    --tokens-dir) TOKENS_DIR=$2 ;;
    --db) DB=$2 ;;
    --netns) NETNS=$2 ;;
    --ns-prefix) NS_PREFIX=$2 ;;
    --wait-seconds) WAIT=$2 ;;
    *) echo "demo-containers.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
case "$INDEX" in [1-9]) ;; *) echo "demo-containers.sh: --index must be 1-9" >&2; exit 2 ;; esac
[ -n "$API" ] || { echo "demo-containers.sh: --api URL is required" >&2; exit 2; }
case "$ENCAP" in gre) MTU=1458 ;; *) MTU=1450 ;; esac
IP=10.10.10.$INDEX
MAC=aa:aa:aa:aa:aa:0$INDEX
ADMIN=$(cat "$TOKEN_FILE")
mkdir -p "$TOKENS_DIR"
chmod 700 "$TOKENS_DIR"

body=$(mktemp)
trap 'rm -f "$body"' EXIT
# api METHOD PATH TOKEN [JSON]: prints the HTTP status; the reply body is in $body.
api() {
  local args=(-sS -m 20 -o "$body" -w '%{http_code}' -X "$1" -H "authorization: Bearer $3")
  [ $# -lt 4 ] || args+=(-H 'content-type: application/json' --data-binary "$4")
  local code in_ns=()
  [ -z "$NETNS" ] || in_ns=(ip netns exec "$NETNS")
  code=$("${in_ns[@]}" curl "${args[@]}" "$API$2") || true
  echo "${code:-000}"
}
# field NAME: a top-level string or number of the reply body.
field() {
  node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(b[process.argv[2]] ?? ""))' "$body" "$1"
}
fail() {
  echo "demo-containers.sh: $1 (HTTP $2): $(cat "$body")" >&2
  exit 1
}
# wait_for WHAT PATH TOKEN: polls until GET PATH answers 200.
wait_for() {
  local i
  for i in $(seq 1 "$((WAIT * 2))"); do
    [ "$(api GET "$2" "$3")" != 200 ] || return 0
    [ "$i" != 20 ] || echo "waiting for $1 (made by the first host, carried by the mesh)..."
    sleep 0.5
  done
  echo "demo-containers.sh: $1 did not arrive within $WAIT s; is the first host up and its agent running?" >&2
  exit 1
}

for spec in "h tenant-a" "j tenant-b"; do
  read -r prefix tenant <<<"$spec"
  name=$prefix$INDEX
  host_ns=()
  [ -z "$NETNS" ] || host_ns=(--netns "$NETNS")
  bash "$here/lib/ovs-host.sh" container-add --db "$DB" "${host_ns[@]}" --cns "$NS_PREFIX$name" --port "c-$name" \
    --ip "$IP/24" --mac "$MAC" --mtu "$MTU" --iface-id "$name"

  token_file=$TOKENS_DIR/$tenant.token
  if [ "$CREATE" = yes ]; then
    status=$(api POST /v1/tenants "$ADMIN" "{\"name\":\"$tenant\"}")
    case "$status" in
      201) field token >"$token_file"; echo "tenant $tenant created" ;;
      409) ;;
      *) fail "creating tenant $tenant" "$status" ;;
    esac
  fi
  wait_for "tenant $tenant" "/v1/tenants/$tenant" "$ADMIN"
  if [ ! -s "$token_file" ] || [ "$(api GET /v1/whoami "$(cat "$token_file")")" != 200 ]; then
    status=$(api POST "/v1/tenants/$tenant/tokens" "$ADMIN" '{"description":"vagrant demo"}')
    [ "$status" = 201 ] || fail "creating a token for $tenant" "$status"
    field token >"$token_file"
  fi
  chmod 600 "$token_file"
  token=$(cat "$token_file")

  if [ "$CREATE" = yes ]; then
    status=$(api POST /v1/networks "$token" '{"name":"net","cidrs":["10.10.10.0/24"]}')
    case "$status" in
      201) echo "network $tenant/net created, VNI $(field vni)" ;;
      409) ;;
      *) fail "creating network $tenant/net" "$status" ;;
    esac
  fi
  wait_for "network $tenant/net" "/v1/networks/$tenant/net" "$token"

  status=$(api PUT "/v1/endpoints/$tenant/net/$MAC" "$token" "{\"ips\":[\"$IP\"],\"port\":\"c-$name\"}")
  case "$status" in
    200 | 201) echo "container $name: $tenant/net $IP $MAC on port c-$name, registered (HTTP $status)" ;;
    *) fail "registering $name" "$status" ;;
  esac
done
