// Loading the agent configuration (issue #4 "Run"): a JSON file, then environment variables
// (BUMLESS_<KEY_PATH>, e.g. BUMLESS_API_LISTEN for api.listen), then flags (--set api.listen=...),
// validated once with the schema in src/config/schema.ts. Every error names the key, where its value
// came from and what is allowed, so a user can fix the right file, variable or flag.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { AgentConfig } from '../config/schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Leaf = 'string' | 'number' | 'boolean' | 'json';

interface KeyInfo {
  path: string[];
  leaf: Leaf;
}

interface ZodDefLike {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
}

function defOf(s: z.ZodType): ZodDefLike {
  return (s as unknown as { def: ZodDefLike }).def;
}

/** Strips defaults, optionals and pipes down to the schema that says what a value is. */
function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const d = defOf(cur);
    if (d.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else break;
  }
  return cur;
}

function objectShape(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = defOf(s);
  if (d.type !== 'object') return undefined;
  return (s as unknown as { shape: Record<string, z.ZodType> }).shape;
}

/** Every settable key of the schema: leaves, plus objects and arrays as whole JSON values. */
function keysOf(schema: z.ZodType, prefix: string[] = []): KeyInfo[] {
  const shape = objectShape(unwrap(schema));
  if (!shape) return [];
  const out: KeyInfo[] = [];
  for (const [k, v] of Object.entries(shape)) {
    const inner = unwrap(v);
    const t = defOf(inner).type;
    const path = [...prefix, k];
    if (t === 'object') {
      out.push({ path, leaf: 'json' });
      out.push(...keysOf(inner, path));
    } else if (t === 'number' || t === 'int') out.push({ path, leaf: 'number' });
    else if (t === 'boolean') out.push({ path, leaf: 'boolean' });
    else if (t === 'array' || t === 'record') out.push({ path, leaf: 'json' });
    else out.push({ path, leaf: 'string' });
  }
  return out;
}

const KEYS = keysOf(AgentConfig);

/** api.listen -> BUMLESS_API_LISTEN; openflow.echoIntervalMs -> BUMLESS_OPENFLOW_ECHO_INTERVAL_MS */
export function envName(path: readonly string[]): string {
  return `BUMLESS_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** The keys that can be set, as dotted paths (for help texts and errors). */
export function configKeys(): string[] {
  return KEYS.map((k) => k.path.join('.'));
}

function convert(key: KeyInfo, raw: string, source: string): unknown {
  const name = key.path.join('.');
  switch (key.leaf) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`config key ${name} (from ${source}): "${raw}" is not a number`);
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw.trim())) return true;
      if (/^(false|0|no)$/i.test(raw.trim())) return false;
      throw new ConfigError(`config key ${name} (from ${source}): "${raw}" is not a boolean; use true or false`);
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new ConfigError(`config key ${name} (from ${source}): "${raw}" is not JSON; give the value as JSON, e.g. ${name}=[] or ${name}={}`);
      }
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

export interface LoadOptions {
  /** The configuration file (JSON). Optional: everything may come from the environment and flags. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** "key.path=value" overrides from --set flags, applied last. */
  sets?: readonly string[];
}

export interface LoadedConfig {
  config: AgentConfig;
  /** Where each overridden key came from, e.g. { 'api.listen': 'BUMLESS_API_LISTEN' }. */
  overrides: Record<string, string>;
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
  let cur = raw;
  for (const p of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, sources: Record<string, string>, file: string | undefined, raw: unknown): string {
  const path = issue.path.map(String);
  const input = valueAt(raw, path);
  const name = path.join('.') || '(top level)';
  const src = sources[path.join('.')] ?? (path.length > 1 ? sources[path.slice(0, -1).join('.')] : undefined) ?? (file ? `file ${file}` : 'defaults');
  if (issue.code === 'unrecognized_keys') {
    const parent = path.length ? `${name}.` : '';
    const allowedHere = KEYS.filter((k) => k.path.length === path.length + 1 && k.path.slice(0, path.length).join('.') === path.join('.')).map((k) => k.path[k.path.length - 1]);
    return `unknown config key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => parent + k).join(', ')} (in ${src}); allowed here: ${allowedHere.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && input === undefined) {
    return `config key ${name} is missing; set it in the config file, with ${envName(path)} or with --set ${name}=...`;
  }
  const got = input === undefined ? '' : ` (got ${JSON.stringify(input)?.slice(0, 80)})`;
  return `config key ${name} (from ${src}): ${issue.message}${got}`;
}

/** Reads, merges and validates the configuration; throws ConfigError naming every bad key. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  let raw: Record<string, unknown> = {};
  if (opts.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the config file ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path given to --config`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`the config file ${opts.file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`the config file ${opts.file} must hold a JSON object with keys like hostId, vtepIp, dataDir`);
    }
    raw = parsed as Record<string, unknown>;
  }
  const sources: Record<string, string> = {};
  const env = opts.env ?? {};
  for (const key of KEYS) {
    const name = envName(key.path);
    const v = env[name];
    if (v === undefined) continue;
    setPath(raw, key.path, convert(key, v, name));
    sources[key.path.join('.')] = name;
  }
  for (const s of opts.sets ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set "${s}" is not KEY=VALUE; e.g. --set api.listen=127.0.0.1:8080`);
    const name = s.slice(0, eq).trim();
    const key = KEYS.find((k) => k.path.join('.') === name);
    if (!key) throw new ConfigError(`--set ${name}: unknown config key; allowed keys: ${configKeys().join(', ')}`);
    setPath(raw, key.path, convert(key, s.slice(eq + 1), `--set ${name}`));
    sources[name] = `--set ${name}`;
  }
  const r = AgentConfig.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => describeIssue(i, sources, opts.file, raw));
    throw new ConfigError(lines.length === 1 ? lines[0]! : `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = r.data;
  if (config.mesh.peers.length > 0 && !config.mesh.tls) {
    throw new ConfigError('config key mesh.tls is missing: mesh.peers are configured and the mesh only runs over mutual TLS; create certificates with "bumless cert" and set mesh.tls.{ca,cert,key}');
  }
  if (config.openflow.target?.startsWith('ssl:') && !config.openflow.tls) {
    throw new ConfigError(`config key openflow.tls is missing: openflow.target ${config.openflow.target} needs a client certificate (openflow.tls.{ca,cert,key})`);
  }
  return { config, overrides: sources };
}
