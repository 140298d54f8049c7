// Pipeline-like flows for reconciler tests: the shapes bumless installs (port classification, ARP
// responder with Nicira moves, unicast to a local port or a tunnel, per-network drop), generated in
// bulk with distinct identities. Cookies follow the layout of src/reconcile/cookie.ts.
import type { DesiredFlow } from '../../src/reconcile/table.js';

export const TUN_OFPORT = 1;

export function cookie(vni: number, kind: number): bigint {
  return (0xb1e5n << 48n) | (BigInt(vni) << 8n) | BigInt(kind);
}

function mac(i: number): string {
  const b = [0x02, 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function ip(i: number): string {
  return `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`;
}

/** One endpoint's worth of flows: 4 flows per endpoint index. */
export function endpointFlows(i: number, opts: { vni?: number; outPort?: number; remote?: boolean } = {}): DesiredFlow[] {
  const vni = opts.vni ?? 100 + (i % 50);
  const m = mac(i + 1);
  const a = ip(i + 1);
  const port = opts.outPort ?? 2;
  const out: DesiredFlow[] = [
    // classification: from local port with registered source MAC, tagged with the VNI
    {
      tableId: 0, priority: 100, cookie: cookie(vni, 1),
      match: [{ field: 'in_port', value: port }, { field: 'eth_src', value: m }],
      instructions: [
        { type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'tunnel_id', value: BigInt(vni) } }] },
        { type: 'GOTO_TABLE', tableId: 1 },
      ],
    },
    // ARP responder for (network, IP)
    {
      tableId: 1, priority: 200, cookie: cookie(vni, 2),
      match: [
        { field: 'eth_type', value: 0x0806 },
        { field: 'tunnel_id', value: BigInt(vni) },
        { field: 'arp_op', value: 1 },
        { field: 'arp_tpa', value: a },
        { field: 'eth_dst', value: 'ff:ff:ff:ff:ff:ff' },
      ],
      instructions: [
        {
          type: 'APPLY_ACTIONS',
          actions: [
            { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
            { type: 'SET_FIELD', field: { field: 'eth_src', value: m } },
            { type: 'SET_FIELD', field: { field: 'arp_op', value: 2 } },
            { type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'arp_tha', nBits: 48, srcOfs: 0, dstOfs: 0 },
            { type: 'NX_REG_MOVE', src: 'arp_spa', dst: 'arp_tpa', nBits: 32, srcOfs: 0, dstOfs: 0 },
            { type: 'SET_FIELD', field: { field: 'arp_sha', value: m } },
            { type: 'SET_FIELD', field: { field: 'arp_spa', value: a } },
            { type: 'OUTPUT', port: 'IN_PORT' },
          ],
        },
      ],
    },
    // unicast: local port or tunnel to the remote VTEP
    {
      tableId: 2, priority: 100, cookie: cookie(vni, 3),
      match: [{ field: 'tunnel_id', value: BigInt(vni) }, { field: 'eth_dst', value: m }],
      instructions: [
        {
          type: 'APPLY_ACTIONS',
          actions: opts.remote
            ? [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: `192.168.100.${(i % 200) + 2}` } }, { type: 'OUTPUT', port: TUN_OFPORT }]
            : [{ type: 'OUTPUT', port }],
        },
      ],
    },
    // IPv4 source check
    {
      tableId: 0, priority: 110, cookie: cookie(vni, 4),
      match: [{ field: 'in_port', value: port }, { field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: a }, { field: 'eth_src', value: m }],
      instructions: [
        { type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'tunnel_id', value: BigInt(vni) } }] },
        { type: 'GOTO_TABLE', tableId: 1 },
      ],
    },
  ];
  return out;
}

/** n flows (a multiple of 4 rounds up), plus the per-table drop flows. */
export function pipelineFlows(n: number, opts: { remoteEvery?: number } = {}): DesiredFlow[] {
  const out: DesiredFlow[] = [];
  for (let i = 0; out.length < n; i++) out.push(...endpointFlows(i, { remote: opts.remoteEvery ? i % opts.remoteEvery === 0 : false }));
  out.length = n;
  return out;
}

export function dropFlows(): DesiredFlow[] {
  return [0, 1, 2].map((t) => ({ tableId: t, priority: 0, cookie: cookie(0, 9), match: [], instructions: [] }));
}
