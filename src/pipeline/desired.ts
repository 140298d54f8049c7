// Desired state as a pure function: (host, networks, endpoints, local ports) -> the flows br-int
// should hold. No I/O, no clock, no randomness; the output is sorted and has no two flows with one
// identity (table, priority, match), which is what the reconciler diffs on.
//
// The flows of one network depend only on that network, its endpoints and the host context, so the
// agent can recompute just the networks an event touched (planNetwork) and merge (mergeFlows); the
// result equals a full recompute (planPipeline), which test/unit/pipeline-incremental.test.ts checks.
import type { Endpoint, Network } from '../registry/model.js';
import { compareEndpointValues } from '../registry/registry.js';
import type { Action, Instruction, Match } from './of.js';
import { makeCookie, type FlowKindName } from './cookie.js';
import { fromBits, matchText, toBits } from './fields.js';
import { BROADCAST, ETH_ARP, ETH_IPV4, ETH_IPV6, GROUP_BIT, Metadata, Priority, Table, VLAN_NONE } from './tables.js';
import { isIP } from 'node:net';
import { flatString } from '../util/flat.js';

export interface DesiredFlow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
}

/** What a host knows about itself; everything per network comes from the registry. */
export interface HostContext {
  hostId: string;
  vtepIp: string;
  /** OpenFlow port number of the flow-based tunnel port; without it no remote flows are made. */
  tunnelOfport?: number;
  /** Port name on br-int -> OpenFlow port number, for the ports that exist right now. */
  localPorts: ReadonlyMap<string, number>;
}

export interface PipelineInput extends HostContext {
  networks: readonly Network[];
  endpoints: readonly Endpoint[];
}

/** Something in the input the pipeline had to resolve or skip; the agent logs these. */
export interface PipelineProblem {
  network?: string;
  endpoint?: string;
  message: string;
}

export interface PipelinePlan {
  flows: DesiredFlow[];
  problems: PipelineProblem[];
}

/** The registry's "<tenant>/<network>" key of a network. */
export function networkKey(n: Pick<Network, 'tenant' | 'name'>): string {
  return `${n.tenant}/${n.name}`;
}

// The identity per flow object: sorting, merging and the agent's desired state need it several times
// per flow, and a caller that keeps a flow keeps its identity as a map key, so the text is made, and
// held, once per flow. Flows are immutable values once built, so the cache cannot go stale.
const identityCache = new WeakMap<object, string>();

/** The reconciler's flow identity: table, priority and the canonical text of the match. */
export function flowIdentity(f: Pick<DesiredFlow, 'tableId' | 'priority' | 'match'>): string {
  let id = identityCache.get(f);
  if (id === undefined) {
    id = flatString(`${f.tableId}/${f.priority}/${matchText(f.match)}`);
    identityCache.set(f, id);
  }
  return id;
}

const UNICAST_MAC = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;

/** The port number if it can be a physical or logical port (1..0xfffffeff), else undefined. */
const usablePort = (n: number | undefined): number | undefined => (n !== undefined && Number.isInteger(n) && n > 0 && n < 0xffffff00 ? n : undefined);
/** An endpoint's addresses of one family, canonical text, without repeats. */
const ipv4s = (e: Endpoint) => [...new Set(e.ips.filter((ip) => isIP(ip) === 4).map((ip) => fromBits('ipv4_src', toBits('ipv4_src', ip))))];
const ipv6s = (e: Endpoint) => [...new Set(e.ips.filter((ip) => isIP(ip) === 6 && !ip.includes('%')).map((ip) => fromBits('ipv6_src', toBits('ipv6_src', ip))))];
const netMeta = (vni: number, tunnel = false) => ({
  field: 'metadata' as const,
  value: BigInt(vni) | (tunnel ? Metadata.FROM_TUNNEL : 0n),
  mask: Metadata.NETWORK_MASK,
});
const anyMeta = (vni: number) => ({ field: 'metadata' as const, value: BigInt(vni), mask: Metadata.VNI_MASK });
const apply = (...actions: Action[]): Instruction => ({ type: 'APPLY_ACTIONS', actions });
const goto = (tableId: number): Instruction => ({ type: 'GOTO_TABLE', tableId });
const move = (src: 'eth_src' | 'arp_sha' | 'arp_spa', dst: 'eth_dst' | 'arp_tha' | 'arp_tpa', nBits: number): Action => ({
  type: 'NX_REG_MOVE',
  src,
  dst,
  nBits,
  srcOfs: 0,
  dstOfs: 0,
});

