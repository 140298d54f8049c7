// Level-based reconciliation (issue #4 item 6): the desired table comes from the pipeline, the installed
// table is learned from the switch (a FLOW dump on every connect) and then kept from what the switch
// confirmed. One loop turns their difference into bundles; nothing else writes flows.
//
// - Registry changes arrive as full sets (setDesired) or deltas (updateDesired); both only mark
//   identities dirty and schedule a run after `batchMs`, so a burst of changes becomes one bundle.
// - A run diffs the dirty identities (all of them after a dump), splits the changes into bundles of at
//   most `maxBundleFlows` flow mods (adds first, deletes last, so a split never opens a gap), and applies
//   each bundle atomically; the barrier after the commit confirms the generation.
// - A rejected bundle is rolled back by the switch (ATOMIC): the error is logged and counted, the flow
//   the switch named is set aside until its desired form changes, and the tables are re-dumped.
import { EventEmitter } from 'node:events';
import { realTimers, type TimerHandle, type Timers } from '../switch/clock.js';
import { isBundleError, type BundleResult, type BundlesOptions, type DumpedFlow, type FlowModCommand, type FlowModList, type Logger, type OfpErrorRecord, type StreamedBundle } from '../switch/session.js';
import { cookieData, cookieGeneration, isOwnCookie, newestGeneration, nextGeneration } from './cookie.js';
import { applyChanges, changeToFlowMod, diffTables, stampEntry, type Change, type DiffSummary } from './diff.js';
import { flowKey, instructionsKey } from './identity.js';
import { FlowTable, type DesiredFlow, type TableEntry } from './table.js';
import type { FlowModBody, Match } from './oftypes.js';

/** What the reconciler needs from the switch session (OpenFlowSession implements it). */
export interface FlowSwitch {
  readonly state: string;
  dumpFlows(filter?: object, timeoutMs?: number): Promise<DumpedFlow[]>;
  bundle(mods: readonly FlowModBody[], opts?: { timeoutMs?: number }): Promise<BundleResult>;
  /**
   * Streams the flow mods as bundles without a message object per flow mod (OpenFlowSession.streamBundles);
   * used when present, else the changes go through bundle() one bundle at a time.
   */
  streamBundles?(list: FlowModList, opts?: BundlesOptions): Promise<StreamedBundle[]>;
  on(event: 'connected' | 'disconnected', cb: () => void): unknown;
  off(event: 'connected' | 'disconnected', cb: () => void): unknown;
}

export interface ReconcilerOptions {
  timers?: Timers;
  logger?: Logger;
  /** Coalescing window for incremental updates. */
  batchMs?: number;
  /** Flow mods per bundle; larger diffs are split. */
  maxBundleFlows?: number;
  /** Time allowed for a dump or for one bundle's commit and barrier. */
  switchTimeoutMs?: number;
  /** Delay before retrying after a rejected bundle, doubled per consecutive failure up to 30 s. */
  retryMs?: number;
}

export interface FlowIdentity {
  tableId: number;
  priority: number;
  match: Match;
}

export interface ReconcileRun {
  at: number;
  generation: number;
  adds: number;
  replaces: number;
  mods: number;
  dels: number;
  foreignDeleted: number;
  bundles: number;
  durationMs: number;
  full: boolean;
}

export interface ReconcileStatus {
  desired: number;
  installed: number;
  inSync: boolean;
  generation: number;
  /** Generation whose last bundle the switch confirmed with a barrier. */
  confirmedGeneration: number;
  lastRun?: ReconcileRun;
  runs: number;
  dumps: number;
  flowModsSent: number;
  errors: number;
  /** Flows the switch rejected; not retried until their desired form changes. */
  rejected: { key: string; error: string }[];
}

export interface ReconcilerEvents {
  reconciled: [ReconcileRun];
  error: [OfpErrorRecord];
  idle: [];
}

