// The CLI's client of the agent REST API: where the API is and which token to send (flags, then
// environment, then the config file, then defaults), one request function, and errors that say what to do.
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './command.js';

export const DEFAULT_API = 'http://127.0.0.1:8080';

/** Options every API command accepts (node:util parseArgs descriptors). */
export const connectionOptions = {
  api: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'cli-config': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const connectionHelp = `connection (flags, else environment, else the config file):
  --api URL          agent API, env BUMLESS_API, config "api" (default ${DEFAULT_API})
  --token TOKEN      bearer token, env BUMLESS_TOKEN, config "token"
  --token-file FILE  read the token from FILE (e.g. the agent's admin token file), env BUMLESS_TOKEN_FILE, config "tokenFile"
  --ca FILE          CA certificate to trust for an https API, env BUMLESS_CA, config "ca"
  --cli-config FILE  config file (default ~/.config/bumless/cli.json), env BUMLESS_CLI_CONFIG
  --json             machine-readable output`;

export interface ConnectionFlags {
  api?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'cli-config'?: string | undefined;
  ca?: string | undefined;
}

interface CliConfigFile {
  api?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
}

function readConfig(path: string, explicit: boolean): CliConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the CLI config ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the CLI config ${path} is not valid JSON (${(err as Error).message}); write e.g. {"api": "${DEFAULT_API}", "token": "bl...."}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`the CLI config ${path} must be a JSON object with "api", "token", "tokenFile" or "ca"`);
  }
  const out: CliConfigFile = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!['api', 'token', 'tokenFile', 'ca'].includes(k)) throw new UsageError(`the CLI config ${path} has an unknown key "${k}"; allowed: api, token, tokenFile, ca`);
    if (typeof v !== 'string') throw new UsageError(`the CLI config ${path}: "${k}" must be a string`);
    out[k as keyof CliConfigFile] = v;
  }
  if (out.token && (statSync(path).mode & 0o077) !== 0) {
    console.error(`warning: ${path} holds a token and other users can read it; run: chmod 600 ${path}`);
  }
  return out;
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

export interface Connection {
  api: URL;
  token?: string;
  ca?: string;
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const configPath = flags['cli-config'] ?? env.BUMLESS_CLI_CONFIG;
  const file = readConfig(configPath ?? join(env.HOME ?? homedir(), '.config', 'bumless', 'cli.json'), configPath !== undefined);
  const apiText = flags.api ?? env.BUMLESS_API ?? file.api ?? DEFAULT_API;
  let api: URL;
  try {
    api = new URL(apiText);
  } catch {
    throw new UsageError(`"${apiText}" is not a URL; give the agent API as e.g. --api ${DEFAULT_API}`);
  }
  if (api.protocol !== 'http:' && api.protocol !== 'https:') throw new UsageError(`the API URL must start with http:// or https://, not ${api.protocol}`);
  const tokenFile = flags['token-file'] ?? env.BUMLESS_TOKEN_FILE ?? file.tokenFile;
  const token = flags.token ?? env.BUMLESS_TOKEN ?? (tokenFile ? readSecretFile(tokenFile, 'token file') : undefined) ?? file.token;
  const caFile = flags.ca ?? env.BUMLESS_CA ?? file.ca;
  return { api, ...(token ? { token } : {}), ...(caFile ? { ca: readSecretFile(caFile, 'CA file') } : {}) };
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

/** An error answer of the API, turned into a message that says what to do. */
export class ApiRequestError extends UsageError {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message, 1);
    this.name = 'ApiRequestError';
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Array<{ path?: unknown[]; message?: string }>; holder?: unknown };
}

/** What to run next after a 404 of this kind (the API says "network acme/web not found" or "network "x" does not exist"). */
function notFoundHint(message: string): string {
  const m = /^(tenant|network|endpoint|token|alarm) "?([^"\s]+)"? (?:not found|does not exist)/.exec(message);
  if (!m) return '';
  const [, kind, id] = m as unknown as [string, string, string];
  const tenant = id.split('/')[0]!;
  const next: Record<string, string> = {
    tenant: 'bumless tenant list',
    network: id.includes('/') ? `bumless network list --tenant ${tenant}` : 'bumless network list',
    endpoint: id.split('/').length >= 2 ? `bumless endpoint list --network ${id.split('/').slice(0, 2).join('/')}` : 'bumless endpoint list',
    token: 'bumless tenant token list TENANT',
    alarm: 'bumless alarm list',
  };
  return `; list ${kind === 'alarm' ? 'alarms' : `${kind}s`} with: ${next[kind]!} (a tenant token sees only its own tenant)`;
}

function hint(status: number, conn: Connection, message = ''): string {
  if (status === 404) return notFoundHint(message);
  if (status !== 401) return '';
  return conn.token
    ? ' (check --token / BUMLESS_TOKEN; tokens are shown once by "bumless tenant create" or "bumless tenant token create")'
    : ' (no token given: pass --token, set BUMLESS_TOKEN, or use --token-file with the agent\'s admin token file)';
}

export class ApiClient {
  constructor(readonly conn: Connection) {}

  /** Sends one request; 2xx answers are returned, every other answer throws ApiRequestError. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await this.raw(method, path, body);
    if (res.status >= 200 && res.status < 300) return res as ApiResponse<T>;
    const err = (res.body as ErrorBody | undefined)?.error;
    let message = err?.message ?? `the API answered ${res.status}`;
    const details = (err?.details ?? []).filter((d) => Array.isArray(d.path) && d.path.length && d.message);
    if (details.length > 1) message += details.map((d) => `\n  ${(d.path ?? []).join('.')}: ${d.message}`).join('');
    if (res.status === 429 && res.headers['retry-after']) message += ` (retry after ${String(res.headers['retry-after'])} s)`;
    throw new ApiRequestError(`${message}${hint(res.status, this.conn, message)}`, res.status, res.body);
  }

  raw(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const url = new URL(path, this.conn.api);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, timeout: 30_000, ...(this.conn.ca ? { ca: this.conn.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const base = this.conn.api.origin;
        const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
        reject(new UsageError(`cannot reach the agent API at ${base} (${why}); is the agent running? Give its address with --api or BUMLESS_API`, 3));
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}

/** Prints rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean | string[] | boolean[] }>;

/**
 * Parses a client command's arguments with node:util parseArgs (strict: unknown options are usage errors).
 * Returns undefined after printing the help text when --help was given.
 */
export function parseCommand<O extends OptionSpec>(argv: string[], options: O, help: string) {
  const parsed = parseArgs({ args: argv, options: { ...connectionOptions, ...options }, allowPositionals: true, strict: true });
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    console.log(`${help}\n\n${connectionHelp}`);
    return undefined;
  }
  return { values, positionals: parsed.positionals, json: values.json === true, client: () => new ApiClient(resolveConnection(values)) };
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** A non-negative integer option, or a usage error naming the option. */
export function intOption(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (!/^\d+$/.test(s)) throw new UsageError(`--${name} must be a non-negative integer, not "${s}"`);
  return Number(s);
}
