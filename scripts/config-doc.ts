// The README's configuration reference, generated from the agent's zod schema so the two cannot drift
// (test/unit/config-doc.test.ts compares them). Keys, defaults, enum values and integer bounds come from
// src/config/schema.ts; the meaning is the key's .describe() text unless NOTES below says more.
//
//   npx tsx scripts/config-doc.ts            # print the table
//   npx tsx scripts/config-doc.ts --write    # replace the table in README.md
//   npx tsx scripts/config-doc.ts --check    # exit 1 when README.md's table is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { AgentConfig } from '../src/config/schema.js';

export const BEGIN = '<!-- config-table: generated from src/config/schema.ts by scripts/config-doc.ts; run `npx tsx scripts/config-doc.ts --write` -->';
export const END = '<!-- /config-table -->';

export interface Note {
  /** Replaces the schema's .describe() text (for keys that need more than its one line). */
  text?: string;
  /** Shown instead of "-" for an optional key whose default is computed at start. */
  default?: string;
}

/**
 * Wording kept from the hand-written table. A key with neither a note nor a .describe() fails the
 * generator, so a new schema key cannot reach the README undocumented; a note for a key the schema no
 * longer has fails too.
 */
export const NOTES: Record<string, Note> = {
  hostId: { text: 'this host\'s id, unique in the cluster (lower-case letters, digits, `-`); the mesh certificate must name it' },
  bridge: { text: 'the integration bridge the agent owns' },
  encap: { text: 'the type of the flow-based tunnel port' },
  tunnelPort: { text: 'name of that port' },
  dataDir: { text: 'registry database (lmdb) and state; `admin.token` is created here' },
  'ovs.db': { text: '`ovs-vsctl --db` target' },
  'ovs.datapathType': { text: 'Open vSwitch datapath (`system`: kernel module, `netdev`: userspace); must match `ovs-vsctl get bridge br-int datapath_type`' },
  'ovs.rundir': { text: 'Open vSwitch run directory, where `<bridge>.mgmt` lives', default: '`/var/run/openvswitch`' },
  'openflow.target': { text: '`unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`', default: '`unix:<ovs.rundir>/<bridge>.mgmt`' },
  'openflow.tls': { text: '`{ca, cert, key}` client certificate for `ssl:` targets' },
  'openflow.echoIntervalMs': { text: 'OpenFlow echo request interval' },
  'openflow.inactivityTimeoutMs': { text: 'the switch connection is dropped after this long without a message' },
  'openflow.reconnectMaxMs': { text: 'longest reconnect back-off' },
  'api.listen': { text: 'REST API address (`HOST:PORT`)' },
  'api.tls': { text: '`{cert, key}`: serve HTTPS' },
  'api.adminTokenFile': { text: 'the admin token; generated on first start if absent', default: '`<dataDir>/admin.token`' },
  'api.bodyLimit': { text: 'request body limit in bytes' },
  'mesh.listen': { text: 'mesh address (`HOST:PORT`)' },
  'mesh.tls': { text: '`{ca, cert, key}`; required when `mesh.peers` is not empty' },
  'mesh.peers': { text: '`[{hostId, url: "wss://HOST:7471"}]`' },
  'mesh.reflector': { text: 'relay updates between this agent\'s clients (O(N) connections instead of O(N²))' },
  'mesh.keepaliveMs': { text: 'mesh keepalive interval' },
  'mesh.holdMs': { text: 'a peer silent this long is considered lost' },
  'mesh.gracefulRestartMs': { text: 'how long a lost peer\'s endpoints stay (stale) before they are withdrawn' },
  'log.level': { text: 'logs are pino JSON (pretty on a terminal)' },
};

export interface Row {
  key: string;
  default: string;
  meaning: string;
}

