// `bumless lab`: Open vSwitch hosts in network namespaces (see src/lab/lab.ts), as a command.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { LabError } from './errors.js';
import { Lab } from './lab.js';
import type { ExecTarget, LabStatus, LabSummary } from './lab.js';
import { ENCAPS, checkEncap } from './plan.js';
import { CHILD_PATH, preflight } from './system.js';

const HELP = `usage: bumless lab <subcommand> [--lab LAB] [options]

Open vSwitch hosts in network namespaces (userspace datapath), one underlay, containers on br-int.
Every subcommand takes --lab LAB (default "default"); read commands take --json.

  up [--hosts N] [--encap vxlan|geneve|gre] [--underlay CIDR] [--agents] [--json]
                          build N hosts (default 3, vxlan); on a lab that is up, changes nothing
  down                    remove everything the lab made (also after a crash or a half-built up)
  status [--json]         hosts (namespace, underlay IP, sockets, daemons, agent) and containers
  list [--json]           every lab on this machine
  container add --host H --name C --ip A/P [--mac M] [--mtu N] [--json]
  container del --name C
  agents start|stop|restart [--host H] [--signal TERM|KILL]
  exec (--host H | --container C | --underlay) -- COMMAND [ARG...]
                          run a command inside a namespace of the lab

State and Open vSwitch files: /run/bumless/labs/<lab>/ (BUMLESS_LAB_ROOT overrides the root).`;

