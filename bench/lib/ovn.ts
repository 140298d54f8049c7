// OVN 23.03 as the peer of B2, B4, B5 and B6, in a lab of its own (recipe and traps from
// /work/shared/notes/peers.md, written here in the project's code): an underlay namespace "boul" with
// a Linux bridge, a central namespace "boc" (NB and SB ovsdb-server, ovn-northd) and three chassis
// namespaces "boh1".."boh3", each with its own Open vSwitch (userspace datapath) and ovn-controller.
// Every daemon is started here and stopped by its pidfile; everything is named bo* under /tmp/bumless-ovn.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { OURS, figure, side, type Figure, type Side } from './report.js';
import { Ping } from './ping.js';
import { alive, ensurePeer, nowMs, rssBytes, sh, sleep, stopPid } from './sys.js';

const DIR = '/tmp/bumless-ovn';
const UL = 'boul';
const CEN = 'boc';
const SUB = '192.168.211';
const CIP = `${SUB}.10`;
export const OVN_WHO = 'OVN 23.03 (ovn-nbctl --wait=hv)';

const nsx = (ns: string, cmd: string[]) => ['netns', 'exec', ns, ...cmd];

export class OvnLab {
  readonly hosts = ['boh1', 'boh2', 'boh3'];
  /** ovn-controller's RSS on boh1 once the chassis registered, before any port. */
  idleRss: number | null = null;
  #pidfiles: string[] = [];

  private constructor(readonly log: (s: string) => void) {}

  nb(args: string[], timeoutMs = 300000) {
    return sh('ovn-nbctl', [`--db=unix:${DIR}/central/nb.sock`, '--timeout=300', ...args], { timeoutMs });
  }

  vsctl(host: string, args: string[]) {
    return sh('ovs-vsctl', [`--db=unix:${DIR}/${host}/db.sock`, '--timeout=60', ...args], { timeoutMs: 120000 });
  }