export class Reconciler extends EventEmitter<ReconcilerEvents> {
  readonly #sw: FlowSwitch;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #batchMs: number;
  readonly #maxBundle: number;
  readonly #swTimeout: number;
  readonly #retryMs: number;

  #desired = new FlowTable();
  readonly #installed = new FlowTable();
  /** Identities to compare on the next run; 'all' after a dump or a full set. */
  #dirty: Set<string> | 'all' = 'all';
  #needDump = true;
  #generation = 0;
  #confirmedGeneration = 0;
  #timer: TimerHandle | undefined;
  #running = false;
  #started = false;
  /** No run before the first full desired set: an empty desired table would delete every installed flow. */
  #desiredKnown = false;
  #failures = 0;
  readonly #rejected = new Map<string, { ikey: string; cdata: bigint; error: string }>();
  #lastRun: ReconcileRun | undefined;
  #runs = 0;
  #dumps = 0;
  #flowModsSent = 0;
  #errors = 0;
  readonly #onConnected = (): void => {
    this.#needDump = true;
    this.#schedule(0);
  };
  readonly #onDisconnected = (): void => {
    // What the switch has is unknown until the next dump.
    this.#needDump = true;
  };

  constructor(sw: FlowSwitch, opts: ReconcilerOptions = {}) {
    super();
    this.#sw = sw;
    this.#timers = opts.timers ?? realTimers;
    this.#log = opts.logger ?? { debug() {}, info() {}, warn() {}, error() {} };
    this.#batchMs = opts.batchMs ?? 5;
    this.#maxBundle = opts.maxBundleFlows ?? 25000;
    this.#swTimeout = opts.switchTimeoutMs ?? 60000;
    this.#retryMs = opts.retryMs ?? 1000;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#sw.on('connected', this.#onConnected);
    this.#sw.on('disconnected', this.#onDisconnected);
    if (this.#sw.state === 'connected') this.#onConnected();
  }

  stop(): void {
    this.#started = false;
    this.#sw.off('connected', this.#onConnected);
    this.#sw.off('disconnected', this.#onDisconnected);
    if (this.#timer) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Replaces the whole desired table (a full recompute of the pipeline). */
  setDesired(flows: Iterable<DesiredFlow>): void {
    this.#desiredKnown = true;
    const next = FlowTable.from(flows);
    // Every identity is compared on the next run anyway (first set, or after a dump).
    if (this.#dirty === 'all') {
      this.#desired = next;
      this.#markDirty([]);
      return;
    }
    // Only identities whose desired form changed need a look; the rest were compared before.
    const changed: string[] = [];
    for (const e of next) {
      const old = this.#desired.get(e.key);
      if (!old || old.ikey !== e.ikey || old.cdata !== e.cdata) changed.push(e.key);
    }
    for (const k of this.#desired.keys()) if (!next.has(k)) changed.push(k);
    this.#desired = next;
    this.#markDirty(changed);
  }

  /** Applies a delta to the desired table (incremental pipeline output); runs only after a first setDesired. */
  updateDesired(delta: { upsert?: Iterable<DesiredFlow>; remove?: Iterable<FlowIdentity> }): void {
    const keys: string[] = [];
    for (const id of delta.remove ?? []) {
      const k = flowKey(id.tableId, id.priority, id.match);
      this.#desired.delete(k);
      keys.push(k);
    }
    for (const f of delta.upsert ?? []) keys.push(this.#desired.put(f).key);
    this.#markDirty(keys);
  }

  /** Forgets what is known about the switch and re-reads it on the next run. */
  resync(): void {
    this.#needDump = true;
    this.#schedule(0);
  }

  get desired(): FlowTable {
    return this.#desired;
  }

  get installed(): FlowTable {
    return this.#installed;
  }

  status(): ReconcileStatus {
    return {
      desired: this.#desired.size,
      installed: this.#installed.size,
      inSync: this.#isInSync(),
      generation: this.#generation,
      confirmedGeneration: this.#confirmedGeneration,
      ...(this.#lastRun && { lastRun: this.#lastRun }),
      runs: this.#runs,
      dumps: this.#dumps,
      flowModsSent: this.#flowModsSent,
      errors: this.#errors,
      rejected: [...this.#rejected].map(([key, r]) => ({ key, error: r.error })),
    };
  }

  /** Resolves once the switch has everything desired (or the flows it rejected set aside). */
  whenIdle(): Promise<void> {
    if (!this.#running && this.#timer === undefined && !this.#needDump && this.#dirtyEmpty()) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', () => resolve()));
  }

  /**
   * In sync: the switch was read, every desired change since has been confirmed, nothing is pending.
   * Flows the switch rejected are set aside and do not count (they are in status().rejected).
   */
  #isInSync(): boolean {
    return this.#desiredKnown && !this.#needDump && !this.#running && this.#timer === undefined && this.#dirtyEmpty();
  }

  #dirtyEmpty(): boolean {
    return this.#dirty !== 'all' && this.#dirty.size === 0;
  }

  #markDirty(keys: Iterable<string>): void {
    if (this.#dirty !== 'all') for (const k of keys) this.#dirty.add(k);
    this.#schedule(this.#batchMs);
  }

  #schedule(ms: number): void {
    if (!this.#started || this.#running || !this.#desiredKnown) return;
    if (this.#timer !== undefined) {
      if (ms > 0) return; // already coalescing
      this.#timers.clearTimeout(this.#timer);
    }
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, ms);
  }

  async #run(): Promise<void> {
    if (this.#running || !this.#started) return;
    this.#running = true;
    let retryIn: number | undefined;
    try {
      while (this.#started && this.#sw.state === 'connected') {
        if (this.#needDump) await this.#dump();
        if (this.#dirtyEmpty()) break;
        const ok = await this.#apply();
        if (!ok) {
          retryIn = Math.min(30000, this.#retryMs * 2 ** this.#failures);
          this.#failures++;
          break;
        }
        this.#failures = 0;
      }
    } catch (err) {
      // The connection went away or timed out: the next 'connected' starts over with a dump.
      this.#needDump = true;
      this.#log.warn({ err: (err as Error).message }, 'reconcile interrupted');
      if (this.#sw.state === 'connected') retryIn = this.#retryMs;
    } finally {
      this.#running = false;
    }
    if (retryIn !== undefined) this.#schedule(retryIn);
    else if (!this.#dirtyEmpty() && this.#sw.state === 'connected') this.#schedule(this.#batchMs);
    else if (!this.#needDump && this.#dirtyEmpty()) this.emit('idle');
  }

  async #dump(): Promise<void> {
    const flows = await this.#sw.dumpFlows({}, this.#swTimeout);
    this.#dumps++;
    this.#installed.clear();
    const gens: number[] = [];
    let undecodable = 0;
    // Decoded cookies are one heap object per flow; the installed table keeps one per distinct value.
    const cookies = new Map<bigint, bigint>();
    for (const f of flows) {
      if (f.undecodable) {
        // Its instructions are unknown: an instruction key no desired flow has, so a desired flow with
        // this identity is rewritten and a foreign one deleted by identity (DELETE_STRICT, its match).
        undecodable++;
        const flow = { tableId: f.tableId, priority: f.priority, match: f.match, instructions: [], cookie: f.cookie, undecodable: f.undecodable };
        const ikey = `undecodable:${Buffer.from(f.undecodable.instructions).toString('hex')}`;
        this.#installed.putEntry({ key: flowKey(f.tableId, f.priority, f.match), flow, ikey, cdata: cookieData(f.cookie) });
      } else {
        let cookie = cookies.get(f.cookie);
        if (cookie === undefined) cookies.set(f.cookie, (cookie = f.cookie));
        this.#installed.putEntry(this.#installedEntry(f, cookie));
      }
      if (isOwnCookie(f.cookie)) gens.push(cookieGeneration(f.cookie));
    }
    if (undecodable > 0) this.#log.warn({ undecodable }, 'installed flows with instructions the codec cannot decode: replaced or deleted by identity');
    // Continue after the newest generation on the switch, so a restarted agent never reuses one.
    const newest = newestGeneration(gens);
    if (this.#generation === 0 || (newest !== 0 && newestGeneration([newest, this.#generation]) === newest)) this.#generation = newest;
    this.#needDump = false;
    this.#dirty = 'all';
    this.#log.debug({ installed: this.#installed.size, generation: this.#generation }, 'read installed flows');
  }

  /**
   * The installed entry of a dumped flow. A flow the switch holds exactly as desired (same identity,
   * instructions and cookie data: the common case after a restart) shares the desired entry's key, match
   * and instructions and keeps only its own cookie, so a dump of 100,000 flows does not keep a second
   * decoded copy of them (bench B4). Any other flow keeps what the switch sent.
   */
  #installedEntry(f: DumpedFlow, cookie: bigint): TableEntry {
    const key = flowKey(f.tableId, f.priority, f.match);
    const ikey = instructionsKey(f.instructions);
    const cdata = cookieData(cookie);
    const want = this.#desired.get(key);
    if (want !== undefined && want.ikey === ikey && want.cdata === cdata) {
      const w = want.flow;
      return { key: want.key, flow: { tableId: w.tableId, priority: w.priority, match: w.match, instructions: w.instructions, cookie }, ikey: want.ikey, cdata: want.cdata };
    }
    return { key, flow: { tableId: f.tableId, priority: f.priority, match: f.match, instructions: f.instructions, cookie }, ikey, cdata };
  }

  #isSetAside(c: Change): boolean {
    if (c.op === 'delete') return false;
    const r = this.#rejected.get(c.entry.key);
    const want = this.#desired.get(c.entry.key);
    return r !== undefined && want !== undefined && r.ikey === want.ikey && r.cdata === want.cdata;
  }

  /** One diff, applied in one or more bundles. Returns false when the switch rejected something. */
  async #apply(): Promise<boolean> {
    const started = this.#timers.now();
    const dirty = this.#dirty;
    this.#dirty = new Set();
    const full = dirty === 'all';
    // Set-aside flows whose desired form changed get another chance.
    for (const [k, r] of this.#rejected) {
      const want = this.#desired.get(k);
      if (!want || want.ikey !== r.ikey || want.cdata !== r.cdata) this.#rejected.delete(k);
    }
    const gen = nextGeneration(this.#generation);
    let n: number;
    let change: (i: number) => Change;
    let summary: DiffSummary;
    let changes: Change[] | undefined;
    if (full && this.#installed.size === 0 && this.#rejected.size === 0 && this.#sw.streamBundles) {
      // First programming of an empty table (an agent's first start, a restarted switch): every desired
      // flow is an add, in desired order as diffTables would list them. They are stamped while being
      // streamed rather than in a diff before the first flow mod can go out.
      const entries = [...this.#desired.values()];
      const made = new Array<Change>(entries.length);
      const cookies = new Map<bigint, bigint>();
      n = entries.length;
      change = (i) => (made[i] ??= { op: 'add', entry: stampEntry(entries[i]!, gen, cookies) });
      summary = { adds: n, replaces: 0, mods: 0, dels: 0, foreignDeleted: 0 };
    } else {
      const diff = diffTables(this.#desired, this.#installed, gen, full ? undefined : dirty);
      const all = this.#rejected.size === 0 ? diff.changes : diff.changes.filter((c) => !this.#isSetAside(c));
      changes = all;
      n = all.length;
      change = (i) => all[i]!;
      summary = summarize(all);
    }
    if (n === 0) return true;
    this.#generation = gen;

    let bundles = 0;
    if (this.#sw.streamBundles) {
      // Streamed: the switch works on the first flow mods while the rest are still being encoded, and
      // only the last commit and its barrier are waited for (OpenFlowSession.streamBundles). Bundles
      // even for an empty table: plain flow mods were measured to cost ovs-vswitchd as much or more
      // (docs/agent.md, "How flows reach the switch"), and lose the all-or-nothing commit.
      const list: FlowModList = {
        length: n,
        command: (i) => COMMAND[change(i).op],
        flow: (i) => change(i).entry.flow,
      };
      const results = await this.#sw.streamBundles(list, { timeoutMs: this.#swTimeout, maxBundleFlows: this.#maxBundle });
      let done = 0;
      for (const r of results) {
        bundles++;
        this.#flowModsSent += r.end - r.start;
        const chunk: Change[] = [];
        for (let i = r.start; i < r.end; i++) chunk.push(change(i));
        if (!r.committed) {
          this.#onRejected(r, chunk, r.start);
          return false;
        }
        applyChanges(this.#installed, chunk);
        done = r.end;
      }
      if (done < n) throw new Error(`the switch session confirmed ${done} of ${n} flow mods`);
    } else {
      changes ??= Array.from({ length: n }, (_, i) => change(i));
      for (let i = 0; i < changes.length; i += this.#maxBundle) {
        const chunk = changes.slice(i, i + this.#maxBundle);
        const result = await this.#sw.bundle(chunk.map(changeToFlowMod), { timeoutMs: this.#swTimeout });
        bundles++;
        this.#flowModsSent += chunk.length;
        if (!result.committed) {
          this.#onRejected(result, chunk, i);
          return false;
        }
        applyChanges(this.#installed, chunk);
      }
    }
    this.#confirmedGeneration = gen;
    const run: ReconcileRun = {
      at: started,
      generation: gen,
      ...summary,
      bundles,
      durationMs: this.#timers.now() - started,
      full,
    };
    this.#lastRun = run;
    this.#runs++;
    this.#log.info(run, 'flows reconciled');
    this.emit('reconciled', run);
    return true;
  }

  /** `offset`: the index of chunk[0] among the run's changes (an error's `index` counts from there). */
  #onRejected(result: BundleResult, chunk: Change[], offset: number): void {
    this.#errors++;
    let byKey: Map<string, Change> | undefined;
    for (const e of result.errors) {
      this.emit('error', e);
      // A bundle-level error (the bundle could not be opened, say) is no verdict on the flow it came for.
      if (isBundleError(e)) continue;
      let c: Change | undefined;
      if (e.index !== undefined) c = chunk[e.index - offset];
      else if (e.flow && typeof e.flow.tableId === 'number') {
        byKey ??= new Map(chunk.map((x) => [x.entry.key, x]));
        c = byKey.get(flowKey(e.flow.tableId, e.flow.priority, e.flow.match));
      }
      if (!c || c.op === 'delete') continue;
      const want = this.#desired.get(c.entry.key);
      if (want) this.#rejected.set(c.entry.key, { ikey: want.ikey, cdata: want.cdata, error: e.text });
    }
    this.#log.error(
      { bundleId: result.bundleId, flowMods: result.messages, errors: result.errors.map((e) => e.text) },
      'switch rejected a flow bundle; re-reading its flows',
    );
    // ATOMIC: nothing of this bundle was applied. Re-read to be sure of what the switch has.
    this.#needDump = true;
  }
}

const COMMAND: Record<Change['op'], FlowModCommand> = { add: 'ADD', replace: 'ADD', modify: 'MODIFY_STRICT', delete: 'DELETE_STRICT' };

function summarize(changes: Change[]): DiffSummary {
  const out: DiffSummary = { adds: 0, replaces: 0, mods: 0, dels: 0, foreignDeleted: 0 };
  for (const c of changes) {
    if (c.op === 'add') out.adds++;
    else if (c.op === 'replace') out.replaces++;
    else if (c.op === 'modify') out.mods++;
    else {
      out.dels++;
      if (!isOwnCookie(c.entry.flow.cookie)) out.foreignDeleted++;
    }
  }
  return out;
}
