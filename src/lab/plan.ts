// The pure part of the lab: names, the address plan, MTUs, MACs and the agents' configuration files.
// Everything a lab makes is named "<lab>-<what>"; lab names have no "-", so the text before the first
// "-" is exactly the lab's name and lab "a" can never match lab "ab"'s (or "a-x"'s) things.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Encap } from '../registry/model.js';
import { AgentConfig } from '../config/schema.js';
import { LabError } from './errors.js';

export const ENCAPS: readonly Encap[] = ['vxlan', 'geneve', 'gre'];
export const LAB_NAME_RE = /^[a-z][a-z0-9]{0,11}$/;
/** At most 13 characters so that the container's port on br-int, "c-<name>", fits in 15. */
export const CONTAINER_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,11}[a-z0-9])?$/;
export const MAX_HOSTS = 32;
export const BRIDGE = 'br-int';
export const TUNNEL_PORT = 'tun0';
/** The host end of the underlay link, inside the host's namespace (port of br-phy). */
export const PHY_DEV = 'phy0';
/** The Linux bridge inside the underlay namespace that joins every host. */
export const UNDERLAY_BRIDGE = 'br0';
export const UNDERLAY_MTU = 1500;
export const AGENT_API_PORT = 8080;
export const AGENT_MESH_PORT = 7471;
/** Unix socket paths (sun_path) hold 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/**
 * Bytes the encapsulation adds in front of the inner IP packet on an IPv4 underlay: the inner Ethernet
 * header (14) + outer IPv4 (20) + UDP (8) + VXLAN/Geneve without options (8), or + GRE with the key
 * that carries tun_id (4 + 4). Checked here: with 38 for GRE, TCP stalls (full-size segments are dropped).
 */
export const ENCAP_OVERHEAD: Record<Encap, number> = { vxlan: 50, geneve: 50, gre: 42 };

export function checkLabName(lab: string): string {
  if (!LAB_NAME_RE.test(lab)) {
    throw new LabError(
      `invalid lab name "${lab}": use 1-12 lower-case letters and digits, starting with a letter (no "-": it separates the lab name from what the lab made)`,
    );
  }
  return lab;
}

export function checkContainerName(name: string): string {
  if (!CONTAINER_NAME_RE.test(name)) {
    throw new LabError(`invalid container name "${name}": use 1-13 lower-case letters, digits and "-", not starting or ending with "-"`);
  }
  return name;
}

export function checkEncap(encap: string): Encap {
  if (!(ENCAPS as readonly string[]).includes(encap)) throw new LabError(`invalid encapsulation "${encap}": use vxlan, geneve or gre`);
  return encap as Encap;
}

export function hostId(index: number): string {
  return `h${index}`;
}

export function hostIndex(id: string): number | undefined {
  const m = /^h([1-9]\d{0,2})$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

export const names = {
  prefix: (lab: string) => `${lab}-`,
  underlayNs: (lab: string) => `${lab}-ul`,
  hostNs: (lab: string, host: string) => `${lab}-${host}`,
  containerNs: (lab: string, container: string) => `${lab}-c-${container}`,
  /** The container's veth end in the host namespace, the port on br-int. */
  containerPort: (container: string) => `c-${container}`,
  /** The host's veth end in the underlay namespace (a port of the underlay Linux bridge). */
  underlayPort: (host: string) => host,
};

export type LabNsKind = { kind: 'underlay' } | { kind: 'host'; host: string } | { kind: 'container'; container: string };

/** Tells which lab made a namespace, from its name alone (used by `down` after a crash and by `list`). */
export function parseNamespace(ns: string): ({ lab: string } & LabNsKind) | undefined {
  const m = /^([a-z][a-z0-9]{0,11})-(ul|h[1-9]\d{0,2}|c-([a-z0-9][a-z0-9-]{0,12}))$/.exec(ns);
  if (!m) return undefined;
  // Only names the lab could have made: `down` deletes what this accepts, so a host beyond MAX_HOSTS or
  // a container name checkContainerName refuses belongs to someone else.
  if (m[3] !== undefined && !CONTAINER_NAME_RE.test(m[3])) return undefined;
  if (m[3] === undefined && m[2] !== 'ul' && Number((m[2] as string).slice(1)) > MAX_HOSTS) return undefined;
  const lab = m[1] as string;
  const what = m[2] as string;
  if (what === 'ul') return { lab, kind: 'underlay' };
  if (m[3] !== undefined) return { lab, kind: 'container', container: m[3] };
  return { lab, kind: 'host', host: what };
}

function hashBytes(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface UnderlayPlan {
  /** Network address and prefix, e.g. 192.168.100.0/24. */
  cidr: string;
  prefixLen: number;
  /** Underlay (VTEP) addresses of hosts h1..hN, in order. */
  hostIps: string[];
}

/** Host i gets the network address + 10 + i. */
const HOST_OFFSET = 10;

/**
 * The default lab uses 192.168.100.0/24, any other lab 192.168.<101..199>.0/24 derived from its name.
 * Every underlay lives inside the lab's own namespaces, so two labs that land on the same subnet still
 * cannot reach each other; the different subnets only make captures easier to tell apart.
 */
export function defaultUnderlay(lab: string): string {
  if (lab === 'default') return '192.168.100.0/24';
  const n = 101 + (hashBytes(`bumless-lab/${lab}`).readUInt32BE(0) % 99);
  return `192.168.${n}.0/24`;
}

export function underlayPlan(lab: string, hosts: number, cidr = defaultUnderlay(lab)): UnderlayPlan {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefixLen = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || prefixLen < 8 || prefixLen > 29) {
    throw new LabError(`invalid underlay "${cidr}": give an IPv4 prefix like 192.168.100.0/24 (length 8-29)`);
  }
  const size = 2 ** (32 - prefixLen);
  const network = (ipToInt(octets.join('.')) & ~(size - 1)) >>> 0;
  if (HOST_OFFSET + hosts >= size - 1) {
    throw new LabError(`underlay ${cidr} is too small for ${hosts} hosts (host i gets .${HOST_OFFSET}+i); use a shorter prefix`);
  }
  return {
    cidr: `${intToIp(network)}/${prefixLen}`,
    prefixLen,
    hostIps: Array.from({ length: hosts }, (_, i) => intToIp(network + HOST_OFFSET + i + 1)),
  };
}

export function containerMtu(encap: Encap, underlayMtu = UNDERLAY_MTU): number {
  return underlayMtu - ENCAP_OVERHEAD[encap];
}

/** A stable, locally administered unicast MAC for a container that was given none. */
export function defaultMac(lab: string, container: string): string {
  const h = hashBytes(`bumless-lab/${lab}/${container}`);
  const bytes = [0x02, h[0], h[1], h[2], h[3], h[4]] as number[];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function checkIpWithPrefix(ip: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(ip);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new LabError(`invalid container address "${ip}": give IPv4/prefix, e.g. 10.0.0.1/24`);
  }
  return ip;
}

export function checkMac(mac: string): string {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw new LabError(`invalid MAC "${mac}": give a unicast MAC like 02:00:00:00:00:01`);
  }
  return mac.toLowerCase();
}

