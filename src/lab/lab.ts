// A lab: N Open vSwitch hosts, each a network namespace with its own ovsdb-server and ovs-vswitchd
// (userspace datapath), joined by a Linux bridge in the lab's underlay namespace; containers are
// namespaces whose eth0 sits on a host's br-int. The host and container steps are the shell recipe in
// vagrant/lib/ovs-host.sh; this module owns naming, state and orchestration.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Encap } from '../registry/model.js';
import { startAgents, stopAgents, agentStatus } from './agents.js';
import type { AgentStatus, AgentStartOptions, AgentStopOptions } from './agents.js';
import { LabError } from './errors.js';
import {
  BRIDGE,
  LAB_NAME_RE,
  MAX_HOSTS,
  PHY_DEV,
  TUNNEL_PORT,
  UNDERLAY_BRIDGE,
  UNDERLAY_MTU,
  checkContainerName,
  checkEncap,
  checkIpWithPrefix,
  checkLabName,
  checkMac,
  checkSocketPaths,
  containerMtu,
  defaultMac,
  hostId,
  hostPaths,
  names,
  parseNamespace,
  underlayPlan,
} from './plan.js';
import type { HostPaths } from './plan.js';
import { labDir, readState, stateFile, writeState } from './state.js';
import type { ContainerState, HostState, LabState } from './state.js';
import {
  hostScript,
  labRoot,
  withLabLock,
  listNamespaces,
  livePid,
  namespaceExists,
  namespacePids,
  preflight,
  run,
  stopProcess,
} from './system.js';
import type { RunResult } from './system.js';

export type Progress = (line: string) => void;

export interface UpOptions {
  lab?: string;
  hosts?: number;
  encap?: Encap;
  /** IPv4 prefix of the underlay; default 192.168.100.0/24 for the default lab, derived from the name otherwise. */
  underlay?: string;
  /** Start the agents once the hosts are up (fails while bumless has no `agent` command). */
  agents?: boolean;
  progress?: Progress;
}

export interface ContainerOptions {
  host: string;
  name: string;
  /** IPv4 address with prefix, e.g. 10.0.0.1/24. */
  ip: string;
  mac?: string;
  mtu?: number;
}

export type ExecTarget = { host: string } | { container: string } | { underlay: true };

export interface HostStatus extends HostState {
  paths: HostPaths;
  /** ovs-vsctl --db target. */
  db: string;
  /** ovs-vswitchd control socket (ovs-appctl -t). */
  vswitchdCtl: string;
  /** br-int's OpenFlow management socket, as an ovs-ofctl / controller target. */
  mgmt: string;
  ovsdbPid: number | null;
  vswitchdPid: number | null;
  /** OpenFlow port numbers on br-int by port name (tun0, c-<container>). */
  ofports: Record<string, number>;
  agent: AgentStatus | null;
}

export interface ContainerStatus extends ContainerState {
  ofport: number | null;
}

export interface LabStatus {
  name: string;
  encap: Encap;
  underlay: LabState['underlay'];
  dir: string;
  hosts: HostStatus[];
  containers: ContainerStatus[];
}

export interface LabSummary {
  name: string;
  /** Whether the lab's state file exists (a lab without one is a leftover only `down` can use). */
  state: boolean;
  encap: Encap | null;
  hosts: number;
  containers: number;
  namespaces: string[];
}

/** Test hook: BUMLESS_LAB_FAIL_AFTER=<step>[:<host>] fails `up` right after that step has run. */
function injectFailure(step: string, where: string): void {
  const spec = process.env.BUMLESS_LAB_FAIL_AFTER;
  if (!spec) return;
  const [wantStep, wantWhere] = spec.split(':');
  if (wantStep === step && (wantWhere === undefined || wantWhere === where)) {
    throw new LabError(`${where}: injected failure after step ${step} (BUMLESS_LAB_FAIL_AFTER=${spec})`);
  }
}

const noProgress: Progress = () => undefined;