const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The allowed values a reader cannot guess from the default: enum members and integer bounds. */
function allowed(schema: z.ZodType): string {
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map(code).join(', ')}`;
  if (schema instanceof z.ZodNumber) {
    // The checks, not minValue/maxValue: those lose whether a bound is exclusive (positive() is > 0).
    let min: { value: number; inclusive: boolean } | undefined;
    let max: { value: number; inclusive: boolean } | undefined;
    for (const c of schema._zod.def.checks ?? []) {
      const d = c._zod.def as { check: string; value?: unknown; inclusive?: boolean };
      if (typeof d.value !== 'number' || Math.abs(d.value) >= Number.MAX_SAFE_INTEGER) continue;
      if (d.check === 'greater_than') min = { value: d.value, inclusive: d.inclusive ?? true };
      if (d.check === 'less_than') max = { value: d.value, inclusive: d.inclusive ?? true };
    }
    const kind = schema.isInt ? 'integer' : 'number';
    if (min?.inclusive && max?.inclusive) return `${kind} ${min.value} to ${max.value}`;
    const parts = [min && `${min.inclusive ? '≥' : '>'} ${min.value}`, max && `${max.inclusive ? '≤' : '<'} ${max.value}`].filter(Boolean);
    if (parts.length > 0) return `${kind} ${parts.join(', ')}`;
  }
  return '';
}

/** One row per leaf key of an object schema; nested objects that are always present are walked into. */
export function configRows(schema: z.ZodObject, notes: Record<string, Note> = NOTES): Row[] {
  const rows: Row[] = [];
  const seen = new Set<string>();
  const problems: string[] = [];
  const walk = (obj: z.ZodObject, prefix: string) => {
    for (const [name, field] of Object.entries<z.ZodType>(obj.shape)) {
      const key = prefix + name;
      let s: z.ZodType = field;
      let description = s.description;
      let dflt: unknown;
      let hasDefault = false;
      let optional = false;
      // Peel the wrappers; the description may sit on any of them.
      for (;;) {
        if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) {
          hasDefault = true;
          dflt = s._zod.def.defaultValue;
          s = s._zod.def.innerType as z.ZodType;
        } else if (s instanceof z.ZodOptional) {
          optional = true;
          s = s._zod.def.innerType as z.ZodType;
        } else break;
        description ??= s.description;
      }
      if (s instanceof z.ZodObject && !optional) {
        walk(s, `${key}.`);
        continue;
      }
      seen.add(key);
      const note = notes[key];
      const text = note?.text ?? description;
      if (!text) {
        problems.push(`${key} has no description: add .describe('...') to it in src/config/schema.ts (or a note in scripts/config-doc.ts)`);
        continue;
      }
      const extra = allowed(s);
      rows.push({
        key,
        default: note?.default ?? (hasDefault ? code(dflt) : optional ? '-' : '(required)'),
        meaning: extra ? `${text}; ${extra}` : text,
      });
    }
  };
  walk(schema, '');
  for (const key of Object.keys(notes)) {
    if (!seen.has(key)) problems.push(`scripts/config-doc.ts has a note for ${key}, which src/config/schema.ts does not define: remove or rename it`);
  }
  if (problems.length > 0) throw new Error(`configuration reference: ${problems.join('; ')}`);
  return rows;
}

export function configTable(schema: z.ZodObject = AgentConfig, notes: Record<string, Note> = NOTES): string {
  const lines = ['| key | default | meaning |', '| --- | --- | --- |'];
  for (const r of configRows(schema, notes)) lines.push(`| \`${r.key}\` | ${cell(r.default)} | ${cell(r.meaning)} |`);
  return lines.join('\n');
}

/** The table between the markers in a README's text; throws when the markers are missing. */
export function readmeTable(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no generated configuration table: put it between ${BEGIN} and ${END}`);
  return readme.slice(begin + BEGIN.length, end).trim();
}

export function withTable(readme: string, table: string): string {
  readmeTable(readme);
  const begin = readme.indexOf(BEGIN) + BEGIN.length;
  return `${readme.slice(0, begin)}\n${table}\n${readme.slice(readme.indexOf(END))}`;
}

export const README = join(import.meta.dirname, '..', 'README.md');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mode = process.argv[2];
  const table = configTable();
  if (mode === undefined) {
    console.log(table);
  } else if (mode === '--write' || mode === '--check') {
    const readme = readFileSync(README, 'utf8');
    const stale = readmeTable(readme) !== table;
    if (mode === '--check') {
      console.log(stale ? 'README.md configuration table is stale: run npx tsx scripts/config-doc.ts --write' : 'README.md configuration table is current');
      process.exitCode = stale ? 1 : 0;
    } else if (stale) {
      writeFileSync(README, withTable(readme, table));
      console.log('README.md configuration table updated');
    } else {
      console.log('README.md configuration table already current');
    }
  } else {
    console.error(`config-doc.ts: unknown option ${mode}; use --write, --check or nothing (print)`);
    process.exitCode = 2;
  }
}
