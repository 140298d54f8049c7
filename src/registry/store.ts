// The durable registry store on lmdb. One lmdb environment holds named databases:
//   records  replicated records (tenants, networks, endpoints, tombstones) by record key
//   vv       this node's per-origin version vector
//   meta     schema version, HLC state, tombstone GC floors, node-local state
//   kv:NAME  generic keyspaces for other modules (schema v1 kept the API's token hashes in kv:tokens;
//            v2 replicates them as token records)
//
// Durability: an acknowledged write must survive kill -9 and power loss. lmdb-js defaults to
// "overlappingSync" on Linux, where a write's promise resolves when the transaction is committed
// and visible but *before* it is fsynced. We open with overlappingSync:false (and never noSync or
// noMetaSync), so each commit fsyncs data and meta pages before its promise resolves, and commit()
// additionally awaits `flushed`. lmdb batches all writes issued in one event-loop turn into one
// transaction, so 10,000 registrations cost a handful of fsyncs, not 10,000.
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { RegistryStoreFailedError } from './errors.js';
import type { Hlc, ReplicatedRecord, VersionVector } from './model.js';
import { Endpoint, Network, Tenant, TenantToken, endpointRecordKey, networkRecordKey, tenantRecordKey, tokenRecordKey } from './model.js';

export const SCHEMA_VERSION = 2;

export interface MigrationContext {
  root: RootDatabase;
  hostId: string;
  /** Wall clock at migration time, for HLC stamps of migrated records. */
  now: number;
}

export interface Migration {
  /** The schema version this migration produces (from version - 1). */
  version: number;
  description: string;
  /** Runs inside one synchronous write transaction; a failure leaves the old version in place. */
  up(ctx: MigrationContext): void;
}

/**
 * v0 was the prototype layout without replication metadata: databases `tenants` (name -> Tenant),
 * `networks` ("tenant/name" -> Network) and `endpoints` ("tenant/net/mac" -> Endpoint) and no
 * schema version. v1 turns each object into a replicated record stamped by this host, keeping only
 * this host's own endpoints (the others are relearned from their owners by the mesh).
 */
export const migrations: Migration[] = [
  {
    version: 1,
    description: 'v0 prototype tables -> replicated records with dots, HLCs and a version vector',
    up({ root, hostId, now }) {
      const records = root.openDB<ReplicatedRecord, string>({ name: 'records' });
      const vv = root.openDB<number, string>({ name: 'vv' });
      let counter = vv.get(hostId) ?? 0;
      let logical = 0;
      const stamp = (): { counter: number; hlc: Hlc } => ({ counter: ++counter, hlc: { wall: now, logical: logical++, node: hostId } });
      const legacy = (name: string): Database<unknown, string> => root.openDB<unknown, string>({ name });
      for (const { value } of legacy('tenants').getRange()) {
        const t = Tenant.safeParse(value);
        if (!t.success) continue;
        const r: ReplicatedRecord = { kind: 'tenant', key: tenantRecordKey(t.data.name), origin: hostId, ...stamp(), value: t.data };
        records.putSync(r.key, r);
      }
      for (const { value } of legacy('networks').getRange()) {
        const n = Network.safeParse(value);
        if (!n.success) continue;
        const s = stamp();
        const r: ReplicatedRecord = {
          kind: 'network',
          key: networkRecordKey(`${n.data.tenant}/${n.data.name}`),
          origin: hostId,
          ...s,
          value: n.data,
          created: s.hlc,
        };
        records.putSync(r.key, r);
      }
      for (const { value } of legacy('endpoints').getRange()) {
        const e = Endpoint.safeParse(value);
        if (!e.success || e.data.hostId !== hostId) continue;
        const r: ReplicatedRecord = { kind: 'endpoint', key: endpointRecordKey(e.data), origin: hostId, ...stamp(), value: e.data };
        records.putSync(r.key, r);
      }
      vv.putSync(hostId, counter);
      for (const name of ['tenants', 'networks', 'endpoints']) legacy(name).dropSync();
    },
  },
  {
    version: 2,
    description: 'the API\'s per-agent tenant tokens (keyspace kv:tokens) -> replicated token records',
    up({ root, hostId, now }) {
      // v1 kept tenant token hashes per agent; v2 replicates them as records (docs/mesh-protocol.md).
      // A token imported on several agents has the same id everywhere: each agent migrates its copy
      // and last-writer-wins keeps one of them, all hashes of the same secret.
      const records = root.openDB<ReplicatedRecord, string>({ name: 'records' });
      const vv = root.openDB<number, string>({ name: 'vv' });
      const kv = root.openDB<unknown, string>({ name: 'kv:tokens' });
      let counter = vv.get(hostId) ?? 0;
      let logical = 0;
      for (const { value } of kv.getRange()) {
        const old = value as { role?: unknown; tenant?: unknown } | undefined;
        // Admin-role records were never created by the API; tokens of deleted tenants stay dead.
        if (old?.role !== 'tenant' || typeof old.tenant !== 'string') continue;
        const tenant = records.get(tenantRecordKey(old.tenant));
        if (!tenant || tenant.kind !== 'tenant' || tenant.deleted) continue;
        const t = TenantToken.safeParse({ ...old, tenantCreatedAt: tenant.value.createdAt });
        if (!t.success || records.get(tokenRecordKey(t.data.id))) continue;
        const r: ReplicatedRecord = {
          kind: 'token',
          key: tokenRecordKey(t.data.id),
          origin: hostId,
          counter: ++counter,
          hlc: { wall: now, logical: logical++, node: hostId },
          value: t.data, // zod drops the old `role` field
        };
        records.putSync(r.key, r);
      }
      vv.putSync(hostId, counter);
      kv.dropSync();
    },
  },
];

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A batch written in one durable transaction. */
export interface CommitBatch {
  put?: ReplicatedRecord[];
  /** Record keys to remove outright (tombstone GC, full-sync pruning). */
  remove?: string[];
  vv?: VersionVector;
  meta?: Record<string, unknown>;
}

