// Preparing Open vSwitch for the agent through ovs-vsctl (issue #4 item 2). Idempotent: it reads the
// current state first and writes only what differs, so running it at every start and after every
// ovs-vswitchd restart changes nothing on a bridge that is already right (and disturbs no flow).
//
// Wanted state:
// - the bridge exists with the configured datapath_type;
// - its protocols include OpenFlow13 (others the operator enabled are kept);
// - fail_mode=secure: with "standalone" OVS would flood as a learning switch whenever no controller
//   is connected, which is exactly the BUM traffic bumless exists to prevent;
// - exactly one tunnel port, flow-based (remote_ip=flow, key=flow) with the host's VTEP as local_ip,
//   of the configured encapsulation. Other tunnel ports are removed: a per-peer port with the same
//   local IP would take that peer's traffic away from the flow-based one.
import { execa } from 'execa';
import { SwitchError } from './errors.js';

export type Encapsulation = 'vxlan' | 'geneve' | 'gre';

export interface OvsSettings {
  /** ovs-vsctl --db target, e.g. unix:/var/run/openvswitch/db.sock */
  db: string;
  bridge: string;
  datapathType: 'system' | 'netdev';
  encap: Encapsulation;
  tunnelPort: string;
  vtepIp: string;
  /** How long to wait for ovs-vswitchd to apply a change (and give the tunnel port an ofport). */
  timeoutMs?: number;
}

export interface OvsPrepared {
  bridge: string;
  tunnelPort: string;
  tunnelOfport: number;
  /** What was changed, in ovs-vsctl terms; empty when the bridge was already right. */
  changes: string[];
}

export interface RunResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** node error code when the command could not be started (ENOENT: not installed). */
  code?: string | undefined;
  timedOut?: boolean;
}

/** Runs ovs-vsctl with the given arguments; replaceable in unit tests. */
export type VsctlRunner = (args: string[], timeoutMs: number) => Promise<RunResult>;

export const execaVsctl: VsctlRunner = async (args, timeoutMs) => {
  const r = await execa('ovs-vsctl', args, { reject: false, timeout: timeoutMs + 2000 });
  return {
    exitCode: r.exitCode,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    code: r.code,
    timedOut: r.timedOut,
  };
};

/** Tunnel interface types OVS knows; any of them on the bridge other than ours is removed. */
const TUNNEL_TYPES = new Set(['vxlan', 'geneve', 'gre', 'stt', 'lisp', 'erspan', 'ip6erspan', 'ip6gre', 'gtpu', 'bareudp', 'srv6']);

/** Parses ovs-vsctl's rendering of a set column: `[a, b]`, `[]`, or a single bare value. */
export function parseSet(s: string): string[] {
  const t = s.trim();
  if (t === '[]' || t === '') return [];
  const inner = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  return inner
    .split(',')
    .map((x) => unquote(x.trim()))
    .filter((x) => x.length > 0);
}