export class Lab {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private current: LabState) {}

  get name(): string {
    return this.current.name;
  }

  get encap(): Encap {
    return this.current.encap;
  }

  get dir(): string {
    return labDir(this.current.name);
  }

  /** A copy of the lab's recorded topology, as on disk now (other processes may change it). */
  get state(): LabState {
    return structuredClone(this.reload());
  }

  /** Opens a lab that is up (its state file exists). */
  static open(lab = 'default'): Lab {
    checkLabName(lab);
    const state = readState(lab);
    if (!state) throw new LabError(`lab "${lab}" is not up (no ${stateFile(lab)}); run \`bumless lab up --lab ${lab}\``);
    return new Lab(state);
  }

  /** Builds the lab, or completes it: `up` on a lab that is up changes nothing. */
  static async up(opts: UpOptions = {}): Promise<Lab> {
    preflight();
    const name = checkLabName(opts.lab ?? 'default');
    const progress = opts.progress ?? noProgress;
    const lab = await withLabLock(name, () => Lab.build(name, opts, progress));
    if (opts.agents) await lab.startAgents({ progress });
    return lab;
  }

  private static async build(name: string, opts: UpOptions, progress: Progress): Promise<Lab> {
    const existing = readState(name);
    const encap = checkEncap(opts.encap ?? existing?.encap ?? 'vxlan');
    const hosts = opts.hosts ?? existing?.hosts.length ?? 3;
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) {
      throw new LabError(`invalid host count ${hosts}: use 1 to ${MAX_HOSTS}`);
    }
    if (existing) {
      if (existing.encap !== encap) {
        throw new LabError(`lab "${name}" is up with encapsulation ${existing.encap}; run \`bumless lab down --lab ${name}\` first to change it`);
      }
      if (hosts < existing.hosts.length) {
        throw new LabError(`lab "${name}" is up with ${existing.hosts.length} hosts; run \`bumless lab down --lab ${name}\` first to have fewer`);
      }
      if (opts.underlay !== undefined && underlayPlan(name, hosts, opts.underlay).cidr !== existing.underlay.cidr) {
        throw new LabError(`lab "${name}" is up with underlay ${existing.underlay.cidr}; run \`bumless lab down --lab ${name}\` first to change it`);
      }
    }
    const plan = underlayPlan(name, hosts, opts.underlay ?? existing?.underlay.cidr);
    const dir = labDir(name);
    checkSocketPaths(dir, hostId(hosts));

    const state: LabState = {
      version: 1,
      name,
      encap,
      underlay: { cidr: plan.cidr, prefixLen: plan.prefixLen, ns: names.underlayNs(name), mtu: UNDERLAY_MTU },
      hosts: plan.hostIps.map((underlayIp, i) => {
        const id = hostId(i + 1);
        return { id, index: i + 1, ns: names.hostNs(name, id), underlayIp, dir: join(dir, id) };
      }),
      containers: existing?.containers ?? [],
      createdAt: existing?.createdAt ?? new Date().toISOString(),
    };
    // Recorded before anything exists, so that whatever happens next `down` knows what to look for.
    writeState(state);
    const lab = new Lab(state);
    const started = Date.now();
    progress(`lab ${name}: ${existing ? 'checking' : 'building'} ${hosts} hosts (${encap}, underlay ${plan.cidr})`);
    try {
      await lab.ensureUnderlay();
      // Every host finishes its steps even when another fails, so the lab is left in a known state.
      const results = await Promise.allSettled(state.hosts.map((h) => lab.ensureHost(h, progress)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      // Containers recorded by an earlier `up` are completed too (e.g. after a host namespace was lost).
      await Promise.all(state.containers.map((c) => lab.ensureContainer(c)));
    } catch (err) {
      if (err instanceof LabError) {
        err.message += `\nlab "${name}" is partly built: fix the cause and run \`bumless lab up --lab ${name}\` again, or remove it with \`bumless lab down --lab ${name}\``;
      }
      throw err;
    }
    progress(`lab ${name}: ${hosts} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return lab;
  }

  /**
   * Removes everything the lab made, from its state if any and from names alone otherwise: daemons by
   * pidfile, any process left in its namespaces, the namespaces (and with them every link), its directory.
   */
  static async down(lab = 'default', progress: Progress = noProgress): Promise<{ removed: string[] }> {
    preflight();
    checkLabName(lab);
    return withLabLock(lab, () => Lab.remove(lab, progress));
  }

  private static async remove(lab: string, progress: Progress): Promise<{ removed: string[] }> {
    const dir = labDir(lab);
    const removed: string[] = [];
    const hostDirs = existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name))
      : [];
    for (const hostDir of hostDirs) {
      for (const [file, what] of [['agent.pid', 'agent'], ['vswitchd.pid', 'ovs-vswitchd'], ['ovsdb.pid', 'ovsdb-server']] as const) {
        const pid = livePid(join(hostDir, file), hostDir);
        if (pid !== undefined && (await stopProcess(pid))) removed.push(`${what} ${pid}`);
      }
    }
    const namespaces = listNamespaces()
      .map((ns) => ({ ns, parsed: parseNamespace(ns) }))
      .filter((n) => n.parsed?.lab === lab);
    // Containers first, hosts next, the underlay last: each namespace's links go with it.
    const order = { container: 0, host: 1, underlay: 2 } as const;
    namespaces.sort((a, b) => order[a.parsed?.kind ?? 'underlay'] - order[b.parsed?.kind ?? 'underlay']);
    for (const { ns } of namespaces) {
      // Anything still running inside a namespace of this lab was started in it for the lab
      // (a daemon whose pidfile was lost, a command run with `lab exec`).
      for (const pid of await namespacePids(ns)) {
        if (await stopProcess(pid, 'SIGTERM', 2000)) removed.push(`process ${pid} in ${ns}`);
      }
      await run(ns, ['ip', 'netns', 'del', ns]);
      removed.push(`namespace ${ns}`);
    }
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(`directory ${dir}`);
    }
    const left = listNamespaces().filter((ns) => parseNamespace(ns)?.lab === lab);
    if (left.length > 0 || existsSync(dir)) {
      throw new LabError(`lab "${lab}": could not remove ${[...left, ...(existsSync(dir) ? [dir] : [])].join(', ')}`);
    }
    progress(removed.length ? `lab ${lab}: removed ${removed.length} things` : `lab ${lab}: nothing to remove`);
    return { removed };
  }

  /** Every lab on this machine: those with a state directory and those that left only namespaces. */
  static list(): LabSummary[] {
    const byName = new Map<string, LabSummary>();
    const get = (name: string) => {
      let s = byName.get(name);
      if (!s) byName.set(name, (s = { name, state: false, encap: null, hosts: 0, containers: 0, namespaces: [] }));
      return s;
    };
    let dirs: string[] = [];
    try {
      dirs = readdirSync(labRoot());
    } catch {
      dirs = [];
    }
    for (const name of dirs) {
      if (!LAB_NAME_RE.test(name)) continue;
      const s = get(name);
      try {
        const st = readState(name);
        if (st) Object.assign(s, { state: true, encap: st.encap, hosts: st.hosts.length, containers: st.containers.length });
      } catch {
        // An unreadable state file still marks a lab to tear down.
      }
    }
    for (const ns of listNamespaces()) {
      const parsed = parseNamespace(ns);
      if (parsed) get(parsed.lab).namespaces.push(ns);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  host(id: string): HostState {
    const h = this.current.hosts.find((x) => x.id === id) ?? this.reload().hosts.find((x) => x.id === id);
    if (!h) throw new LabError(`lab "${this.name}" has no host "${id}" (hosts: ${this.current.hosts.map((x) => x.id).join(', ')})`);
    return h;
  }

  hostPaths(id: string): HostPaths {
    return hostPaths(this.dir, this.host(id).id);
  }

  container(name: string): ContainerState {
    const c = this.current.containers.find((x) => x.name === name) ?? this.reload().containers.find((x) => x.name === name);
    if (!c) throw new LabError(`lab "${this.name}" has no container "${name}"`);
    return c;
  }

  /** The namespace of a host, a container or the underlay. */
  ns(target: ExecTarget): string {
    if ('host' in target) return this.host(target.host).ns;
    if ('container' in target) return this.container(target.container).ns;
    return this.current.underlay.ns;
  }

  /** Runs a command inside a namespace of the lab. Throws on a non-zero exit unless check is false. */
  async exec(target: ExecTarget, cmd: string[], opts: { timeoutMs?: number; check?: boolean } = {}): Promise<RunResult> {
    const ns = this.ns(target);
    return run(ns, ['ip', 'netns', 'exec', ns, ...cmd], opts);
  }

  /** ovs-vsctl against a host's database. */
  async vsctl(host: string, args: string[]): Promise<string> {
    return (await run(host, ['ovs-vsctl', `--db=${this.hostPaths(host).db}`, '--timeout=30', ...args])).stdout;
  }

  /** ovs-ofctl -O OpenFlow13 <command> unix:<host dir>/br-int.mgmt [args...]. */
  async ofctl(host: string, command: string, args: string[] = []): Promise<string> {
    return (await run(host, ['ovs-ofctl', '-O', 'OpenFlow13', command, this.hostPaths(host).mgmt, ...args])).stdout;
  }

  /** OpenFlow port numbers on a host's br-int by port name. */
  async ofports(host: string): Promise<Record<string, number>> {
    // One transaction: every interface's ofport (CSV lines), then br-int's port names (plain lines).
    const out = await this.vsctl(host, ['-f', 'csv', '--no-headings', '--columns=name,ofport', 'list', 'Interface', '--', 'list-ports', BRIDGE]);
    const lines = out.split('\n').filter(Boolean);
    const onBridge = new Set(lines.filter((l) => !l.includes(',')));
    const ports: Record<string, number> = {};
    for (const line of lines) {
      const [rawName, ofport] = line.split(',');
      const name = rawName?.replace(/"/g, '');
      if (name && onBridge.has(name) && ofport && /^\d+$/.test(ofport)) ports[name] = Number(ofport);
    }
    return ports;
  }

  async addContainer(opts: ContainerOptions, progress: Progress = noProgress): Promise<ContainerState> {
    preflight();
    const name = checkContainerName(opts.name);
    const host = this.host(opts.host);
    const ip = checkIpWithPrefix(opts.ip);
    const mac = opts.mac === undefined ? defaultMac(this.name, name) : checkMac(opts.mac);
    const mtu = opts.mtu ?? containerMtu(this.encap, this.current.underlay.mtu);
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new LabError(`invalid MTU ${mtu}: use 576 to 9000`);
    const container: ContainerState = {
      name,
      host: host.id,
      ns: names.containerNs(this.name, name),
      ip,
      mac,
      mtu,
      port: names.containerPort(name),
    };
    return this.locked(async () => {
      const same = this.current.containers.find((c) => c.name === name);
      if (same && JSON.stringify(same) !== JSON.stringify(container)) {
        throw new LabError(`container "${name}" exists in lab "${this.name}" with other settings; run \`bumless lab container del --lab ${this.name} --name ${name}\` first`);
      }
      if (!same) {
        this.current.containers.push(container);
        writeState(this.current);
      }
      progress(`lab ${this.name}: container ${name} on ${host.id} (${ip}, ${mac}, mtu ${mtu})`);
      await this.ensureContainer(container);
      return { ...container };
    });
  }

  private async ensureContainer(c: ContainerState): Promise<void> {
    const host = this.host(c.host);
    await hostScript(`${host.id}: container ${c.name}`, 'container-add', {
      dir: host.dir,
      netns: host.ns,
      cns: c.ns,
      port: c.port,
      ip: c.ip,
      mac: c.mac,
      mtu: String(c.mtu),
      'iface-id': c.name,
    });
  }

  async delContainer(name: string, progress: Progress = noProgress): Promise<void> {
    preflight();
    checkContainerName(name);
    await this.locked(async () => {
      const c = this.container(name);
      const host = this.host(c.host);
      progress(`lab ${this.name}: removing container ${name} from ${host.id}`);
      await hostScript(`${host.id}: container ${name}`, 'container-del', {
        dir: host.dir,
        netns: host.ns,
        cns: c.ns,
        port: c.port,
      });
      this.current.containers = this.current.containers.filter((x) => x.name !== name);
      writeState(this.current);
    });
  }

  /** Rereads the state file (another process may have added a container); keeps what it has if the file is gone. */
  private reload(): LabState {
    const onDisk = readState(this.name);
    if (onDisk) this.current = onDisk;
    return this.current;
  }

  async status(): Promise<LabStatus> {
    this.reload();
    const hosts = await Promise.all(
      this.current.hosts.map(async (h): Promise<HostStatus> => {
        const paths = hostPaths(this.dir, h.id);
        const ovsdbPid = livePid(paths.ovsdbPid, paths.dir) ?? null;
        const vswitchdPid = livePid(paths.vswitchdPid, paths.dir) ?? null;
        const ofports = ovsdbPid !== null ? await this.ofports(h.id).catch(() => ({})) : {};
        return {
          ...h,
          paths,
          db: paths.db,
          vswitchdCtl: paths.vswitchdCtl,
          mgmt: paths.mgmt,
          ovsdbPid,
          vswitchdPid,
          ofports,
          agent: agentStatus(h, paths),
        };
      }),
    );
    const containers = this.current.containers.map((c) => ({
      ...c,
      ofport: hosts.find((h) => h.id === c.host)?.ofports[c.port] ?? null,
    }));
    return { name: this.name, encap: this.encap, underlay: this.current.underlay, dir: this.dir, hosts, containers };
  }

  async startAgents(opts: AgentStartOptions = {}): Promise<void> {
    preflight();
    await this.locked(() => startAgents(this.current, this.dir, opts));
  }

  async stopAgents(opts: AgentStopOptions = {}): Promise<void> {
    preflight();
    await this.locked(() => stopAgents(this.current, this.dir, opts));
  }

  async restartAgents(opts: AgentStartOptions & AgentStopOptions = {}): Promise<void> {
    await this.stopAgents(opts);
    await this.startAgents(opts);
  }

  async down(progress: Progress = noProgress): Promise<{ removed: string[] }> {
    return Lab.down(this.name, progress);
  }

  /**
   * Changes happen one at a time: in this object (containers may be added concurrently) and across
   * processes (the lab lock), each starting from the state on disk, which another process may have changed.
   */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const task = () =>
      withLabLock(this.name, () => {
        const onDisk = readState(this.name);
        if (!onDisk) throw new LabError(`lab "${this.name}" is not up (no ${stateFile(this.name)}); run \`bumless lab up --lab ${this.name}\``);
        this.current = onDisk;
        return fn();
      });
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureUnderlay(): Promise<void> {
    const ns = this.current.underlay.ns;
    if (!namespaceExists(ns)) await run('underlay', ['ip', 'netns', 'add', ns]);
    // The underlay namespace is a plain Linux bridge for IPv4 tunnels: without IPv6 its bridge and ports
    // add no router solicitations or MLD reports of their own to what crosses the underlay. Set before
    // the bridge and the host links exist, so they are created without it ("default"; "all" for a rerun).
    if (existsSync('/proc/sys/net/ipv6')) {
      await run('underlay', ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    injectFailure('underlay', 'underlay');
    const hasBridge = await run('underlay', ['ip', '-n', ns, 'link', 'show', UNDERLAY_BRIDGE], { check: false });
    if (hasBridge.exitCode !== 0) await run('underlay', ['ip', '-n', ns, 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge']);
    await run('underlay', ['ip', '-n', ns, 'link', 'set', UNDERLAY_BRIDGE, 'mtu', String(this.current.underlay.mtu), 'up']);
  }

  private async ensureHost(h: HostState, progress: Progress): Promise<void> {
    const where = h.id;
    const ul = this.current.underlay.ns;
    mkdirSync(h.dir, { recursive: true });
    if (!namespaceExists(h.ns)) await run(where, ['ip', 'netns', 'add', h.ns]);
    await run(where, ['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
    injectFailure('namespace', where);

    const hasLink = await run(where, ['ip', '-n', h.ns, 'link', 'show', PHY_DEV], { check: false });
    if (hasLink.exitCode !== 0) {
      // Created straight into both namespaces: the root namespace never holds a name of the lab.
      const port = names.underlayPort(h.id);
      await run(where, ['ip', 'link', 'add', 'name', PHY_DEV, 'netns', h.ns, 'mtu', String(this.current.underlay.mtu), 'type', 'veth', 'peer', 'name', port, 'netns', ul]);
      await run(where, ['ip', '-n', ul, 'link', 'set', port, 'master', UNDERLAY_BRIDGE, 'mtu', String(this.current.underlay.mtu), 'up']);
    }
    injectFailure('underlay-link', where);

    // Say what is actually done: an idempotent `up` finds the daemons running and starts nothing.
    const paths = hostPaths(this.dir, h.id);
    const daemons = [['ovsdb-server', paths.ovsdbPid], ['ovs-vswitchd', paths.vswitchdPid]] as const;
    const runningBefore = daemons.map(([what, file]) => ({ what, pid: livePid(file, paths.dir) }));
    const toStart = runningBefore.filter((d) => d.pid === undefined).map((d) => d.what);
    const already = runningBefore.filter((d) => d.pid !== undefined).map((d) => `${d.what} pid ${d.pid}`);
    if (toStart.length === 0) {
      progress(`lab ${this.name}: ${h.id}: Open vSwitch already running (${already.join(', ')})`);
    } else {
      const also = already.length > 0 ? `; already running: ${already.join(', ')}` : '';
      progress(`lab ${this.name}: ${h.id}: starting ${toStart.join(' and ')} in namespace ${h.ns}${also}`);
    }
    await hostScript(where, 'ovs-start', { dir: h.dir, netns: h.ns });
    injectFailure('ovs-start', where);

    await hostScript(where, 'bridges', {
      dir: h.dir,
      netns: h.ns,
      datapath: 'netdev',
      'phy-dev': PHY_DEV,
      ip: `${h.underlayIp}/${this.current.underlay.prefixLen}`,
      encap: this.encap,
      bridge: BRIDGE,
      tunnel: TUNNEL_PORT,
    });
    injectFailure('bridges', where);
    progress(`lab ${this.name}: ${h.id}: up, underlay ${h.underlayIp}, ${BRIDGE} with ${this.encap} port ${TUNNEL_PORT}`);
  }
}