/** Flows every host has whatever it hosts: one counted drop (or pass) per table. */
export function globalFlows(): DesiredFlow[] {
  const drop = (tableId: number): DesiredFlow => ({ tableId, priority: 0, match: [], instructions: [], cookie: makeCookie('default-drop') });
  return sortFlows([
    drop(Table.CLASSIFY),
    drop(Table.PORT_SECURITY),
    { tableId: Table.ARP_RESPONDER, priority: Priority.arp.pass, match: [], instructions: [goto(Table.FORWARD)], cookie: makeCookie('arp-pass') },
    drop(Table.FORWARD),
  ]);
}

/**
 * Picks one endpoint per MAC (the registry key) and orders them: the highest MAC-mobility sequence
 * number wins (RFC 7432 section 15, compared with 32-bit wrap-around; on a tie the lower VTEP IP,
 * as in the registry), so two copies of a moving endpoint never both get flows.
 */
function uniqueByMac(endpoints: readonly Endpoint[], problems: PipelineProblem[], key: string): Endpoint[] {
  const byMac = new Map<string, Endpoint>();
  for (const e of endpoints) {
    const mac = e.mac.toLowerCase();
    const cur = byMac.get(mac);
    if (!cur) {
      byMac.set(mac, e);
      continue;
    }
    // The registry's own order (sequence number, then lower VTEP, then host id), so the switch
    // forwards to the copy the registry calls active; the whole record last, so input order never decides.
    const c = compareEndpointValues(e, cur);
    const newer = c < 0 || (c === 0 && JSON.stringify(e) < JSON.stringify(cur));
    problems.push({ network: key, endpoint: mac, message: `two entries for MAC ${mac} (hosts ${cur.hostId} and ${e.hostId}); using the one on ${newer ? e.hostId : cur.hostId}` });
    if (newer) byMac.set(mac, e);
  }
  return [...byMac.values()].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

/**
 * The per-endpoint flows (remote unicast, ARP answer) a plan made, reused by the next plans of the
 * network while the endpoint object, its MAC and VTEP, the VNI and the tunnel port are the same.
 * The registry replaces an endpoint's object when the endpoint changes and never edits one, and flows
 * are immutable, so a reused flow equals a rebuilt one; what it saves is the rebuilding: a registry
 * batch during a full sync recomputes the whole network, and without this each recompute of a network
 * of 100,000 endpoints made 200,000 new flows (garbage that kept the agent's RSS at gigabytes, bench B4)
 * and the agent's desired state had to compare each with the one it held.
 */
interface EndpointFlows {
  /** vni * 2^32 + tunnel port (0: none) */
  sig: number;
  mac: string;
  vtep: string;
  unicast?: DesiredFlow;
  arpIp?: string;
  arp?: DesiredFlow;
}
const lastPlan = new WeakMap<Endpoint, EndpointFlows>();

function reusable(e: Endpoint, vni: number, tunnel: number | undefined): EndpointFlows {
  const sig = vni * 2 ** 32 + (tunnel ?? 0);
  let m = lastPlan.get(e);
  if (m === undefined || m.sig !== sig || m.mac !== e.mac || m.vtep !== e.vtep) {
    m = { sig, mac: e.mac, vtep: e.vtep };
    lastPlan.set(e, m);
  }
  return m;
}

/**
 * The flows of one network on this host. `endpoints` may be the whole registry (others are
 * ignored) or, cheaper, only this network's endpoints.
 */
export function planNetwork(ctx: HostContext, network: Network, endpoints: readonly Endpoint[]): PipelinePlan {
  const key = networkKey(network);
  const vni = network.vni;
  const problems: PipelineProblem[] = [];
  const flows: DesiredFlow[] = [];
  // One cookie per kind: a bigint is a heap object, and the network's 100,000 flows share a handful.
  const cookies = new Map<FlowKindName, bigint>();
  const cookie = (kind: FlowKindName): bigint => {
    let c = cookies.get(kind);
    if (c === undefined) cookies.set(kind, (c = makeCookie(kind, vni)));
    return c;
  };
  // The registry validates with zod; these checks keep a bad value that got past it (a hand-fed
  // test, an old store) from turning into an exception halfway through a plan.
  if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) {
    return { flows, problems: [{ network: key, message: `VNI ${vni} is outside 1..16777215; network skipped` }] };
  }
  const tunnel = usablePort(ctx.tunnelOfport);
  if (ctx.tunnelOfport !== undefined && tunnel === undefined) problems.push({ message: `tunnel ofport ${ctx.tunnelOfport} is not a usable port number; no remote flows` });

  const valid = endpoints
    .filter((e) => e.network === key)
    // The registry's own objects where nothing changes: they key the flows reused from the last plan.
    .map((e) => (e.mac === e.mac.toLowerCase() ? e : { ...e, mac: e.mac.toLowerCase() }))
    .filter((e) => {
      const why = !UNICAST_MAC.test(e.mac)
        ? `MAC "${e.mac}" is not a unicast MAC address`
        : isIP(e.vtep) !== 4
          ? `VTEP "${e.vtep}" is not an IPv4 address`
          : undefined;
      if (why) problems.push({ network: key, endpoint: e.mac, message: `${why}; endpoint skipped` });
      return why === undefined;
    });
  const mine = uniqueByMac(valid, problems, key);
  const local: { e: Endpoint; port: number }[] = [];
  const remote: Endpoint[] = [];
  for (const e of mine) {
    if (e.hostId === ctx.hostId) {
      const ofport = ctx.localPorts.get(e.port);
      const port = usablePort(ofport);
      // A local endpoint on the tunnel port would admit any tunnel frame with its MAC, from any
      // peer and VNI, as local traffic of this network (and send its unicast back into the tunnel
      // without a destination); on LOCAL or another reserved port it would hand the bridge's own
      // stack to a tenant. The registry refuses these names; this holds whatever fed the plan.
      if (ofport !== undefined && ctx.tunnelOfport !== undefined && ofport === ctx.tunnelOfport) {
        problems.push({ network: key, endpoint: e.mac, message: `port ${e.port} is the tunnel port (ofport ${ofport}); endpoint refused` });
      } else if (port !== undefined) local.push({ e, port });
      else if (ofport !== undefined) problems.push({ network: key, endpoint: e.mac, message: `port ${e.port} has unusable ofport ${ofport} (LOCAL or reserved); endpoint refused` });
    } else if (e.vtep === ctx.vtepIp) {
      problems.push({ network: key, endpoint: e.mac, message: `registered on host ${e.hostId} with this host's VTEP ${e.vtep}; ignored` });
    } else if (tunnel !== undefined) {
      remote.push(e);
    }
  }
  // "Only what is needed": a network without an attached local endpoint has no traffic here.
  if (local.length === 0) return { flows, problems };

  // Flows are immutable values once built (the reconciler's and the caches' keys depend on it), so
  // the parts that the flows of this network repeat are built once and shared: with 100,000 remote
  // endpoints the flows' objects are most of the agent's heap (bench B4).
  const vniValue = BigInt(vni);
  const meta = netMeta(vni);
  const metaTunnel = netMeta(vni, true);
  const metaAny = anyMeta(vni);

  // The ARP responder answers one MAC per (network, IPv4). Duplicates are a registry error; the
  // lowest MAC wins so the choice does not depend on input order.
  const arpOwner = new Map<string, Endpoint>();
  for (const e of [...local.map((l) => l.e), ...remote].sort((a, b) => (a.mac < b.mac ? -1 : 1))) {
    for (const ip of ipv4s(e)) {
      const owner = arpOwner.get(ip);
      if (owner) problems.push({ network: key, endpoint: e.mac, message: `IPv4 ${ip} is also registered to ${owner.mac}; ARP answers with ${owner.mac}` });
      else arpOwner.set(ip, e);
    }
  }

  for (const { e, port } of local) {
    const src = [
      { field: 'in_port' as const, value: port },
      { field: 'eth_src' as const, value: e.mac },
    ];
    flows.push({
      tableId: Table.CLASSIFY,
      priority: Priority.classify.local,
      match: [{ field: 'in_port', value: port }, { field: 'vlan_vid', value: VLAN_NONE }, { field: 'eth_src', value: e.mac }],
      instructions: [{ type: 'WRITE_METADATA', metadata: vniValue, metadataMask: Metadata.NETWORK_MASK }, goto(Table.PORT_SECURITY)],
      cookie: cookie('classify-local'),
    });
    const allow = (match: Match, next: number) =>
      flows.push({ tableId: Table.PORT_SECURITY, priority: Priority.portSecurity.allow, match: [meta, ...src, ...match], instructions: [goto(next)], cookie: cookie('port-security') });
    for (const ip of ipv4s(e)) {
      allow([{ field: 'eth_type', value: ETH_IPV4 }, { field: 'ipv4_src', value: ip }], Table.FORWARD);
    }
    for (const ip of new Set([...ipv4s(e), '0.0.0.0'])) {
      allow(
        [
          { field: 'eth_type', value: ETH_ARP },
          { field: 'arp_spa', value: ip },
          { field: 'arp_sha', value: e.mac },
        ],
        Table.ARP_RESPONDER,
      );
    }
    for (const ip of ipv6s(e)) {
      allow([{ field: 'eth_type', value: ETH_IPV6 }, { field: 'ipv6_src', value: ip }], Table.FORWARD);
    }
    for (const ip of ipv4s(e)) {
      flows.push({
        tableId: Table.ARP_RESPONDER,
        priority: Priority.arp.ownProbeDrop,
        match: [meta, { field: 'in_port', value: port }, { field: 'eth_type', value: ETH_ARP }, { field: 'arp_op', value: 1 }, { field: 'arp_tpa', value: ip }],
        instructions: [],
        cookie: cookie('arp-own-probe-drop'),
      });
    }
    flows.push({
      tableId: Table.FORWARD,
      priority: Priority.forward.unicast,
      match: [metaAny, { field: 'eth_dst', value: e.mac }],
      instructions: [apply({ type: 'OUTPUT', port })],
      cookie: cookie('unicast-local'),
    });
  }

  if (tunnel !== undefined) {
    for (const vtep of [...new Set(remote.map((e) => e.vtep))].sort()) {
      flows.push({
        tableId: Table.CLASSIFY,
        priority: Priority.classify.tunnel,
        match: [{ field: 'in_port', value: tunnel }, { field: 'tunnel_id', value: vniValue }, { field: 'tun_src', value: vtep }],
        instructions: [{ type: 'WRITE_METADATA', metadata: vniValue | Metadata.FROM_TUNNEL, metadataMask: Metadata.NETWORK_MASK }, goto(Table.FORWARD)],
        cookie: cookie('classify-tunnel'),
      });
    }
    // Every remote endpoint behind one VTEP has the same instructions.
    const toVtep = new Map<string, Instruction[]>();
    for (const e of remote) {
      const memo = reusable(e, vni, tunnel);
      if (memo.unicast) {
        flows.push(memo.unicast);
        continue;
      }
      let instructions = toVtep.get(e.vtep);
      if (instructions === undefined) {
        instructions = [
          apply(
            { type: 'SET_FIELD', field: { field: 'tun_dst', value: e.vtep } },
            { type: 'SET_FIELD', field: { field: 'tunnel_id', value: vniValue } },
            { type: 'OUTPUT', port: tunnel },
          ),
        ];
        toVtep.set(e.vtep, instructions);
      }
      memo.unicast = { tableId: Table.FORWARD, priority: Priority.forward.unicast, match: [meta, { field: 'eth_dst', value: e.mac }], instructions, cookie: cookie('unicast-remote') };
      flows.push(memo.unicast);
    }
  }

  const arpRequest: Match = [{ field: 'eth_dst', value: BROADCAST }, { field: 'eth_type', value: ETH_ARP }, { field: 'arp_op', value: 1 }];
  const reply = {
    ethDst: move('eth_src', 'eth_dst', 48),
    op: { type: 'SET_FIELD', field: { field: 'arp_op', value: 2 } } as Action,
    tha: move('arp_sha', 'arp_tha', 48),
    tpa: move('arp_spa', 'arp_tpa', 32),
    out: { type: 'OUTPUT', port: 'IN_PORT' } as Action,
  };
  for (const [ip, e] of arpOwner) {
    const memo = reusable(e, vni, tunnel);
    if (memo.arp && memo.arpIp === ip) {
      flows.push(memo.arp);
      continue;
    }
    const flow: DesiredFlow = {
      tableId: Table.ARP_RESPONDER,
      priority: Priority.arp.respond,
      match: [meta, ...arpRequest, { field: 'arp_tpa', value: ip }],
      instructions: [
        apply(
          reply.ethDst,
          { type: 'SET_FIELD', field: { field: 'eth_src', value: e.mac } },
          reply.op,
          reply.tha,
          reply.tpa,
          { type: 'SET_FIELD', field: { field: 'arp_sha', value: e.mac } },
          { type: 'SET_FIELD', field: { field: 'arp_spa', value: ip } },
          reply.out,
        ),
      ],
      cookie: cookie('arp-responder'),
    };
    // One address per endpoint is remembered: the usual case; further ones are rebuilt every plan.
    if (memo.arpIp === undefined || memo.arpIp === ip) {
      memo.arpIp = ip;
      memo.arp = flow;
    }
    flows.push(flow);
  }

  const multicast = { field: 'eth_dst' as const, value: GROUP_BIT, mask: GROUP_BIT };
  flows.push(
    // Group-address frames that failed the source checks count as BUM, not as spoofing: IPv6 ND/MLD/RS
    // come from link-local or ::, DHCP discover from 0.0.0.0, LLDP and STP have other ethertypes.
    { tableId: Table.PORT_SECURITY, priority: Priority.portSecurity.groupDrop, match: [meta, multicast], instructions: [], cookie: cookie('bum-drop') },
    { tableId: Table.PORT_SECURITY, priority: Priority.portSecurity.networkDrop, match: [meta], instructions: [], cookie: cookie('port-security-drop') },
    { tableId: Table.FORWARD, priority: Priority.forward.multicast, match: [metaAny, multicast], instructions: [], cookie: cookie('bum-drop') },
    { tableId: Table.FORWARD, priority: Priority.forward.unknownUnicast, match: [meta], instructions: [], cookie: cookie('unknown-unicast-drop') },
    { tableId: Table.FORWARD, priority: Priority.forward.unknownUnicast, match: [metaTunnel], instructions: [], cookie: cookie('split-horizon-drop') },
  );
  // Endpoints sharing a port and an address would repeat an own-probe drop; identical flows merge.
  const merged = mergeFlows([flows]);
  return { flows: merged.flows, problems: [...problems, ...merged.problems] };
}