/** A generic durable keyspace (string keys, structured values) inside the registry's database. */
export interface KvSpace<T> {
  get(key: string): T | undefined;
  put(key: string, value: T): Promise<void>;
  delete(key: string): Promise<boolean>;
  entries(prefix?: string): Array<{ key: string; value: T }>;
}

export interface StoreOpenOptions {
  /** Directory of the lmdb environment (created if missing). */
  path: string;
  /** This host's id: migrations stamp converted records with it. */
  hostId: string;
  now?: () => number;
  /** Test seam for failed commits; production code never sets it. */
  faults?: StoreFaults;
}

/** Test seam: makes a commit fail the way a failed lmdb commit (disk full, I/O error) does. */
export interface StoreFaults {
  /**
   * Called inside a commit's lmdb transaction before anything is written, with the batches it
   * holds; an exception aborts the transaction, so none of them is written.
   */
  beforeCommit?(batches: readonly CommitBatch[]): void;
}

interface QueuedCommit {
  batch: CommitBatch;
  resolve: () => void;
  reject: (err: RegistryStoreFailedError) => void;
}

/** lmdb reports a failed commit as "Commit failed" and puts the cause in a promise beside it. */
async function storeErrorText(err: unknown): Promise<string> {
  if (!(err instanceof Error)) return String(err);
  const commitError = (err as Error & { commitError?: unknown }).commitError;
  if (commitError instanceof Promise) {
    const cause = await Promise.race([
      commitError.then(
        () => undefined,
        (e: unknown) => e,
      ),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 200).unref()),
    ]);
    if (cause instanceof Error) return `${err.message}: ${cause.message}`;
  }
  return err.message;
}

export class Store {
  private readonly records: Database<ReplicatedRecord, string>;
  private readonly vvDb: Database<number, string>;
  private readonly metaDb: Database<unknown, string>;
  private readonly kvs = new Map<string, KvSpace<unknown>>();
  private closed = false;
  private queued: QueuedCommit[] = [];
  private writing = false;
  private failure: RegistryStoreFailedError | undefined;

  private constructor(
    private readonly root: RootDatabase,
    readonly path: string,
    readonly migratedFrom: number,
    private readonly now: () => number,
    private readonly faults: StoreFaults | undefined,
  ) {
    this.records = root.openDB<ReplicatedRecord, string>({ name: 'records' });
    this.vvDb = root.openDB<number, string>({ name: 'vv' });
    this.metaDb = root.openDB<unknown, string>({ name: 'meta' });
  }

  static async open(opts: StoreOpenOptions): Promise<Store> {
    mkdirSync(opts.path, { recursive: true });
    let root: RootDatabase;
    try {
      root = open({ path: opts.path, maxDbs: 64, overlappingSync: false, noSync: false, noMetaSync: false });
    } catch (err) {
      throw new StoreError(`cannot open the registry database in ${opts.path}: ${(err as Error).message}; check that the directory is writable and not used by another agent`);
    }
    const meta = root.openDB<unknown, string>({ name: 'meta' });
    const raw = meta.get('schemaVersion');
    const from = typeof raw === 'number' ? raw : 0;
    if (from > SCHEMA_VERSION) {
      await root.close();
      throw new StoreError(`the registry database in ${opts.path} has schema version ${from}, newer than this bumless (${SCHEMA_VERSION}); upgrade bumless or use another dataDir`);
    }
    for (const m of migrations) {
      if (m.version <= from) continue;
      root.transactionSync(() => {
        m.up({ root, hostId: opts.hostId, now: (opts.now ?? Date.now)() });
        meta.putSync('schemaVersion', m.version);
      });
    }
    await root.flushed;
    return new Store(root, opts.path, from, opts.now ?? Date.now, opts.faults);
  }