/** Paths of one host's private Open vSwitch (see vagrant/lib/ovs-host.sh: OVS_RUNDIR is the host dir). */
export interface HostPaths {
  dir: string;
  /** ovs-vsctl --db target: `unix:<dir>/db.sock`. */
  db: string;
  ovsdbCtl: string;
  vswitchdCtl: string;
  /** br-int's OpenFlow management socket as an ovs-ofctl / controller target: `unix:<dir>/br-int.mgmt`, like db. */
  mgmt: string;
  ovsdbPid: string;
  vswitchdPid: string;
  agentPid: string;
  agentLog: string;
  agentConfig: string;
  agentData: string;
}

export function hostPaths(labDir: string, host: string): HostPaths {
  const dir = join(labDir, host);
  return {
    dir,
    db: `unix:${join(dir, 'db.sock')}`,
    ovsdbCtl: join(dir, 'ovsdb.ctl'),
    vswitchdCtl: join(dir, 'vswitchd.ctl'),
    mgmt: `unix:${join(dir, `${BRIDGE}.mgmt`)}`,
    ovsdbPid: join(dir, 'ovsdb.pid'),
    vswitchdPid: join(dir, 'vswitchd.pid'),
    agentPid: join(dir, 'agent.pid'),
    agentLog: join(dir, 'agent.log'),
    agentConfig: join(dir, 'agent.json'),
    agentData: join(dir, 'agent-data'),
  };
}

/** Throws if a unix socket of this host would not fit in sun_path (the daemons would fail obscurely). */
export function checkSocketPaths(labDir: string, maxHost: string): void {
  const longest = join(labDir, maxHost, 'vswitchd.ctl');
  const snoop = join(labDir, maxHost, `${BRIDGE}.snoop`);
  const worst = longest.length > snoop.length ? longest : snoop;
  if (Buffer.byteLength(worst) > MAX_SOCKET_PATH) {
    throw new LabError(
      `lab directory ${labDir} is too deep: socket path ${worst} exceeds the ${MAX_SOCKET_PATH}-byte unix socket limit; set BUMLESS_LAB_ROOT to a shorter directory`,
    );
  }
}

export interface AgentHostInfo {
  id: string;
  underlayIp: string;
  paths: HostPaths;
}

/**
 * The configuration file of a lab host's agent, validated against the agent's own schema. The mesh
 * runs over TLS with the lab's certificates (see pki.ts), so peers are wss:// URLs.
 */
export function agentConfig(
  encap: Encap,
  host: AgentHostInfo,
  peers: AgentHostInfo[],
  meshTls: { ca: string; cert: string; key: string },
): AgentConfig {
  return AgentConfig.parse({
    hostId: host.id,
    vtepIp: host.underlayIp,
    bridge: BRIDGE,
    encap,
    tunnelPort: TUNNEL_PORT,
    dataDir: host.paths.agentData,
    ovs: { db: host.paths.db, datapathType: 'netdev', rundir: host.paths.dir },
    openflow: { target: host.paths.mgmt },
    api: { listen: `${host.underlayIp}:${AGENT_API_PORT}` },
    mesh: {
      listen: `${host.underlayIp}:${AGENT_MESH_PORT}`,
      tls: meshTls,
      peers: peers.filter((p) => p.id !== host.id).map((p) => ({ hostId: p.id, url: `wss://${p.underlayIp}:${AGENT_MESH_PORT}` })),
    },
  });
}
