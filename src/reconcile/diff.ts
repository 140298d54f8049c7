// The one function that turns the difference between desired and installed into changes, and the one
// function that turns changes into FLOW_MOD bodies. Both are pure: the reconciler sends, the session writes.
import { isOwnCookie, withGeneration } from './cookie.js';
import type { FlowTable, TableEntry } from './table.js';
import type { FlowModBody } from './oftypes.js';

/**
 * - add: the identity is not installed.
 * - replace: the identity is installed with a different cookie (a foreign flow, or another kind/VNI):
 *   sent as ADD, which replaces the entry in place (OpenFlow 1.3 MODIFY cannot change a cookie).
 * - modify: same identity and cookie, different instructions: MODIFY_STRICT keeps counters and duration.
 * - delete: installed, no longer desired (bumless's stale flows and foreign flows alike), DELETE_STRICT.
 */
export type ChangeOp = 'add' | 'replace' | 'modify' | 'delete';

export interface Change {
  op: ChangeOp;
  /** For add/replace/modify: the desired entry with the cookie to write; for delete: the installed entry. */
  entry: TableEntry;
}

export interface DiffSummary {
  adds: number;
  replaces: number;
  mods: number;
  dels: number;
  foreignDeleted: number;
}

export interface Diff {
  /** Ordered for safe splitting across several bundles: adds and replaces, then modifies, then deletes. */
  changes: Change[];
  summary: DiffSummary;
}

/**
 * Difference between desired and installed. `keys`, when given, limits the comparison to those
 * identities (incremental updates); otherwise every identity of both tables is compared.
 * A desired flow whose instructions and cookie data match the installed one is left alone, whatever
 * generation the installed cookie carries: after a restart nothing that is still right is rewritten.
 */
export function diffTables(desired: FlowTable, installed: FlowTable, generation: number, keys?: Iterable<string>): Diff {
  const adds: Change[] = [];
  const mods: Change[] = [];
  const dels: Change[] = [];
  const summary: DiffSummary = { adds: 0, replaces: 0, mods: 0, dels: 0, foreignDeleted: 0 };
  const stamped = new Map<bigint, bigint>();
  const stamp = (e: TableEntry): TableEntry => stampEntry(e, generation, stamped);

  const visit = (key: string, want = desired.get(key)): void => {
    const have = installed.get(key);
    if (want === undefined) {
      if (have !== undefined) {
        dels.push({ op: 'delete', entry: have });
        summary.dels++;
        if (!isOwnCookie(have.flow.cookie)) summary.foreignDeleted++;
      }
      return;
    }
    if (have === undefined) {
      adds.push({ op: 'add', entry: stamp(want) });
      summary.adds++;
      return;
    }
    if (have.cdata !== want.cdata) {
      adds.push({ op: 'replace', entry: stamp(want) });
      summary.replaces++;
      return;
    }
    if (have.ikey !== want.ikey) {
      // MODIFY keeps the installed cookie; record the flow as it will be on the switch.
      const flow = { ...want.flow, cookie: have.flow.cookie };
      mods.push({ op: 'modify', entry: { key, flow, ikey: want.ikey, cdata: have.cdata } });
      summary.mods++;
    }
  };

  if (keys === undefined) {
    for (const e of desired.values()) visit(e.key, e);
    if (installed.size > 0) for (const k of installed.keys()) if (!desired.has(k)) visit(k);
  } else {
    for (const k of new Set(keys)) visit(k);
  }
  // A first programming is all adds: no 100,000-element copy for it.
  return { changes: mods.length === 0 && dels.length === 0 ? adds : [...adds, ...mods, ...dels], summary };
}

/**
 * The desired entry with `generation` in its cookie, as it is written. `cookies` maps cookies to their
 * stamped form: a cookie is a heap object, and the stamped flows share one per (kind, VNI).
 */
export function stampEntry(e: TableEntry, generation: number, cookies: Map<bigint, bigint>): TableEntry {
  let cookie = cookies.get(e.flow.cookie);
  if (cookie === undefined) cookies.set(e.flow.cookie, (cookie = withGeneration(e.flow.cookie, generation)));
  if (cookie === e.flow.cookie) return e;
  // Same identity, instructions and cookie data: only the generation bits differ. Fields spelled out: a
  // literal is several times cheaper than a spread over 100,000 flows.
  const f = e.flow;
  return { key: e.key, flow: { tableId: f.tableId, priority: f.priority, match: f.match, instructions: f.instructions, cookie }, ikey: e.ikey, cdata: e.cdata };
}

/** Applies confirmed changes to the installed table. */
export function applyChanges(installed: FlowTable, changes: Iterable<Change>): void {
  for (const c of changes) {
    if (c.op === 'delete') installed.delete(c.entry.key);
    else installed.putEntry(c.entry);
  }
}

/** FLOW_MOD body for one change: strict commands by identity, never a wildcard delete. */
export function changeToFlowMod(c: Change): FlowModBody {
  const f = c.entry.flow;
  const command = c.op === 'delete' ? 'DELETE_STRICT' : c.op === 'modify' ? 'MODIFY_STRICT' : 'ADD';
  return {
    command,
    // cookie_mask 0: strict modify/delete select by identity alone, whoever owns the flow.
    cookie: f.cookie,
    cookieMask: 0n,
    tableId: f.tableId,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: f.priority,
    bufferId: 'NO_BUFFER',
    outPort: 'ANY',
    outGroup: 'ANY',
    flags: [],
    match: f.match,
    instructions: c.op === 'delete' ? [] : f.instructions,
  };
}
