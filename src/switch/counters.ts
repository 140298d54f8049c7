// BUM drop counters per network for status (issue #4 item 8): the packet counters of the flows whose
// cookie kind says "dropped broadcast/multicast/unknown unicast", read from the switch. The FLOW stats
// request selects those flows by cookie (marker + kind under a mask), so the switch returns only them,
// not the whole table.
import { BUM_DROP_KINDS, COOKIE_KIND_MASK, COOKIE_MARKER, COOKIE_MARKER_MASK, FlowKind, cookieKind, cookieVni, type FlowKindName } from '../pipeline/cookie.js';
import type { FlowStats, FlowStatsRequest } from './oftypes.js';

export interface BumDrops {
  vni: number;
  packets: bigint;
  bytes: bigint;
  /** Packets per drop kind ('bum-drop', 'unknown-unicast-drop'). */
  byKind: Partial<Record<FlowKindName, bigint>>;
}

export interface FlowStatsSource {
  dumpFlows(filter?: Partial<FlowStatsRequest>, timeoutMs?: number): Promise<FlowStats[]>;
}

/** Drop counters per VNI (0 = flows not tied to one network), sorted by VNI. */
export async function readBumDrops(sw: FlowStatsSource, kinds: readonly FlowKindName[] = BUM_DROP_KINDS): Promise<BumDrops[]> {
  const byVni = new Map<number, BumDrops>();
  for (const kind of kinds) {
    const flows = await sw.dumpFlows({
      cookie: (COOKIE_MARKER << 48n) | BigInt(FlowKind[kind]),
      cookieMask: COOKIE_MARKER_MASK | COOKIE_KIND_MASK,
    });
    for (const f of flows) {
      // The switch applied the mask; check again so a misbehaving peer cannot inflate other kinds.
      if (cookieKind(f.cookie) !== kind) continue;
      const vni = cookieVni(f.cookie);
      let d = byVni.get(vni);
      if (!d) byVni.set(vni, (d = { vni, packets: 0n, bytes: 0n, byKind: {} }));
      d.packets += f.packetCount;
      d.bytes += f.byteCount;
      d.byKind[kind] = (d.byKind[kind] ?? 0n) + f.packetCount;
    }
  }
  return [...byVni.values()].sort((a, b) => a.vni - b.vni);
}