  pid(file: string): number | null {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      // Only a real PID: 0 or a negative number would make process.kill signal a process group.
      return Number.isInteger(pid) && pid > 1 ? pid : null;
    } catch {
      return null;
    }
  }

  controllerPid(host: string): number | null {
    return this.pid(join(DIR, host, 'ovn-controller.pid'));
  }

  async #attach(ns: string, ip?: string): Promise<void> {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['link', 'add', 'name', 'ul', 'netns', ns, 'type', 'veth', 'peer', 'name', ns, 'netns', UL]);
    await sh('ip', ['-n', UL, 'link', 'set', ns, 'master', 'br0', 'up']);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', ns, 'link', 'set', 'ul', 'up']);
    if (ip) await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'ul']);
  }

  async #daemon(ns: string, pidfile: string, cmd: string[], env: string[] = []): Promise<void> {
    this.#pidfiles.push(pidfile);
    await sh('ip', nsx(ns, ['env', ...env, ...cmd, `--pidfile=${pidfile}`, '--detach']));
  }

  static async up(log: (s: string) => void): Promise<OvnLab> {
    const lab = new OvnLab(log);
    await OvnLab.teardownByName();
    mkdirSync(join(DIR, 'central'), { recursive: true });
    try {
      await sh('ip', ['netns', 'add', UL]);
      await sh('ip', ['-n', UL, 'link', 'add', 'br0', 'type', 'bridge']);
      await sh('ip', ['-n', UL, 'link', 'set', 'br0', 'up']);
      await lab.#attach(CEN, CIP);
      // Trap: without this the userspace datapath of the chassis sends bad TCP checksums back and the
      // southbound sessions never establish.
      await sh('ip', nsx(CEN, ['ethtool', '-K', 'ul', 'tx', 'off']));
      const c = join(DIR, 'central');
      await sh('ovsdb-tool', ['create', `${c}/nb.db`, '/usr/share/ovn/ovn-nb.ovsschema']);
      await sh('ovsdb-tool', ['create', `${c}/sb.db`, '/usr/share/ovn/ovn-sb.ovsschema']);
      await lab.#daemon(CEN, `${c}/nb.pid`, ['ovsdb-server', `${c}/nb.db`, `--remote=punix:${c}/nb.sock`, `--log-file=${c}/nb.log`, `--unixctl=${c}/nb.ctl`]);
      await lab.#daemon(CEN, `${c}/sb.pid`, ['ovsdb-server', `${c}/sb.db`, `--remote=punix:${c}/sb.sock`, `--remote=ptcp:6642:${CIP}`, `--log-file=${c}/sb.log`, `--unixctl=${c}/sb.ctl`]);
      await lab.#daemon(CEN, `${c}/northd.pid`, ['ovn-northd', `--ovnnb-db=unix:${c}/nb.sock`, `--ovnsb-db=unix:${c}/sb.sock`, `--log-file=${c}/northd.log`, `--unixctl=${c}/northd.ctl`], [`OVN_RUNDIR=${c}`]);
      await lab.nb(['--no-wait', 'init']);
      for (const [i, h] of lab.hosts.entries()) {
        const d = join(DIR, h);
        const ip = `${SUB}.${i + 1}`;
        mkdirSync(d, { recursive: true });
        await lab.#attach(h);
        await sh('ovsdb-tool', ['create', `${d}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
        await lab.#daemon(h, `${d}/ovsdb.pid`, ['ovsdb-server', `${d}/conf.db`, `--remote=punix:${d}/db.sock`, `--log-file=${d}/ovsdb.log`, `--unixctl=${d}/ovsdb.ctl`]);
        await lab.vsctl(h, ['--no-wait', 'init']);
        await lab.#daemon(h, `${d}/vswitchd.pid`, ['ovs-vswitchd', `unix:${d}/db.sock`, `--log-file=${d}/vswitchd.log`, `--unixctl=${d}/vswitchd.ctl`], [`OVS_RUNDIR=${d}`]);
        await lab.vsctl(h, ['add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', 'ul']);
        await sh('ip', ['-n', h, 'addr', 'add', `${ip}/24`, 'dev', 'br-phy']);
        await sh('ip', ['-n', h, 'link', 'set', 'br-phy', 'up']);
        await lab.vsctl(h, ['add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', 'fail-mode=secure', 'other-config:disable-in-band=true']);
        await lab.vsctl(h, ['set', 'open', '.', `external_ids:system-id=${h}`, `external_ids:hostname=${h}`, `external_ids:ovn-remote=tcp:${CIP}:6642`, 'external_ids:ovn-encap-type=vxlan', `external_ids:ovn-encap-ip=${ip}`, 'external_ids:ovn-bridge=br-int', 'external_ids:ovn-bridge-datapath-type=netdev']);
        // Trap: 23.03 rejects --unixctl; its control socket is ovn-controller.<pid>.ctl in OVN_RUNDIR.
        await lab.#daemon(h, `${d}/ovn-controller.pid`, ['ovn-controller', `unix:${d}/db.sock`, `--log-file=${d}/ovn-controller.log`], [`OVS_RUNDIR=${d}`, `OVN_RUNDIR=${d}`]);
      }
      // Trap: --wait=hv returns at once while no chassis is registered.
      const t0 = Date.now();
      for (;;) {
        const r = await sh('ovn-sbctl', [`--db=unix:${c}/sb.sock`, '--bare', '--columns=name', 'list', 'chassis'], { check: false });
        if (r.stdout.split('\n').filter(Boolean).length === lab.hosts.length) break;
        if (Date.now() - t0 > 90000) throw new Error(`OVN: only ${r.stdout.split('\n').filter(Boolean).length} of 3 chassis registered after 90 s (see ${DIR}/boh*/ovn-controller.log)`);
        await sleep(300);
      }
      await lab.nb(['ls-add', 'ls0']);
      await lab.nb(['--wait=hv', 'sync']);
      await sleep(1000);
      const cpid = lab.controllerPid('boh1');
      lab.idleRss = cpid ? rssBytes(cpid) : null;
      log('OVN lab up: central + 3 chassis (vxlan, userspace datapath)');
      return lab;
    } catch (err) {
      await lab.down();
      throw err;
    }
  }

  /** A container namespace bound to a logical switch port on host h. */
  async addContainer(h: string, name: string, ip: string, mac: string): Promise<void> {
    await sh('ip', ['netns', 'add', name]);
    await sh('ip', ['link', 'add', 'name', `${name}-p`, 'netns', h, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', name, 'link', 'set', 'eth0', 'address', mac, 'mtu', '1400', 'up']);
    await sh('ip', ['-n', name, 'addr', 'add', `${ip}/16`, 'dev', 'eth0']);
    await sh('ip', nsx(name, ['ethtool', '-K', 'eth0', 'tx', 'off']));
    await sh('ip', ['-n', h, 'link', 'set', `${name}-p`, 'up']);
    await this.nb(['lsp-add', 'ls0', name, '--', 'lsp-set-addresses', name, `${mac} ${ip}`]);
    await this.vsctl(h, ['add-port', 'br-int', `${name}-p`, '--', 'set', 'interface', `${name}-p`, `external_ids:iface-id=${name}`]);
    await this.nb(['--wait=hv', 'sync']);
  }

  /** Pre-bound interfaces (patch ports, no tap devices: many idle taps slow the userspace datapath). */
  async bindPatchPorts(h: string, names: string[]): Promise<void> {
    const args = ['--may-exist', 'add-br', 'br-dummy', '--', 'set', 'bridge', 'br-dummy', 'datapath_type=netdev'];
    for (const n of names) {
      args.push('--', 'add-port', 'br-int', `${n}`, '--', 'set', 'interface', n, 'type=patch', `options:peer=${n}x`, `external_ids:iface-id=${n}`);
      args.push('--', 'add-port', 'br-dummy', `${n}x`, '--', 'set', 'interface', `${n}x`, 'type=patch', `options:peer=${n}`);
    }
    await this.vsctl(h, args);
  }

  async down(): Promise<void> {
    for (const f of [...this.#pidfiles].reverse()) {
      const pid = this.pid(f);
      if (pid && alive(pid)) await stopPid(pid);
    }
    await OvnLab.teardownByName();
  }

  /** Removes what an earlier run left: daemons by their pidfiles under DIR, the bo* namespaces, DIR. */
  static async teardownByName(): Promise<void> {
    if (existsSync(DIR)) {
      for (const sub of ['boh1', 'boh2', 'boh3', 'central']) {
        for (const f of ['ovn-controller.pid', 'vswitchd.pid', 'ovsdb.pid', 'northd.pid', 'sb.pid', 'nb.pid']) {
          const p = join(DIR, sub, f);
          if (!existsSync(p)) continue;
          const pid = Number(readFileSync(p, 'utf8').trim());
          if (pid && alive(pid)) await stopPid(pid);
        }
      }
    }
    const list = (await sh('ip', ['netns', 'list'], { check: false })).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
    const ours = list.filter((n) => /^bo(ul|c|h\d+|h\d+c\d+)$/.test(n));
    ours.sort((a, b) => b.length - a.length);
    for (const n of ours) await sh('ip', ['netns', 'del', n], { check: false });
    rmSync(DIR, { recursive: true, force: true });
  }
}

let shared: OvnLab | null = null;
let failure: string | null = null;

/** The OVN lab shared by the benchmarks of one run, or the reason it cannot run. */
export async function ovnLab(ctx: BenchContext): Promise<OvnLab | string> {
  if (shared) return shared;
  if (failure) return failure;
  const why = await ensurePeer(['ovn-nbctl', 'ovn-northd', 'ovn-controller', 'ovsdb-server'], ['ovn-central', 'ovn-host'], ctx.log);
  if (why) return (failure = why);
  try {
    ctx.log('building the OVN peer lab (central + 3 chassis)');
    shared = await OvnLab.up(ctx.log);
    return shared;
  } catch (err) {
    return (failure = `OVN lab did not come up: ${err instanceof Error ? err.message : String(err)}`.slice(0, 600));
  }
}

export async function ovnDown(): Promise<void> {
  if (shared) await shared.down();
  shared = null;
}

const oMac = (p: string, i: number) => `0a:${p}:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

/** B2's peer: lsp-add of pre-bound ports with --wait=hv, one at a time and `bulk` in one transaction. */
export async function ovnConvergence(ctx: BenchContext, singles: number, bulk: number): Promise<{ single: Side; bulk: Side }> {
  const lab = await ovnLab(ctx);
  if (typeof lab === 'string') return { single: side(OVN_WHO, null, lab), bulk: side(OVN_WHO, null, lab) };
  try {
    ctx.log(`B2/OVN: binding ${singles + bulk} patch ports on boh1 and anchors on boh2, boh3`);
    // Chassis B and C hold a port of ls0 each, as h2 and h3 hold a container of the network.
    for (const h of ['boh2', 'boh3']) {
      await lab.bindPatchPorts(h, [`${h}a`]);
      await lab.nb(['lsp-add', 'ls0', `${h}a`, '--', 'lsp-set-addresses', `${h}a`, `${oMac(h === 'boh2' ? '02' : '03', 1)} 10.211.250.${h === 'boh2' ? 2 : 3}`]);
    }
    const sNames = Array.from({ length: singles }, (_, i) => `ps${i}`);
    const bNames = Array.from({ length: bulk }, (_, i) => `pb${i}`);
    await lab.bindPatchPorts('boh1', [...sNames, ...bNames]);
    await lab.nb(['--wait=hv', 'sync']);
    const single: number[] = [];
    for (const [i, n] of sNames.entries()) {
      const t0 = nowMs();
      await lab.nb(['--wait=hv', 'lsp-add', 'ls0', n, '--', 'lsp-set-addresses', n, `${oMac('10', i)} 10.211.${i >> 7}.${(i & 127) + 1}`]);
      single.push(nowMs() - t0);
      if ((i + 1) % 25 === 0) ctx.log(`B2/OVN: ${i + 1}/${singles} single ports`);
    }
    const args = ['--wait=hv'];
    for (const [i, n] of bNames.entries()) args.push('--', 'lsp-add', 'ls0', n, '--', 'lsp-set-addresses', n, `${oMac('20', i)} 10.212.${i >> 7}.${(i & 127) + 1}`);
    const t0 = nowMs();
    await lab.nb(args, 600000);
    const bulkMs = nowMs() - t0;
    ctx.note(`OVN: ${OVN_WHO.replace(' (ovn-nbctl --wait=hv)', '')}, one logical switch; each port is pre-bound (a patch port with external_ids:iface-id on boh1's br-int), chassis boh2 and boh3 each hold a bound port of the switch; timed as the run of \`ovn-nbctl --wait=hv lsp-add ... -- lsp-set-addresses ...\` (northd and every chassis processed it), ${singles} one at a time, then ${bulk} in one transaction.`);
    return { single: side(OVN_WHO, single), bulk: side(OVN_WHO, [bulkMs]) };
  } catch (err) {
    const why = `OVN run failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 600);
    return { single: side(OVN_WHO, null, why), bulk: side(OVN_WHO, null, why) };
  }
}

/** RSS of ovn-controller on boh1 (bytes), for B4. */
export function ovnControllerRss(lab: OvnLab, host = 'boh1'): number | null {
  const pid = lab.controllerPid(host);
  return pid ? rssBytes(pid) : null;
}

/** B6's peer: kill -9 and restart of ovn-controller on boh1 under a 10 ms ping between two chassis. */
export async function ovnRestartPeer(ctx: BenchContext): Promise<Figure[]> {
  const lab = await ovnLab(ctx);
  const who = 'OVN 23.03 ovn-controller';
  const none = (why: string) => [
    figure({ bench: 'B6', name: 'agent vs ovn-controller kill -9 + restart: lost pings', unit: 'pings', better: 'lower', ours: side(OURS, null, 'see the agent restart rows'), peer: side(who, null, why) }),
  ];
  if (typeof lab === 'string') return none(lab);
  try {
    await ensureContainers(lab);
    const d = join(DIR, 'boh1');
    const ping = new Ping('boh1c1', '10.213.0.2');
    await sleep(1000);
    const pid = lab.controllerPid('boh1');
    if (!pid) throw new Error('no ovn-controller pid on boh1');
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(10);
    await sh('ip', nsx('boh1', ['env', `OVS_RUNDIR=${d}`, `OVN_RUNDIR=${d}`, 'ovn-controller', `unix:${d}/db.sock`, `--log-file=${d}/ovn-controller.log`, `--pidfile=${d}/ovn-controller.pid`, '--detach']));
    await lab.nb(['--wait=hv', 'sync']);
    const syncedMs = Date.now() - t0;
    await sleep(1000);
    const r = await ping.stop();
    return [
      figure({ bench: 'B6', name: 'agent vs ovn-controller kill -9 + restart: lost pings', unit: 'pings', better: 'lower', ours: side(OURS, null, 'see "agent kill -9 + restart" above'), peer: side(who, [r.lost]), note: `${r.transmitted} sent over ${(r.transmitted / 100).toFixed(1)} s; ovn-controller back and --wait=hv sync done ${syncedMs} ms after the kill` }),
    ];
  } catch (err) {
    return none(`OVN restart run failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400));
  }
}

let containers = false;
/** Two containers on boh1 and boh2 in ls0 (10.213.0.1, .2), answering pings across the overlay. */
export async function ensureContainers(lab: OvnLab): Promise<void> {
  if (containers) return;
  await lab.addContainer('boh1', 'boh1c1', '10.213.0.1', '0a:13:00:00:00:01');
  await lab.addContainer('boh2', 'boh2c1', '10.213.0.2', '0a:13:00:00:00:02');
  const t0 = Date.now();
  // The first packet to a new tunnel peer is lost while the userspace tunnel resolves ARP.
  while ((await sh('ip', nsx('boh1c1', ['ping', '-c', '1', '-W', '1', '10.213.0.2']), { check: false })).exitCode !== 0) {
    if (Date.now() - t0 > 60000) throw new Error('OVN containers boh1c1 -> boh2c1: no ping reply after 60 s');
  }
  containers = true;
}