/** planNetwork without the problems. */
export function networkFlows(ctx: HostContext, network: Network, endpoints: readonly Endpoint[]): DesiredFlow[] {
  return planNetwork(ctx, network, endpoints).flows;
}

/**
 * Merges per-network flow lists (and globalFlows()) into one sorted list with unique identities.
 * Two networks can only collide through registry errors (one VNI twice, one port and MAC in two
 * networks); the flow with the lower cookie (lower VNI) wins, whichever order the parts come in.
 */
export function mergeFlows(parts: Iterable<readonly DesiredFlow[]>): PipelinePlan {
  const byId = new Map<string, DesiredFlow>();
  const problems: PipelineProblem[] = [];
  for (const part of parts) {
    for (const f of part) {
      const id = flowIdentity(f);
      const cur = byId.get(id);
      if (!cur) {
        byId.set(id, f);
        continue;
      }
      const order = compareFlowData(f, cur);
      if (order === 0) continue;
      const keep = order < 0 ? f : cur;
      problems.push({ message: `conflicting flows for ${id} (cookies 0x${cur.cookie.toString(16)} and 0x${f.cookie.toString(16)}); kept 0x${keep.cookie.toString(16)}` });
      byId.set(id, keep);
    }
  }
  return { flows: sortFlows([...byId.values()]), problems };
}

