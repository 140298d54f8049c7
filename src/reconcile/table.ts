// The two tables of OVN's ofctrl: what the pipeline wants (desired) and what the switch has (installed).
// Both are keyed by flow identity; each entry keeps its instruction and cookie keys so a diff over
// 100,000 flows compares strings instead of walking structures again.
import { cookieData } from './cookie.js';
import { flowKey, instructionsKey } from './identity.js';
import type { Instruction, Match } from './oftypes.js';
import { flatString } from '../util/flat.js';

/** A flow as the pipeline describes it; also the shape of an installed flow. */
export interface Flow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
}

/** The pipeline's output type; the reconciler stamps the generation into the cookie. */
export type DesiredFlow = Flow;

export interface TableEntry {
  readonly key: string;
  readonly flow: Flow;
  /** instructionsKey(flow.instructions) */
  readonly ikey: string;
  /** cookieData(flow.cookie): the cookie without its generation. */
  readonly cdata: bigint;
}

/**
 * Keys of flow objects already seen. The pipeline hands over the same objects for networks that did
 * not change, so a full desired set of 100,000 flows costs map lookups, not 100,000 canonical
 * encodings. Flows are treated as immutable data once handed to the reconciler.
 */
const entryCache = new WeakMap<Flow, TableEntry>();

export function makeEntry(flow: Flow, key?: string): TableEntry {
  const cached = entryCache.get(flow);
  if (cached && (key === undefined || cached.key === key)) return cached;
  // A bigint is a heap object: the pipeline's cookies carry no generation, so their data is the cookie itself.
  const data = cookieData(flow.cookie);
  const e = { key: key ?? flatString(flowKey(flow.tableId, flow.priority, flow.match)), flow, ikey: cachedInstructionsKey(flow.instructions), cdata: data === flow.cookie ? flow.cookie : data };
  entryCache.set(flow, e);
  return e;
}

/**
 * The pipeline shares one instruction list between many flows (every remote endpoint behind one VTEP),
 * so the key is made, and held in memory, once per list.
 */
const ikeyCache = new WeakMap<readonly Instruction[], string>();
export function cachedInstructionsKey(instructions: Instruction[]): string {
  let k = ikeyCache.get(instructions);
  if (k === undefined) {
    k = flatString(instructionsKey(instructions));
    ikeyCache.set(instructions, k);
  }
  return k;
}

export class FlowTable {
  readonly #entries = new Map<string, TableEntry>();

  static from(flows: Iterable<Flow>): FlowTable {
    const t = new FlowTable();
    for (const f of flows) t.put(f);
    return t;
  }

  /** Inserts or replaces the flow with the same identity; returns its entry. */
  put(flow: Flow): TableEntry {
    const e = makeEntry(flow);
    this.#entries.set(e.key, e);
    return e;
  }

  putEntry(e: TableEntry): void {
    this.#entries.set(e.key, e);
  }

  get(key: string): TableEntry | undefined {
    return this.#entries.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  values(): IterableIterator<TableEntry> {
    return this.#entries.values();
  }

  [Symbol.iterator](): IterableIterator<TableEntry> {
    return this.#entries.values();
  }
}