/** Parses ovs-vsctl's rendering of a map column: `{key=flow, local_ip="192.168.100.1"}`. */
export function parseMap(s: string): Record<string, string> {
  const t = s.trim();
  const out: Record<string, string> = {};
  if (!t.startsWith('{') || t === '{}') return out;
  for (const part of t.slice(1, -1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out[unquote(part.slice(0, eq).trim())] = unquote(part.slice(eq + 1).trim());
  }
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/\\"/g, '"') : s;
}

export class OvsPreparer {
  readonly #s: Required<OvsSettings>;
  readonly #run: VsctlRunner;

  constructor(settings: OvsSettings, run: VsctlRunner = execaVsctl) {
    this.#s = { timeoutMs: 10000, ...settings };
    this.#run = run;
  }

  /** Brings the bridge and tunnel port to the wanted state; returns the tunnel ofport. */
  async prepare(): Promise<OvsPrepared> {
    const s = this.#s;
    const changes: string[] = [];
    const br = s.bridge;

    await this.#vsctl(['--no-wait', 'show'], 'reach the Open vSwitch database');

    const exists = await this.#run(this.#base(['br-exists', br]), s.timeoutMs);
    if (exists.exitCode === 2) {
      // Created secure from the start: a bridge born "standalone" gets a NORMAL flow and floods until fixed.
      await this.#vsctl(
        ['add-br', br, '--', 'set', 'bridge', br, `datapath_type=${s.datapathType}`, 'fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13'],
        `create bridge ${br}`,
      );
      changes.push(`add-br ${br} datapath_type=${s.datapathType} fail_mode=secure protocols=OpenFlow10,OpenFlow13`);
    } else if (exists.exitCode !== 0) {
      throw this.#failure(exists, `check whether bridge ${br} exists`);
    }

    const dpType = (await this.#get('bridge', br, 'datapath_type')).trim();
    const wantDp = s.datapathType;
    // An empty datapath_type means "system".
    if ((dpType === '""' ? 'system' : unquote(dpType) || 'system') !== wantDp) {
      await this.#vsctl(['set', 'bridge', br, `datapath_type=${wantDp}`], `set datapath_type of ${br}`);
      changes.push(`set bridge ${br} datapath_type=${wantDp}`);
    }

    const protocols = parseSet(await this.#get('bridge', br, 'protocols'));
    if (!protocols.includes('OpenFlow13')) {
      // An empty set means OVS's defaults; keep OpenFlow10 so plain ovs-ofctl still works.
      const want = protocols.length === 0 ? ['OpenFlow10', 'OpenFlow13'] : [...protocols, 'OpenFlow13'];
      await this.#vsctl(['set', 'bridge', br, `protocols=${want.join(',')}`], `enable OpenFlow13 on ${br}`);
      changes.push(`set bridge ${br} protocols=${want.join(',')}`);
      const after = parseSet(await this.#get('bridge', br, 'protocols'));
      if (!after.includes('OpenFlow13')) {
        throw new SwitchError('OVS_BRIDGE_CONFIG', `no OpenFlow 1.3 in bridge ${br} protocols; run: ovs-vsctl set bridge ${br} protocols=OpenFlow13`);
      }
    }

    const failMode = parseSet(await this.#get('bridge', br, 'fail_mode'));
    if (failMode[0] !== 'secure') {
      await this.#vsctl(['set', 'bridge', br, 'fail_mode=secure'], `set fail_mode=secure on ${br}`);
      changes.push(`set bridge ${br} fail_mode=secure`);
      const after = parseSet(await this.#get('bridge', br, 'fail_mode'));
      if (after[0] !== 'secure') {
        throw new SwitchError('OVS_BRIDGE_CONFIG', `bridge ${br} is not fail_mode=secure and would flood without a controller; run: ovs-vsctl set bridge ${br} fail_mode=secure`);
      }
    }

    await this.#ensureTunnel(changes);
    const tunnelOfport = await this.#waitOfport(s.tunnelPort);
    return { bridge: br, tunnelPort: s.tunnelPort, tunnelOfport, changes };
  }

  async #ensureTunnel(changes: string[]): Promise<void> {
    const s = this.#s;
    const ports = (await this.#vsctl(['list-ports', s.bridge], `list ports of ${s.bridge}`)).split('\n').map((p) => p.trim()).filter(Boolean);
    for (const p of ports) {
      if (p === s.tunnelPort) continue;
      const type = unquote((await this.#get('interface', p, 'type')).trim());
      if (TUNNEL_TYPES.has(type)) {
        await this.#vsctl(['del-port', s.bridge, p], `remove tunnel port ${p}`);
        changes.push(`del-port ${s.bridge} ${p} (${type})`);
      }
    }

    const wantOpts = { remote_ip: 'flow', key: 'flow', local_ip: s.vtepIp };
    const optArgs = Object.entries(wantOpts).map(([k, v]) => `options:${k}=${v}`);
    if (!ports.includes(s.tunnelPort)) {
      // The name may exist on another bridge; --may-exist would then silently leave it there.
      const owner = await this.#run(this.#base(['port-to-br', s.tunnelPort]), s.timeoutMs);
      if (owner.exitCode === 0 && owner.stdout.trim() !== s.bridge) {
        throw new SwitchError(
          'OVS_TUNNEL_PORT',
          `port ${s.tunnelPort} already exists on bridge ${owner.stdout.trim()}; remove it (ovs-vsctl del-port ${owner.stdout.trim()} ${s.tunnelPort}) or set tunnelPort to another name`,
        );
      }
      await this.#vsctl(
        ['add-port', s.bridge, s.tunnelPort, '--', 'set', 'interface', s.tunnelPort, `type=${s.encap}`, ...optArgs],
        `add tunnel port ${s.tunnelPort}`,
      );
      changes.push(`add-port ${s.bridge} ${s.tunnelPort} type=${s.encap} ${optArgs.join(' ')}`);
      return;
    }
    const type = unquote((await this.#get('interface', s.tunnelPort, 'type')).trim());
    const opts = parseMap(await this.#get('interface', s.tunnelPort, 'options'));
    const optsRight =
      Object.keys(opts).length === 3 && Object.entries(wantOpts).every(([k, v]) => opts[k] === v);
    if (type !== s.encap || !optsRight) {
      await this.#vsctl(
        ['clear', 'interface', s.tunnelPort, 'options', '--', 'set', 'interface', s.tunnelPort, `type=${s.encap}`, ...optArgs],
        `reconfigure tunnel port ${s.tunnelPort}`,
      );
      changes.push(`set interface ${s.tunnelPort} type=${s.encap} ${optArgs.join(' ')} (was ${type || 'system'} ${JSON.stringify(opts)})`);
    }
  }

  async #waitOfport(port: string): Promise<number> {
    const deadline = Date.now() + this.#s.timeoutMs;
    for (;;) {
      const raw = (await this.#get('interface', port, 'ofport')).trim();
      const n = Number(raw);
      if (raw !== '[]' && Number.isInteger(n) && n > 0) return n;
      if (n === -1 || Date.now() >= deadline) {
        const err = (await this.#get('interface', port, 'error')).trim();
        throw new SwitchError(
          'OVS_TUNNEL_PORT',
          `tunnel port ${port} has no OpenFlow port number (ofport=${raw}${err && err !== '[]' ? `, error ${err}` : ''}); ` +
            `check that ovs-vswitchd is running and supports ${this.#s.encap} tunnels, and that local_ip ${this.#s.vtepIp} is the host's underlay address`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #base(args: string[]): string[] {
    return [`--db=${this.#s.db}`, `--timeout=${Math.ceil(this.#s.timeoutMs / 1000)}`, ...args];
  }

  async #get(table: string, record: string, column: string): Promise<string> {
    return this.#vsctl(['--no-wait', 'get', table, record, column], `read ${table} ${record} ${column}`);
  }

  async #vsctl(args: string[], what: string): Promise<string> {
    const r = await this.#run(this.#base(args), this.#s.timeoutMs);
    if (r.exitCode !== 0) throw this.#failure(r, what);
    return r.stdout;
  }

  #failure(r: RunResult, what: string): SwitchError {
    const db = this.#s.db;
    if (r.code === 'ENOENT') {
      return new SwitchError('OVS_NOT_INSTALLED', `cannot ${what}: ovs-vsctl is not installed; install Open vSwitch (apt-get install openvswitch-switch)`);
    }
    const err = r.stderr.trim();
    if (/database connection failed|No such file or directory|Connection refused/i.test(err) || r.timedOut) {
      return new SwitchError(
        'OVS_DB_UNREACHABLE',
        `cannot ${what}: the Open vSwitch database at ${db} does not answer (${err || 'timed out'}); start ovsdb-server or set ovs.db in the config`,
      );
    }
    if (/timeout|alarm/i.test(err)) {
      return new SwitchError(
        'OVS_COMMAND_FAILED',
        `cannot ${what}: ovs-vswitchd did not apply the change in time (${err}); check that ovs-vswitchd is running for ${db}`,
      );
    }
    return new SwitchError('OVS_COMMAND_FAILED', `cannot ${what}: ovs-vsctl exited with ${r.exitCode}: ${err}`);
  }
}
