// API tokens and rate limits.
//
// A token is "bl.<id>.<secret>": <id> is public (16 hex digits) and names the stored record, so checking
// a token runs scrypt once, not once per stored token; <secret> is 32 random bytes (base64url) that is
// shown once, at creation, and stored only as scrypt(secret, salt). Verified tokens are remembered by
// their SHA-256 for a short time so a busy client does not pay scrypt on every request; every use still
// looks the token up in the store (a map lookup), so a revocation, also one made on another agent and
// replicated here, takes effect at once.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokenRecord, TokenStore } from './ports.js';

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;
export const TOKEN_RE = /^bl\.([0-9a-f]{16}|admin)\.([A-Za-z0-9_-]{43})$/;

function scrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(secret, salt, KEYLEN, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export interface Principal {
  role: 'admin' | 'tenant';
  tenant?: string;
  /** Token id ("admin" for the configured admin token): the rate-limit key. */
  tokenId: string;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Creates a new random admin token string (for the admin token file). */
export function newAdminToken(): string {
  return `bl.admin.${randomBytes(32).toString('base64url')}`;
}

/**
 * Reads the admin token from `file`, creating the file (mode 0600) with a new token when it does not exist.
 * The agent calls this with `api.adminTokenFile` or `<dataDir>/admin-token`.
 */
export function loadOrCreateAdminToken(file: string): string {
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (!TOKEN_RE.test(token) && token.length < 32) {
      throw new Error(`admin token in ${file} is too short (${token.length} characters); delete the file to have a new one generated, or write a token of at least 32 characters`);
    }
    return token;
  }
  mkdirSync(dirname(file), { recursive: true });
  const token = newAdminToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

export class TokenAuthority {
  readonly #store: TokenStore;
  readonly #adminDigest: Buffer | undefined;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  /** sha256(token) hex -> verified principal and when that verification expires. */
  readonly #verified = new Map<string, { principal: Principal; until: number }>();
  /** sha256(token) hex -> the scrypt verification under way for it. */
  readonly #inflight = new Map<string, Promise<Principal | undefined>>();

  constructor(opts: { store: TokenStore; adminToken?: string; clock?: Clock; cacheMs?: number }) {
    this.#store = opts.store;
    this.#adminDigest = opts.adminToken === undefined ? undefined : sha256(opts.adminToken);
    this.#clock = opts.clock ?? systemClock;
    this.#cacheMs = opts.cacheMs ?? 60_000;
  }

  /** Creates a token and returns its string: the only time the secret exists outside the client. */
  async create(role: 'admin' | 'tenant', tenant?: string, description?: string): Promise<{ token: string; record: Omit<TokenRecord, 'salt' | 'hash'> }> {
    if (role === 'tenant' && !tenant) throw new Error('a tenant token needs a tenant');
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const hash = await scrypt(secret, salt);
    const record: TokenRecord = {
      id,
      role,
      ...(role === 'tenant' ? { tenant } : {}),
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      createdAt: new Date(this.#clock.now()).toISOString(),
      ...(description ? { description } : {}),
    };
    await this.#store.put(id, record);
    return { token: `bl.${id}.${secret}`, record: publicRecord(record) };
  }

  /**
   * Stores the hash of an existing tenant token. Since tokens replicate, this is only needed for a token
   * the cluster does not know (e.g. one kept from an older agent); a token already valid for this tenant
   * answers `existing: true` and changes nothing, so scripts that install a token on every agent still
   * work. Returns undefined when the token is malformed or its id belongs to another token or tenant.
   */
  async importToken(token: string, tenant: string, description?: string): Promise<{ info: Omit<TokenRecord, 'salt' | 'hash'>; existing: boolean } | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m || m[1] === 'admin') return undefined;
    const known = await this.#store.get(m[1]!);
    if (known) {
      const same = known.tenant === tenant && (await this.#matches(known, m[2]!));
      return same ? { info: publicRecord(known), existing: true } : undefined;
    }
    const salt = randomBytes(16);
    const hash = await scrypt(m[2]!, salt);
    const record: TokenRecord = {
      id: m[1]!,
      role: 'tenant',
      tenant,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      createdAt: new Date(this.#clock.now()).toISOString(),
      ...(description ? { description } : {}),
    };
    await this.#store.put(record.id, record);
    return { info: publicRecord(record), existing: false };
  }

  async #matches(record: TokenRecord, secret: string): Promise<boolean> {
    const expected = Buffer.from(record.hash, 'base64');
    const actual = await scrypt(secret, Buffer.from(record.salt, 'base64'));
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  async list(tenant?: string): Promise<Omit<TokenRecord, 'salt' | 'hash'>[]> {
    const all = await this.#store.list();
    return all.filter((r) => tenant === undefined || r.tenant === tenant).map(publicRecord);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return this.#store.get(id);
  }

  async revoke(id: string): Promise<boolean> {
    for (const [k, v] of this.#verified) if (v.principal.tokenId === id) this.#verified.delete(k);
    return this.#store.delete(id);
  }

  /** Revokes every token of a tenant (when the tenant is deleted). */
  async revokeTenant(tenant: string): Promise<number> {
    let n = 0;
    for (const r of await this.#store.list()) if (r.tenant === tenant && (await this.revoke(r.id))) n++;
    return n;
  }

  /** The principal for a bearer token, or undefined when it is not a valid, unrevoked token. */
  async verify(token: string): Promise<Principal | undefined> {
    const digest = sha256(token);
    if (this.#adminDigest && timingSafeEqual(digest, this.#adminDigest)) return { role: 'admin', tokenId: 'admin' };
    const key = digest.toString('hex');
    const now = this.#clock.now();
    const hit = this.#verified.get(key);
    if (hit && hit.until > now && (await this.#store.get(hit.principal.tokenId))) return hit.principal;
    if (hit) this.#verified.delete(key);
    // A client that opens with many requests at once (a new token, 100 in flight) would otherwise
    // run scrypt once per request before the first result lands in the cache: they share one.
    let flight = this.#inflight.get(key);
    if (!flight) {
      flight = this.#verifyScrypt(token, key, now).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, flight);
    }
    return flight;
  }

  async #verifyScrypt(token: string, key: string, now: number): Promise<Principal | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m || m[1] === 'admin') return undefined;
    const record = await this.#store.get(m[1]!);
    if (!record || !(await this.#matches(record, m[2]!))) return undefined;
    // A revoke that ran while scrypt was computing must win.
    if (!(await this.#store.get(record.id))) return undefined;
    const principal: Principal = record.role === 'admin' ? { role: 'admin', tokenId: record.id } : { role: 'tenant', tenant: record.tenant!, tokenId: record.id };
    this.#verified.set(key, { principal, until: now + this.#cacheMs });
    return principal;
  }
}

function publicRecord(r: TokenRecord): Omit<TokenRecord, 'salt' | 'hash'> {
  const { salt: _s, hash: _h, ...rest } = r;
  return rest;
}

/** A TokenStore kept in memory: for tests and for an agent run without a data directory. */
export class MemoryTokenStore implements TokenStore {
  readonly #m = new Map<string, TokenRecord>();
  get(id: string): TokenRecord | undefined {
    return this.#m.get(id);
  }
  put(id: string, record: TokenRecord): void {
    this.#m.set(id, record);
  }
  delete(id: string): boolean {
    return this.#m.delete(id);
  }
  list(): TokenRecord[] {
    return [...this.#m.values()];
  }
}

export interface RateLimit {
  /** Sustained requests per second per token. */
  perSecond: number;
  /** Bucket size: requests allowed in a burst. */
  burst: number;
}

/** Token buckets keyed by token id (or client address for unauthenticated failures). */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly limit: RateLimit, private readonly clock: Clock = systemClock) {}

  /** Takes one request from the key's bucket: 0 when allowed, else the seconds to wait (>= 1). */
  take(key: string): number {
    const now = this.clock.now();
    const { perSecond, burst } = this.limit;
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= RateLimiter.MAX_KEYS) this.#prune(now);
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }

  /** Most keys remembered: client addresses are not bounded, memory must be. */
  static readonly MAX_KEYS = 10_000;

  /**
   * Forgets full buckets (they behave like new ones); if that is not enough, the longest-idle keys
   * (Map order is insertion order, so the oldest first), which at worst gives them a fresh burst.
   */
  #prune(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.#buckets.delete(k);
    }
    for (const k of this.#buckets.keys()) {
      if (this.#buckets.size < RateLimiter.MAX_KEYS * 0.9) break;
      this.#buckets.delete(k);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
