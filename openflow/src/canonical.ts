// Canonical forms for the reconciler: a flow read back from the switch (FLOW stats reply) must
// compare equal to the flow we sent even though the switch reorders OXMs, drops all-ones masks,
// stores value & mask, and reorders instructions. Flow identity is (table, priority, match)
// (OVN struct ovn_flow); matchKey/instructionsKey give stable strings for maps and diffs.
import { toHex } from './addr.js';
import { encodeAction } from './actions.js';
import { decodeOxm, encodeOxm, fieldNameByHeader, OXM_BY_NAME } from './oxm.js';
import { Writer } from './writer.js';
import type { Action, FieldRef, Instruction, Match, Oxm } from './types.js';

const w = new Writer(1024);

function sortKey(o: Oxm): [number, number, string] {
  if (o.field === 'raw') return [o.oxmClass, o.oxmField, `${o.experimenter ?? ''}:${toHex(o.payload)}`];
  const d = OXM_BY_NAME.get(o.field)!;
  return [d.oxmClass, d.oxmField, ''];
}

/**
 * Normalises one OXM through its wire form: values canonical (MAC/IP text, port names), value
 * ANDed with the mask, an all-ones mask dropped, an all-zeros mask turns the field into a wildcard
 * (returns null). Unknown (raw) fields are returned unchanged.
 */
export function canonicalOxm(o: Oxm): Oxm | null {
  if (o.field === 'raw' || o.field === 'pbb_uca') return o;
  w.reset();
  encodeOxm(w, o);
  const b = w.view();
  const len = b[3]!;
  if ((b[2]! & 1) === 1) {
    const half = len / 2;
    let ones = true;
    let zeros = true;
    for (let i = 0; i < half; i++) {
      const m = b[4 + half + i]!;
      if (m !== 0xff) ones = false;
      if (m !== 0) zeros = false;
      b[4 + i]! &= m;
    }
    if (zeros) return null;
    if (ones) {
      b[2]! &= 0xfe;
      b[3] = half;
      return decodeOxm(Buffer.from(b.subarray(0, 4 + half)), 0, 4 + half)[0];
    }
  }
  return decodeOxm(Buffer.from(b), 0, b.length)[0];
}

/** The match sorted by (class, field), masks normalised, wildcarded fields dropped. */
export function canonicalMatch(match: Match): Match {
  const out: Match = [];
  for (const o of match) {
    const c = canonicalOxm(o);
    if (c !== null) out.push(c);
  }
  return out
    .map((o) => [sortKey(o), o] as const)
    .sort((a, b) => a[0][0] - b[0][0] || a[0][1] - b[0][1] || (a[0][2] < b[0][2] ? -1 : a[0][2] > b[0][2] ? 1 : 0))
    .map((x) => x[1]);
}

function valueText(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  return String(v);
}

/** A stable text key of a match, e.g. "eth_type=2054,arp_tpa=10.0.0.1". */
export function matchKey(match: Match): string {
  const parts: string[] = [];
  for (const o of canonicalMatch(match)) {
    if (o.field === 'raw') {
      parts.push(`raw(${o.oxmClass},${o.oxmField},${o.hasMask ? 1 : 0},${o.experimenter ?? '-'})=${toHex(o.payload)}`);
    } else {
      parts.push(o.mask === undefined ? `${o.field}=${valueText(o.value)}` : `${o.field}=${valueText(o.value)}/${valueText(o.mask)}`);
    }
  }
  return parts.join(',');
}

/** The flow identity the switch uses for strict modify/delete: table, priority, match. */
export function flowKey(tableId: number, priority: number, match: Match): string {
  return `${tableId}/${priority}/${matchKey(match)}`;
}

/** Open vSwitch's canonical instruction order (the order the spec executes them, 5.9). */
const INSTRUCTION_ORDER: Record<Instruction['type'], number> = {
  METER: 0, APPLY_ACTIONS: 1, CLEAR_ACTIONS: 2, WRITE_ACTIONS: 3, WRITE_METADATA: 4, GOTO_TABLE: 5, EXPERIMENTER: 6,
};

/**
 * The field a move names, by name when it has one in any of its NXM/OXM spellings (Open vSwitch
 * answers with legacy NXM headers: NXM_OF_ETH_SRC for eth_src, NXM_NX_ARP_SHA for arp_sha).
 */
export function canonicalFieldRef(r: FieldRef): FieldRef {
  if (typeof r === 'string' || r.hasMask) return r;
  const name = fieldNameByHeader(r.oxmClass, r.oxmField, r.length);
  if (name !== undefined) return name;
  // A header we do not know: compared by its bits, whatever a caller put in `name`.
  return { oxmClass: r.oxmClass, oxmField: r.oxmField, length: r.length };
}

function canonicalAction(a: Action): Action {
  if (a.type === 'NX_REG_MOVE') return { ...a, src: canonicalFieldRef(a.src), dst: canonicalFieldRef(a.dst) };
  if (a.type === 'OUTPUT') {
    // max_len only means something for output to the controller.
    const ctl = a.port === 'CONTROLLER' || a.port === 0xfffffffd;
    return { type: 'OUTPUT', port: a.port, maxLen: ctl ? (a.maxLen ?? 'NO_BUFFER') : 0 };
  }
  if (a.type === 'NX_RESUBMIT' && a.table === undefined) return { type: 'NX_RESUBMIT', port: a.port, table: 255 };
  if (a.type === 'SET_FIELD') {
    // A raw field comes back unchanged, so a foreign set-field is compared by its bytes.
    const f = canonicalOxm(a.field);
    if (f !== null) return { type: 'SET_FIELD', field: f };
  }
  return a;
}

function actionsText(actions: readonly Action[]): string {
  const parts: string[] = [];
  for (const a of actions) {
    const c = canonicalAction(a); // before reset: it may use the writer itself
    w.reset();
    encodeAction(w, c);
    parts.push(`${a.type}:${toHex(w.view())}`);
  }
  return `[${parts.join(',')}]`;
}

/** A stable text key of an instruction list, equal for equivalent lists as Open vSwitch reports them. */
export function instructionsKey(instructions: readonly Instruction[]): string {
  const list = instructions
    .filter((i) => !(i.type === 'APPLY_ACTIONS' && i.actions.length === 0))
    .slice()
    .sort((a, b) => INSTRUCTION_ORDER[a.type] - INSTRUCTION_ORDER[b.type]);
  return list
    .map((i) => {
      switch (i.type) {
        case 'GOTO_TABLE': return `goto:${i.tableId}`;
        case 'WRITE_METADATA': return `meta:0x${(i.metadata & i.metadataMask).toString(16)}/0x${i.metadataMask.toString(16)}`;
        case 'WRITE_ACTIONS': return `write:${actionsText(i.actions)}`;
        case 'APPLY_ACTIONS': return `apply:${actionsText(i.actions)}`;
        case 'CLEAR_ACTIONS': return 'clear';
        case 'METER': return `meter:${i.meterId}`;
        case 'EXPERIMENTER': return `exp:${i.experimenter}:${toHex(i.data)}`;
      }
    })
    .join(';');
}