  schemaVersion(): number {
    return this.metaDb.get('schemaVersion') as number;
  }

  loadRecords(): ReplicatedRecord[] {
    return [...this.records.getRange().map(({ value }) => value)];
  }

  getRecord(key: string): ReplicatedRecord | undefined {
    return this.records.get(key);
  }

  loadVv(): VersionVector {
    const vv: VersionVector = {};
    for (const { key, value } of this.vvDb.getRange()) vv[key] = value;
    return vv;
  }

  getMeta<T>(key: string): T | undefined {
    return this.metaDb.get(key) as T | undefined;
  }

  /**
   * Writes the batch in one transaction and resolves once it is fsynced (durable). Batches are
   * group-committed one lmdb transaction at a time, in call order: those that arrive while one
   * transaction is written go together into the next. Fail-stop: once a transaction fails, nothing
   * more is written; its batches, the queued ones and every later one reject with the same
   * RegistryStoreFailedError. (lmdb alone would go on committing transactions queued behind a
   * failed one, and a later batch may carry a version vector that covers the failed batch's records.)
   */
  commit(batch: CommitBatch): Promise<void> {
    // Errors as rejections, never thrown: callers chain on the promise.
    if (this.closed) return Promise.reject(new StoreError('the registry store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ batch, resolve, reject });
      if (!this.writing) void this.writeQueued();
    });
  }

  /** The failure that stopped this store's writes, if any. */
  failed(): RegistryStoreFailedError | undefined {
    return this.failure;
  }

  private async writeQueued(): Promise<void> {
    this.writing = true;
    let group: QueuedCommit[] = [];
    try {
      // lmdb runs the callback when it starts the transaction (a later turn), so every batch queued
      // until then goes in; as a child transaction, an exception aborts all of it.
      await this.root.childTransaction(() => {
        group = this.queued.splice(0);
        const batches = group.map((q) => q.batch);
        this.faults?.beforeCommit?.(batches);
        for (const b of batches) this.write(b);
      });
      await this.root.flushed;
    } catch (err) {
      const text = await storeErrorText(err);
      this.failure ??= new RegistryStoreFailedError(text, this.path, new Date(this.now()).toISOString());
      for (const q of [...group, ...this.queued.splice(0)]) q.reject(this.failure);
      return;
    }
    for (const q of group) q.resolve();
    this.writing = false;
    if (this.queued.length) void this.writeQueued();
  }

  private write(batch: CommitBatch): void {
    for (const r of batch.put ?? []) void this.records.put(r.key, r);
    for (const k of batch.remove ?? []) void this.records.remove(k);
    for (const [origin, c] of Object.entries(batch.vv ?? {})) void this.vvDb.put(origin, c);
    for (const [k, v] of Object.entries(batch.meta ?? {})) void (v === undefined ? this.metaDb.remove(k) : this.metaDb.put(k, v));
  }

  /** A named durable keyspace; its writes are fsynced before they resolve, like commit(). */
  kv<T>(name: string): KvSpace<T> {
    if (!/^[a-z0-9-]{1,40}$/.test(name)) throw new StoreError(`invalid keyspace name "${name}": use 1-40 lower-case letters, digits or "-"`);
    const existing = this.kvs.get(name);
    if (existing) return existing as KvSpace<T>;
    const db = this.root.openDB<T, string>({ name: `kv:${name}` });
    const space: KvSpace<T> = {
      get: (key) => db.get(key),
      put: async (key, value) => {
        this.assertWritable();
        await db.put(key, value);
        await this.root.flushed;
      },
      delete: async (key) => {
        this.assertWritable();
        if (db.get(key) === undefined) return false;
        await db.remove(key);
        await this.root.flushed;
        return true;
      },
      entries: (prefix) => {
        const range = prefix === undefined ? db.getRange() : db.getRange({ start: prefix, end: `${prefix}\uffff` });
        return [...range.map(({ key, value }) => ({ key, value }))];
      },
    };
    this.kvs.set(name, space);
    return space;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('the registry store is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.failure) throw this.failure;
  }
}
