// The seed demo: three lab hosts with agents and the mesh, two tenants created through the REST API,
// six containers registered through the REST API with the tenants' own tokens (h1-h3 in tenant-a,
// j1-j3 in tenant-b, the SAME IPs and MACs in both), then checks that ask the data plane: pings inside
// each tenant work, nothing crosses tenants, and while h1 pings h3 no ARP, broadcast or unknown-unicast
// frame reaches anyone else or the underlay, the ARP reply coming from h1's switch.
import { Lab } from '../lab/index.js';
import type { ContainerState, LabStatus } from '../lab/index.js';
import { AGENT_API_PORT, AGENT_MESH_PORT, UNDERLAY_BRIDGE, names } from '../lab/plan.js';
import { ApiRelay } from './relay.js';
import type { HttpReply } from './relay.js';
import { startCapture } from './capture.js';
import type { Capture } from './capture.js';
import { DemoError } from './errors.js';
import { ofKind, packets, parseDump } from './flows.js';
import type { DumpedFlow } from './flows.js';

export const DEMO_HOSTS = ['h1', 'h2', 'h3'] as const;
export const DEMO_NETWORK = 'net';
export const DEMO_CIDR = '10.10.10.0/24';
export const DEMO_TENANTS = [
  { name: 'tenant-a', prefix: 'h' },
  { name: 'tenant-b', prefix: 'j' },
] as const;
const ENCAP_PORT = { vxlan: ['udp', 'port', '4789'], geneve: ['udp', 'port', '6081'], gre: ['ip', 'proto', 'gre'] } as const;

export const demoMac = (i: number): string => `aa:aa:aa:aa:aa:0${i}`;
export const demoIp = (i: number): string => `10.10.10.${i}`;

export interface DemoCheck {
  id: string;
  title: string;
  ok: boolean;
  /** What was measured, one line per fact. */
  details: string[];
}

export interface DemoHost {
  id: string;
  namespace: string;
  underlayIp: string;
  apiUrl: string;
  adminToken: string;
  adminTokenFile: string;
  ovs: { db: string; vswitchdCtl: string; openflow: string };
  agentPid: number;
  agentLog: string;
}

export interface DemoTenant {
  name: string;
  network: string;
  vni: number;
  /** The tenant's token, made once on h1's agent; the mesh replicates it, so it works on every host. */
  token: string;
}

export interface DemoContainer {
  name: string;
  host: string;
  namespace: string;
  tenant: string;
  network: string;
  ip: string;
  mac: string;
  port: string;
}

export interface DemoSummary {
  lab: string;
  encap: string;
  underlay: string;
  hosts: DemoHost[];
  tenants: DemoTenant[];
  containers: DemoContainer[];
  checks: DemoCheck[];
  /** Lines of `ovs-ofctl -O OpenFlow13 dump-flows` on h1: tenant-a's ARP-responder and unicast flows. */
  flowsExcerpt: string[];
  flowsOnH1: number;
  ok: boolean;
  seconds: number;
  /** Whether the lab was left running (--keep). */
  kept: boolean;
}

export interface DemoOptions {
  lab?: string;
  keep?: boolean;
  /** One line per step; `level` 1 lines are details under a step. */
  progress?: (line: string, level?: number) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns something other than undefined; the error names what never happened and the last observation. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new DemoError(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last: ${last})` : ''}`);
    await sleep(stepMs);
  }
}