/** The whole desired state, with everything the pipeline had to resolve or skip. */
export function planPipeline(input: PipelineInput): PipelinePlan {
  const byNetwork = new Map<string, Endpoint[]>();
  for (const e of input.endpoints) {
    const list = byNetwork.get(e.network);
    if (list) list.push(e);
    else byNetwork.set(e.network, [e]);
  }
  const problems: PipelineProblem[] = [];
  const parts: DesiredFlow[][] = [globalFlows()];
  const known = new Set<string>();
  for (const n of input.networks) {
    const key = networkKey(n);
    if (known.has(key)) {
      problems.push({ network: key, message: 'network listed twice; the first entry is used' });
      continue;
    }
    known.add(key);
    const plan = planNetwork(input, n, byNetwork.get(key) ?? []);
    parts.push(plan.flows);
    problems.push(...plan.problems);
  }
  for (const [key, list] of byNetwork) {
    if (!known.has(key)) problems.push({ network: key, message: `${list.length} endpoint(s) name an unknown network; ignored` });
  }
  const merged = mergeFlows(parts);
  return { flows: merged.flows, problems: [...problems, ...merged.problems] };
}

/** The flows br-int should hold for this host: sorted, identities unique. */
export function desiredFlows(input: PipelineInput): DesiredFlow[] {
  return planPipeline(input).flows;
}