type Flags = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals = false): { values: Flags; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { lab: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: positionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
}

function labName(values: Flags): string {
  return typeof values.lab === 'string' ? values.lab : 'default';
}

function str(values: Flags, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

function required(values: Flags, key: string, sub: string): string {
  const v = str(values, key);
  if (v === undefined) throw new UsageError(`lab ${sub}: --${key} is required`);
  return v;
}

function integer(values: Flags, key: string): number | undefined {
  const v = str(values, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${key} must be a whole number, not "${v}"`);
  return Number(v);
}

/** Progress lines go to stdout, or to stderr when stdout carries JSON. */
function progressFor(json: boolean): (line: string) => void {
  return (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export function formatStatus(s: LabStatus): string {
  const lines = [`lab ${s.name}: ${s.encap}, underlay ${s.underlay.cidr} (namespace ${s.underlay.ns}), files in ${s.dir}`, ''];
  lines.push(
    table([
      ['HOST', 'NAMESPACE', 'UNDERLAY IP', 'OVSDB', 'VSWITCHD', 'AGENT', 'API'],
      ...s.hosts.map((h) => [
        h.id,
        h.ns,
        h.underlayIp,
        h.ovsdbPid === null ? 'down' : `pid ${h.ovsdbPid}`,
        h.vswitchdPid === null ? 'down' : `pid ${h.vswitchdPid}`,
        h.agent ? `pid ${h.agent.pid}` : '-',
        h.agent ? h.agent.apiUrl : '-',
      ]),
    ]),
  );
  for (const h of s.hosts) {
    lines.push(`  ${h.id}: db ${h.db}  vswitchd ${h.vswitchdCtl}  br-int ${h.mgmt}`);
    if (h.agent) lines.push(`  ${h.id}: agent token ${h.agent.adminToken ?? '(not written yet)'}  log ${h.agent.log}`);
  }
  lines.push('');
  if (s.containers.length === 0) lines.push('no containers');
  else {
    lines.push(
      table([
        ['CONTAINER', 'HOST', 'NAMESPACE', 'IP', 'MAC', 'MTU', 'BR-INT PORT'],
        ...s.containers.map((c) => [c.name, c.host, c.ns, c.ip, c.mac, String(c.mtu), `${c.port} (ofport ${c.ofport ?? '?'})`]),
      ]),
    );
  }
  return lines.join('\n');
}

function formatList(labs: LabSummary[]): string {
  if (labs.length === 0) return 'no labs';
  return table([
    ['LAB', 'ENCAP', 'HOSTS', 'CONTAINERS', 'NAMESPACES'],
    ...labs.map((l) => [l.name + (l.state ? '' : ' (leftover)'), l.encap ?? '-', String(l.hosts), String(l.containers), String(l.namespaces.length)]),
  ]);
}

async function up(argv: string[]): Promise<number> {
  const { values } = parse(argv, { hosts: { type: 'string' }, encap: { type: 'string' }, underlay: { type: 'string' }, agents: { type: 'boolean' } });
  const json = values.json === true;
  const encap = str(values, 'encap');
  const lab = await Lab.up({
    lab: labName(values),
    hosts: integer(values, 'hosts'),
    encap: encap === undefined ? undefined : checkEncap(encap),
    underlay: str(values, 'underlay'),
    agents: values.agents === true,
    progress: progressFor(json),
  });
  if (json) printJson(await lab.status());
  return 0;
}

async function down(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  const json = values.json === true;
  const result = await Lab.down(labName(values), progressFor(json));
  if (json) printJson(result);
  return 0;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  const s = await Lab.open(labName(values)).status();
  if (values.json) printJson(s);
  else console.log(formatStatus(s));
  return 0;
}

function list(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  const labs = Lab.list();
  if (values.json) printJson(labs);
  else console.log(formatList(labs));
  return Promise.resolve(0);
}

async function container(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'add') {
    const { values } = parse(rest, { host: { type: 'string' }, name: { type: 'string' }, ip: { type: 'string' }, mac: { type: 'string' }, mtu: { type: 'string' } });
    const json = values.json === true;
    const lab = Lab.open(labName(values));
    const c = await lab.addContainer(
      {
        host: required(values, 'host', 'container add'),
        name: required(values, 'name', 'container add'),
        ip: required(values, 'ip', 'container add'),
        mac: str(values, 'mac'),
        mtu: integer(values, 'mtu'),
      },
      progressFor(json),
    );
    if (json) printJson(c);
    return 0;
  }
  if (action === 'del') {
    const { values } = parse(rest, { name: { type: 'string' } });
    await Lab.open(labName(values)).delContainer(required(values, 'name', 'container del'), progressFor(values.json === true));
    return 0;
  }
  throw new UsageError(`lab container: say add or del\n\n${HELP}`);
}

async function agents(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'start' && action !== 'stop' && action !== 'restart') throw new UsageError(`lab agents: say start, stop or restart\n\n${HELP}`);
  const { values } = parse(rest, { host: { type: 'string' }, signal: { type: 'string' } });
  const given = str(values, 'signal')?.toUpperCase().replace(/^SIG/, '');
  if (given !== undefined && given !== 'TERM' && given !== 'KILL' && given !== 'INT') {
    throw new UsageError(`--signal must be TERM, KILL or INT, not "${given}"`);
  }
  const signal: 'TERM' | 'KILL' | 'INT' | undefined = given;
  const lab = Lab.open(labName(values));
  const opts = { host: str(values, 'host'), signal, progress: progressFor(values.json === true) };
  if (action === 'start') await lab.startAgents(opts);
  else if (action === 'stop') await lab.stopAgents(opts);
  else await lab.restartAgents(opts);
  return 0;
}

async function exec(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { host: { type: 'string' }, container: { type: 'string' }, underlay: { type: 'boolean' } }, true);
  if (positionals.length === 0) throw new UsageError('lab exec: give the command after --, e.g. bumless lab exec --host h1 -- ip addr');
  const host = str(values, 'host');
  const ctr = str(values, 'container');
  const chosen = [host, ctr, values.underlay ? true : undefined].filter((x) => x !== undefined);
  if (chosen.length !== 1) throw new UsageError('lab exec: give exactly one of --host H, --container C, --underlay');
  const target: ExecTarget = host !== undefined ? { host } : ctr !== undefined ? { container: ctr } : { underlay: true };
  preflight();
  const ns = Lab.open(labName(values)).ns(target);
  const child = spawn('ip', ['netns', 'exec', ns, ...positionals], { stdio: 'inherit', env: { ...process.env, PATH: CHILD_PATH } });
  return new Promise((resolve) => {
    child.on('error', (err) => {
      console.error(`bumless lab exec: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
  });
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = { up, down, status, list, container, agents, exec };

export const labCommand: Command = {
  name: 'lab',
  summary: `Open vSwitch hosts in network namespaces: up, down, status, list, container, agents, exec (${ENCAPS.join('/')})`,
  async run(argv) {
    const [sub, ...rest] = argv;
    const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help' || own.includes('--help') || own.includes('-h')) {
      console.log(HELP);
      return sub === undefined ? 2 : 0;
    }
    const fn = subcommands[sub];
    if (!fn) throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    try {
      return await fn(rest);
    } catch (err) {
      if (err instanceof LabError) {
        console.error(`bumless lab ${sub}: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};