function expect(r: HttpReply, status: number, what: string): unknown {
  if (r.status !== status) {
    throw new DemoError(`${what}: expected HTTP ${status}, got ${r.status || 'no answer'}: ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
  }
  return r.body;
}

interface StatusBody {
  ready: boolean;
  switch: { flows: { desired: number; installed: number }; connection: { state: string } } | null;
  peers: Array<{ hostId: string; state: string }>;
  registry: { endpoints: number; localEndpoints?: number };
}

interface PingResult {
  sent: number;
  received: number;
  text: string;
}

function parsePing(text: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
  return { sent: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, text };
}

/** Runs the demo; the lab is torn down at the end unless opts.keep. Never throws for a failed check (ok: false). */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const name = opts.lab ?? 'default';
  const say = opts.progress ?? (() => undefined);
  const started = Date.now();
  const relays = new Map<string, ApiRelay>();
  const captures: Capture[] = [];
  let lab: Lab | undefined;
  let built = false;
  let kept = false;
  let stepStart = Date.now();
  const step = (text: string): void => {
    stepStart = Date.now();
    say(text);
  };
  const done = (text = 'done'): void => say(`${text} (${((Date.now() - stepStart) / 1000).toFixed(1)} s)`, 1);

  try {
    if (Lab.list().some((l) => l.name === name)) {
      step(`removing the lab "${name}" left from an earlier run, to start clean`);
      await Lab.down(name);
      done();
    }

    step(`building lab "${name}": 3 hosts, each a network namespace with its own Open vSwitch (userspace datapath), joined by an underlay`);
    // From here on the lab exists, possibly half-built: the finally block removes it unless --keep.
    built = true;
    lab = await Lab.up({ lab: name, hosts: DEMO_HOSTS.length, progress: (l) => say(l, 1) });
    done();
    const theLab = lab;

    step('adding 6 containers: h1-h3 (tenant-a) and j1-j3 (tenant-b), same IPs 10.10.10.1-3 and MACs aa:aa:aa:aa:aa:01-03 in both');
    const plan: Array<{ c: ContainerState; tenant: string }> = [];
    for (const [n, host] of DEMO_HOSTS.entries()) {
      const i = n + 1;
      for (const t of DEMO_TENANTS) {
        const c = await theLab.addContainer({ host, name: `${t.prefix}${i}`, ip: `${demoIp(i)}/24`, mac: demoMac(i) });
        plan.push({ c, tenant: t.name });
        say(`${c.name} on ${host}: ${c.ip} ${c.mac} (namespace ${c.ns}, port ${c.port})`, 1);
      }
    }
    done();

    step('starting the bumless agent on every host (REST API, OpenFlow 1.3 to br-int, TLS mesh to the other two)');
    await theLab.startAgents({ progress: (l) => say(l, 1) });
    let status = await theLab.status();
    for (const h of status.hosts) relays.set(h.id, ApiRelay.start(h.ns));
    const adminToken = (host: string): string => {
      const t = status.hosts.find((h) => h.id === host)?.agent?.adminToken;
      if (!t) throw new DemoError(`${host}: the agent has written no admin token; see ${theLab.hostPaths(host).agentLog}`);
      return t;
    };
    const apiUrl = (host: string): string => `http://${theLab.host(host).underlayIp}:${AGENT_API_PORT}`;
    const call = (host: string, token: string, method: string, path: string, body?: unknown): Promise<HttpReply> => {
      const relay = relays.get(host);
      if (!relay) throw new DemoError(`no HTTP relay for ${host}`);
      return relay.request(method, `${apiUrl(host)}${path}`, token, body);
    };
    await Promise.all(
      DEMO_HOSTS.map((h) =>
        until(`${h}'s agent to be ready (GET /readyz = 200)`, async () => {
          const r = await call(h, '', 'GET', '/readyz');
          if (r.status === 200) return true;
          throw new DemoError(`HTTP ${r.status || 'no answer'} ${JSON.stringify(r.body)}`);
        }, 60_000),
      ),
    );
    for (const h of status.hosts) say(`${h.id}: agent pid ${h.agent?.pid ?? '?'}, API ${apiUrl(h.id)} ready`, 1);
    done();

    step('creating tenant-a and tenant-b on h1 (POST /v1/tenants, admin token) and their networks (POST /v1/networks, each tenant\'s own token)');
    const tenants: DemoTenant[] = [];
    for (const t of DEMO_TENANTS) {
      const created = expect(await call('h1', adminToken('h1'), 'POST', '/v1/tenants', { name: t.name }), 201, `creating tenant ${t.name}`) as { token: string };
      const net = expect(await call('h1', created.token, 'POST', '/v1/networks', { name: DEMO_NETWORK, cidrs: [DEMO_CIDR] }), 201, `creating ${t.name}/${DEMO_NETWORK}`) as { vni: number };
      tenants.push({ name: t.name, network: `${t.name}/${DEMO_NETWORK}`, vni: net.vni, token: created.token });
      say(`${t.name}: network ${t.name}/${DEMO_NETWORK} ${DEMO_CIDR}, VNI ${net.vni} (assigned by the agent)`, 1);
    }
    done();

    step('waiting for the mesh to carry the tenants, their tokens and networks to h2 and h3 (each tenant\'s h1 token reads its network there)');
    for (const h of DEMO_HOSTS.filter((x) => x !== 'h1')) {
      for (const t of tenants) {
        // 401 until the token has arrived, 404 until the network has: 200 means both did.
        await until(`${t.name}'s token and ${t.network} to reach ${h} over the mesh`, async () => ((await call(h, t.token, 'GET', `/v1/networks/${t.network}`)).status === 200 ? true : undefined), 30_000);
      }
      say(`${h}: both networks arrived; the tenants' h1 tokens are valid here`, 1);
    }
    done();

    step('registering the 6 containers (POST /v1/endpoints on the agent of each container\'s host, with the tenant\'s token)');
    const containers: DemoContainer[] = [];
    for (const { c, tenant } of plan) {
      const t = tenants.find((x) => x.name === tenant);
      if (!t) throw new DemoError(`no tenant ${tenant}`);
      const token = t.token;
      const ip = c.ip.split('/')[0] as string;
      const t0 = Date.now();
      const reg = expect(await call(c.host, token, 'POST', '/v1/endpoints', { network: t.network, mac: c.mac, ips: [ip], port: c.port }), 201, `registering ${c.name}`) as {
        installed: boolean;
        announcedTo: string[];
      };
      if (!reg.installed) throw new DemoError(`registering ${c.name}: the agent answered 201 without confirmed flows`);
      containers.push({ name: c.name, host: c.host, namespace: c.ns, tenant, network: t.network, ip, mac: c.mac, port: c.port });
      say(`${c.name} (${tenant}, ${ip}, ${c.mac}) on ${c.host}: 201 in ${Date.now() - t0} ms, flows installed, announced to ${reg.announcedTo.join(', ') || 'nobody'}`, 1);
    }
    done();

    step('waiting for convergence: every agent has 6 endpoints and established peers, flows desired = installed, forwarding flows on every switch');
    const expectFlows = (host: string, flows: DumpedFlow[]): string | undefined => {
      for (const t of tenants) {
        const mine = containers.filter((c) => c.tenant === t.name);
        const remote = mine.filter((c) => c.host !== host).length;
        const local = mine.length - remote;
        const gotRemote = ofKind(flows, 'unicast-remote', t.vni).length;
        const gotLocal = ofKind(flows, 'unicast-local', t.vni).length;
        const gotArp = ofKind(flows, 'arp-responder', t.vni).length;
        if (gotRemote !== remote || gotLocal !== local || gotArp < mine.length) {
          return `${host} ${t.name}: ${gotLocal}/${local} local and ${gotRemote}/${remote} remote unicast flows, ${gotArp}/${mine.length} ARP responders`;
        }
      }
      return undefined;
    };
    const converged: string[] = [];
    await Promise.all(
      DEMO_HOSTS.map((h) =>
        until(`${h} to converge`, async () => {
          const s = expect(await call(h, adminToken(h), 'GET', '/v1/status'), 200, `${h} status`) as StatusBody;
          const peersUp = s.peers.filter((p) => p.state === 'established').length;
          if (!s.ready || !s.switch || peersUp !== DEMO_HOSTS.length - 1 || s.registry.endpoints !== containers.length || s.switch.flows.desired !== s.switch.flows.installed) {
            throw new DemoError(
              `ready ${s.ready}, peers established ${peersUp}/${DEMO_HOSTS.length - 1}, endpoints ${s.registry.endpoints}/${containers.length}, flows desired ${s.switch?.flows.desired ?? '?'} installed ${s.switch?.flows.installed ?? '?'}`,
            );
          }
          const missing = expectFlows(h, parseDump(await theLab.ofctl(h, 'dump-flows')));
          if (missing) throw new DemoError(missing);
          converged.push(`${h}: ${s.registry.endpoints} endpoints (${s.registry.localEndpoints ?? '?'} local), ${peersUp} peers established, ${s.switch.flows.installed} flows desired = installed`);
          return true;
        }, 60_000, 200),
      ),
    );
    for (const l of converged.sort()) say(l, 1);
    done();

    status = await theLab.status();
    const checks: DemoCheck[] = [];
    const record = (c: DemoCheck): void => {
      checks.push(c);
      say(`${c.ok ? '[ok]  ' : '[FAIL]'} ${c.title}`, 1);
      for (const d of c.details) say(`         ${d}`, 1);
    };
    const ns = (container: string): string => theLab.ns({ container });

    /** Pings until one reply (the userspace tunnel drops the first packet to a new VTEP while it resolves its MAC), then counts 3. */
    const pingPair = async (from: string, to: number): Promise<PingResult> => {
      for (let i = 0; i < 5; i++) {
        const r = await theLab.exec({ container: from }, ['ping', '-c', '1', '-W', '1', demoIp(to)], { check: false, timeoutMs: 5000 });
        if (r.exitCode === 0) break;
      }
      return parsePing((await theLab.exec({ container: from }, ['ping', '-c', '3', '-i', '0.2', '-W', '1', demoIp(to)], { check: false, timeoutMs: 10_000 })).stdout);
    };

    step('check: pings inside each tenant, across hosts');
    for (const t of DEMO_TENANTS) {
      const details: string[] = [];
      let ok = true;
      for (const [a, b] of [[1, 2], [1, 3], [2, 3]] as const) {
        const r = await pingPair(`${t.prefix}${a}`, b);
        ok &&= r.sent > 0 && r.received === r.sent;
        details.push(`${t.prefix}${a} on host h${a} -> ${t.prefix}${b} on host h${b} (${demoIp(b)}): ${r.received}/${r.sent} replies`);
      }
      record({ id: `ping-${t.name}`, title: `${t.name}: ${t.prefix}1, ${t.prefix}2, ${t.prefix}3 reach each other`, ok, details });
    }
    done();

    /** Frames arriving at a container's eth0, without those of the host-side veth itself (its own IPv6 router solicitations never pass br-int). */
    const inbound = async (container: string): Promise<Capture> => {
      const c = theLab.container(container);
      const peerMac = (await theLab.exec({ host: c.host }, ['cat', `/sys/class/net/${c.port}/address`])).stdout.trim();
      const cap = await startCapture(ns(container), 'eth0', container, ['-Q', 'in', 'not', 'ether', 'src', peerMac]);
      captures.push(cap);
      return cap;
    };
    const stopAll = async (caps: Record<string, Capture>): Promise<Record<string, string[]>> => {
      const out: Record<string, string[]> = {};
      for (const [k, c] of Object.entries(caps)) out[k] = await c.stop();
      return out;
    };
    const show = (frames: string[], n = 3): string[] => frames.slice(0, n).map((l) => `  | ${l.length > 150 ? `${l.slice(0, 150)}...` : l}`);

    step('check: tenants are isolated (h1 pings 10.10.10.2; tenant-b\'s containers capture)');
    {
      const caps: Record<string, Capture> = {};
      for (const c of ['j1', 'j2', 'j3', 'h2']) caps[c] = await inbound(c);
      const r = parsePing((await theLab.exec({ container: 'h1' }, ['ping', '-c', '5', '-i', '0.1', '-W', '1', demoIp(2)], { check: false, timeoutMs: 10_000 })).stdout);
      await sleep(300);
      const got = await stopAll(caps);
      const echoAtH2 = (got.h2 ?? []).filter((l) => /ICMP echo request/.test(l)).length;
      const leaked = ['j1', 'j2', 'j3'].filter((c) => (got[c] ?? []).length > 0);
      record({
        id: 'isolation',
        title: 'from h1 to j2 nothing arrives: h1\'s pings to 10.10.10.2 reach h2 (tenant-a) only',
        ok: r.sent > 0 && r.received === r.sent && echoAtH2 >= r.sent && leaked.length === 0,
        details: [
          `h1 -> 10.10.10.2: ${r.received}/${r.sent} replies; h2 received ${echoAtH2} echo requests`,
          ...['j1', 'j2', 'j3'].map((c) => `${c} (tenant-b${c === 'j2' ? ', same IP and MAC as h2' : ''}) received ${(got[c] ?? []).length} frames`),
          ...leaked.flatMap((c) => show(got[c] ?? [])),
        ],
      });
    }
    done();

    step('check: no ARP, broadcast or unknown-unicast frame leaves h1\'s switch while h1 pings h3 (captures on 6 interfaces)');
    {
      const st = theLab.state;
      const vniA = (tenants[0] as DemoTenant).vni;
      // A cold start: both ends must resolve each other's MAC with ARP now.
      await theLab.exec({ container: 'h1' }, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
      await theLab.exec({ container: 'h3' }, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
      const bystanders = ['h2', 'j1', 'j2', 'j3'];
      const caps: Record<string, Capture> = {};
      for (const c of [...bystanders, 'h1', 'h3']) caps[c] = await inbound(c);
      // The third host's underlay link: anything there but its own IPv6 housekeeping and the mesh's TCP would be a flood.
      caps.underlayH2 = await startCapture(st.underlay.ns, names.underlayPort('h2'), 'underlay link of h2', ['not', 'ip6', 'and', 'not', 'tcp', 'port', String(AGENT_MESH_PORT)]);
      caps.underlay = await startCapture(st.underlay.ns, UNDERLAY_BRIDGE, 'underlay bridge', [...ENCAP_PORT[st.encap]]);
      captures.push(caps.underlayH2, caps.underlay);
      const before = parseDump(await theLab.ofctl('h1', 'dump-flows'));

      const pinged = parsePing((await theLab.exec({ container: 'h1' }, ['ping', '-c', '10', '-i', '0.1', '-W', '1', demoIp(3)], { check: false, timeoutMs: 15_000 })).stdout);
      // Now BUM on purpose: a broadcast ping, and unicast to a MAC nobody registered.
      await theLab.exec({ container: 'h1' }, ['ping', '-b', '-c', '3', '-i', '0.1', '-W', '1', '10.10.10.255'], { check: false, timeoutMs: 10_000 });
      await theLab.exec({ container: 'h1' }, ['ip', 'neigh', 'replace', '10.10.10.50', 'lladdr', 'aa:aa:aa:aa:aa:50', 'dev', 'eth0']);
      await theLab.exec({ container: 'h1' }, ['ping', '-c', '3', '-i', '0.1', '-W', '1', '10.10.10.50'], { check: false, timeoutMs: 10_000 });
      await theLab.exec({ container: 'h1' }, ['ip', 'neigh', 'del', '10.10.10.50', 'dev', 'eth0'], { check: false });
      await sleep(300);
      const got = await stopAll(caps);
      const after = parseDump(await theLab.ofctl('h1', 'dump-flows'));

      const BUM_RE = /ff:ff:ff:ff:ff:ff|Broadcast|10\.10\.10\.50|10\.10\.10\.255|aa:aa:aa:aa:aa:50/;
      const h3in = got.h3 ?? [];
      const h1in = got.h1 ?? [];
      const underlay = got.underlay ?? [];
      const underlayH2 = got.underlayH2 ?? [];
      const echoAtH3 = h3in.filter((l) => /ICMP echo request/.test(l)).length;
      const h3Bum = h3in.filter((l) => BUM_RE.test(l) || (/ARP/.test(l) && !/Reply/.test(l)));
      const wireEcho = underlay.filter((l) => /ICMP echo request/.test(l)).length;
      const wireBad = underlay.filter((l) => /ARP/.test(l) || BUM_RE.test(l));
      const leaked = bystanders.filter((c) => (got[c] ?? []).length > 0);
      record({
        id: 'no-bum',
        title: 'no ARP and no broadcast or unknown-unicast frame reaches another container or the underlay',
        ok: pinged.sent > 0 && pinged.received === pinged.sent && leaked.length === 0 && h3Bum.length === 0 && underlayH2.length === 0 && wireBad.length === 0 && wireEcho >= pinged.sent,
        details: [
          `h1 -> h3 ${demoIp(3)}: ${pinged.received}/${pinged.sent} replies; then h1 sent 3 broadcast pings (10.10.10.255) and 3 to an unknown MAC (aa:aa:aa:aa:aa:50)`,
          `bystanders: ${bystanders.map((c) => `${c} ${(got[c] ?? []).length} frames`).join(', ')}`,
          `h3 (the destination): ${echoAtH3} echo requests, ${h3Bum.length} ARP requests/broadcast/unknown-unicast frames`,
          `underlay link of the third host (h2): ${underlayH2.length} frames`,
          `underlay bridge, ${st.encap} packets: ${underlay.length} (${wireEcho} echo requests inside), ${wireBad.length} carrying ARP, broadcast or unknown unicast`,
          ...leaked.flatMap((c) => show(got[c] ?? [])),
          ...show(h3Bum),
          ...show(underlayH2),
          ...show(wireBad),
        ],
      });

      const responder = (flows: DumpedFlow[]): number => packets(ofKind(flows, 'arp-responder', vniA).filter((f) => f.match.includes(`arp_tpa=${demoIp(3)}`)));
      const arpReply = h1in.filter((l) => new RegExp(`ARP.*Reply ${demoIp(3).replace(/\./g, '\\.')} is-at ${demoMac(3)}`).test(l));
      const rose = responder(after) - responder(before);
      record({
        id: 'arp-from-switch',
        title: 'h1\'s ARP request for 10.10.10.3 was answered by h1\'s switch (responder flow counter rose, no ARP left the host)',
        ok: arpReply.length >= 1 && rose >= 1 && !underlay.some((l) => /ARP/.test(l)) && !h3in.some((l) => /ARP.*Request/.test(l)),
        details: [
          `h1 received ${arpReply.length} ARP reply "10.10.10.3 is-at ${demoMac(3)}"`,
          `h1's ARP-responder flow for tenant-a 10.10.10.3 (cookie kind arp-responder, VNI ${vniA}): n_packets ${responder(before)} -> ${responder(after)}`,
          `ARP on the underlay: ${underlay.filter((l) => /ARP/.test(l)).length}; ARP requests at h3: ${h3in.filter((l) => /ARP.*Request/.test(l)).length}`,
        ],
      });

      const bum = (flows: DumpedFlow[]): number => packets(ofKind(flows, 'bum-drop', vniA));
      const unknown = (flows: DumpedFlow[]): number => packets(ofKind(flows, 'unknown-unicast-drop', vniA));
      record({
        id: 'bum-dropped',
        title: 'the broadcast and unknown-unicast frames h1 sent were dropped by h1\'s switch and counted',
        ok: bum(after) - bum(before) >= 3 && unknown(after) - unknown(before) >= 3,
        details: [
          `tenant-a bum-drop flows: n_packets ${bum(before)} -> ${bum(after)}`,
          `tenant-a unknown-unicast-drop flows: n_packets ${unknown(before)} -> ${unknown(after)}`,
        ],
      });
    }
    done();

    step('flows on h1: ovs-ofctl -O OpenFlow13 dump-flows (tenant-a\'s ARP-responder and unicast flows)');
    const flowsH1 = parseDump(await theLab.ofctl('h1', 'dump-flows'));
    const vniA = (tenants[0] as DemoTenant).vni;
    const excerpt = flowsH1
      .filter((f) => f.vni === vniA && (f.kind === 'arp-responder' || f.kind === 'unicast-local' || f.kind === 'unicast-remote'))
      .map((f) => f.line);
    done(`${flowsH1.length} flows on h1; ${excerpt.length} shown`);

    const summary = buildSummary(name, status, tenants, containers, checks, excerpt, flowsH1.length, started);
    summary.kept = opts.keep === true;
    kept = summary.kept;
    return summary;
  } catch (err) {
    kept = opts.keep === true;
    throw err;
  } finally {
    for (const c of captures) c.child.kill('SIGKILL');
    for (const r of relays.values()) r.stop();
    if (built && !kept) {
      step(`removing lab "${name}" (run with --keep to leave it running)`);
      await Lab.down(name);
      done();
    }
  }
}

function buildSummary(name: string, status: LabStatus, tenants: DemoTenant[], containers: DemoContainer[], checks: DemoCheck[], excerpt: string[], flowsOnH1: number, started: number): DemoSummary {
  return {
    lab: name,
    encap: status.encap,
    underlay: status.underlay.cidr,
    hosts: status.hosts.map((h) => ({
      id: h.id,
      namespace: h.ns,
      underlayIp: h.underlayIp,
      apiUrl: h.agent?.apiUrl ?? `http://${h.underlayIp}:${AGENT_API_PORT}`,
      adminToken: h.agent?.adminToken ?? '',
      adminTokenFile: `${h.paths.agentData}/admin.token`,
      ovs: { db: h.db, vswitchdCtl: h.vswitchdCtl, openflow: h.mgmt },
      agentPid: h.agent?.pid ?? 0,
      agentLog: h.paths.agentLog,
    })),
    tenants,
    containers,
    checks,
    flowsExcerpt: excerpt,
    flowsOnH1,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    seconds: Math.round((Date.now() - started) / 100) / 10,
    kept: false,
  };
}

/** `--down`: removes the demo's lab (agents, Open vSwitch daemons, namespaces, files). */
export async function downDemo(lab = 'default', progress: (line: string) => void = () => undefined): Promise<string[]> {
  return (await Lab.down(lab, progress)).removed;
}