/** Deterministic order: table ascending, priority descending (lookup order), then match text. */
export function sortFlows(flows: DesiredFlow[]): DesiredFlow[] {
  // Table and priority compare first, so the identities compare by their match text.
  const keyed = flows.map((f) => ({ f, m: flowIdentity(f) }));
  keyed.sort((a, b) => a.f.tableId - b.f.tableId || b.f.priority - a.f.priority || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
  return keyed.map((k) => k.f);
}

/** Canonical text of a flow's data (cookie and instructions), e.g. to compare desired with installed. */
export function flowDataText(f: Pick<DesiredFlow, 'cookie' | 'instructions'>): string {
  return `0x${f.cookie.toString(16)} ${JSON.stringify(f.instructions, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`;
}

/**
 * Whether two flows carry the same data (cookie and instructions), as equal flowDataText would say,
 * without making the texts: callers that keep 100,000 flows compare them instead of holding a text
 * per flow (bench B4).
 */
export function sameFlowData(a: Pick<DesiredFlow, 'cookie' | 'instructions'>, b: Pick<DesiredFlow, 'cookie' | 'instructions'>): boolean {
  return a.cookie === b.cookie && sameValue(a.instructions, b.instructions);
}

/** Structural equality of plain flow data: arrays, plain objects, bigints, byte arrays, primitives. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // Keys holding undefined count as absent, as in JSON.
  let keys = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    keys++;
    if (!sameValue(ra[k], rb[k])) return false;
  }
  for (const k in rb) if (rb[k] !== undefined) keys--;
  return keys === 0;
}

/** Order of flow data: cookie, then data text (the merge rule's tie-break between colliding networks). */
export function compareFlowData(a: DesiredFlow, b: DesiredFlow): number {
  if (a.cookie !== b.cookie) return a.cookie < b.cookie ? -1 : 1;
  const ta = flowDataText(a);
  const tb = flowDataText(b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}
