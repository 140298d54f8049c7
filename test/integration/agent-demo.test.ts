// The classic demo, end to end with real Open vSwitch: three lab hosts, each running `bumless agent`;
// two tenants (VNI 10 and 11) with the SAME IPs and MACs (h1-h3 and j1-j3 in 10.10.10.0/24, MACs
// aa:aa:aa:aa:aa:01-03), one container of each tenant per host. Everything is registered through the
// agents' REST API (the endpoint on the agent of the host that holds its port) and the mesh carries
// it to the other agents. The tests then ask the data plane: pings inside a tenant work, nothing
// crosses tenants, no ARP/broadcast/unknown-unicast frame reaches a bystander or the underlay, ARP is
// answered by the local switch, forged sources are dropped and counted, `kill -9` of an agent under a
// 10 ms ping loses nothing and re-adds no flow, ovs-vswitchd restarts are repaired, and a changed
// endpoint moves exactly its own flows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab } from '../../src/lab/index.js';
import { ping, running } from '../support/lab-checks.js';
import { api, capture, dumpFlows, ofKind, sleep, sumPackets, until } from '../support/agent-lab.js';
import type { Capture, DumpedFlow } from '../support/agent-lab.js';

const HOSTS = ['h1', 'h2', 'h3'] as const;
const TENANTS = [
  { tenant: 'blue', vni: 10, prefix: 'h' },
  { tenant: 'red', vni: 11, prefix: 'j' },
] as const;
const mac = (i: number) => `aa:aa:aa:aa:aa:0${i}`;
const ip = (i: number) => `10.10.10.${i}`;
// Cookie kinds (src/pipeline/cookie.ts).
const KIND = { portSecurityDrop: 0x04, arpResponder: 0x05, bumDrop: 0x09, unknownUnicastDrop: 0x0a, defaultDrop: 0x0c } as const;
const HOST_SCRIPT = join(import.meta.dirname, '..', '..', 'vagrant', 'lib', 'ovs-host.sh');

void describe('bumless agent: the classic two-tenant demo on three hosts', () => {
  const name = `ag${process.pid % 100000}`;
  let lab: Lab;
  const tokens: Record<string, string> = {};
  const captures: Capture[] = [];
  const report: string[] = [];

  const call = (host: string, method: string, path: string, body?: unknown) => api(lab, host, tokens[host]!, method, path, body);

  /**
   * Frames arriving at a container's eth0 through the switch. The host-side end of the container's
   * veth is a Linux interface that sends its own IPv6 router solicitations straight into the pair,
   * never through br-int; those (source: that interface's MAC) are left out.
   */
  async function captureInbound(container: string): Promise<Capture> {
    const c = lab.container(container);
    const link = await lab.exec({ host: c.host }, ['cat', `/sys/class/net/${c.port}/address`]);
    const peerMac = link.stdout.trim();
    assert.match(peerMac, /^[0-9a-f:]{17}$/);
    const cap = await capture(lab.ns({ container }), 'eth0', container, ['-Q', 'in', 'not', 'ether', 'src', peerMac]);
    captures.push(cap);
    return cap;
  }

  before(async () => {
    await Lab.down(name);
    lab = await Lab.up({ lab: name, hosts: 3 });
    for (const [n, h] of HOSTS.entries()) {
      const i = n + 1;
      await lab.addContainer({ host: h, name: `h${i}`, ip: `${ip(i)}/24`, mac: mac(i) });
      await lab.addContainer({ host: h, name: `j${i}`, ip: `${ip(i)}/24`, mac: mac(i) });
    }
    await lab.startAgents();
    for (const h of HOSTS) {
      tokens[h] = await until(`${h}'s admin token`, async () => {
        const s = await lab.status();
        return s.hosts.find((x) => x.id === h)?.agent?.adminToken ?? undefined;
      });
      await until(`${h}'s agent ready`, async () => ((await call(h, 'GET', '/readyz')).status === 200 ? true : undefined), 15000, 100);
    }
  });

  after(async () => {
    for (const c of captures) c.child.kill('SIGKILL');
    if (report.length) process.stderr.write(`${report.join('\n')}\n`);
    await Lab.down(name);
  });

  void it('registers both tenants through the REST API; the mesh carries them; flows land on the other hosts', async () => {
    for (const t of TENANTS) {
      assert.equal((await call('h1', 'POST', '/v1/tenants', { name: t.tenant })).status, 201);
      const net = await call('h1', 'POST', '/v1/networks', { tenant: t.tenant, name: 'net', cidrs: ['10.10.10.0/24'], vni: t.vni });
      assert.equal(net.status, 201, JSON.stringify(net.body));
    }
    for (const h of ['h2', 'h3']) {
      await until(`networks replicated to ${h}`, async () => {
        const r = await call(h, 'GET', '/v1/networks');
        return (r.body as { items?: unknown[] }).items?.length === 2 ? true : undefined;
      });
    }
    const latencies: number[] = [];
    for (const [n, h] of HOSTS.entries()) {
      const i = n + 1;
      for (const t of TENANTS) {
        const t0 = Date.now();
        const r = await call(h, 'POST', '/v1/endpoints', { network: `${t.tenant}/net`, mac: mac(i), ips: [ip(i)], port: `c-${t.prefix}${i}` });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const body = r.body as { installed: boolean; announcedTo: string[]; endpoint: { hostId: string; seq: number } };
        assert.equal(body.installed, true);
        assert.equal(body.endpoint.hostId, h);
        assert.deepEqual([...body.announcedTo].sort(), HOSTS.filter((x) => x !== h));
        // Hosts that already have a local endpoint of this tenant install a forwarding flow to the new one.
        const others = HOSTS.slice(0, n);
        await Promise.all(
          others.map((o) =>
            until(`${o} forwards to ${t.tenant} ${mac(i)}`, async () => {
              const flows = await dumpFlows(lab, o);
              return flows.some((f) => f.table === 30 && f.match.includes(`dl_dst=${mac(i)}`) && f.match.startsWith(`metadata=${'0x' + t.vni.toString(16)}/`) && f.actions.includes(`output:`) && f.actions.includes('tun_dst'))
                ? true
                : undefined;
            }, 10000, 10),
          ),
        );
        if (others.length) latencies.push(Date.now() - t0);
      }
    }
    report.push(`# agent-demo: REST registration -> forwarding flows confirmed on every other host: ${latencies.map((l) => `${l}`).join(', ')} ms (includes the 201 wait and ovs-ofctl polling)`);
    for (const h of HOSTS) {
      const st = await call(h, 'GET', '/v1/status');
      const s = st.body as { ready: boolean; registry: { endpoints: number; localEndpoints: number }; peers: Array<{ state: string }>; switch: { flows: { desired: number; installed: number } } };
      assert.equal(s.ready, true);
      assert.equal(s.registry.endpoints, 6);
      assert.equal(s.registry.localEndpoints, 2);
      assert.deepEqual(s.peers.map((p) => p.state), ['established', 'established']);
      assert.equal(s.switch.flows.desired, s.switch.flows.installed);
    }
  });

  void it('the API shows flows (desired equals installed), traces a frame through the real tables, serves metrics', async () => {
    const flows = await call('h1', 'GET', '/v1/flows');
    const f = flows.body as { desired: unknown[]; installed: Array<{ packets?: number }>; diff: { missing: unknown[]; extra: unknown[]; changed: unknown[] } };
    assert.equal(flows.status, 200);
    assert.equal(f.desired.length, (await dumpFlows(lab, 'h1')).length);
    assert.equal(f.installed.length, f.desired.length);
    assert.ok(f.installed.every((x) => typeof x.packets === 'number'));
    assert.deepEqual(f.diff, { missing: [], extra: [], changed: [] }, JSON.stringify(f.diff).slice(0, 2000));
    // ofproto/trace follows the userspace tunnel into br-phy only once OVS knows the remote VTEP's MAC
    // (tnl/neigh), which it learns from the first tunnelled frame: without one, the trace ends at br-int.
    assert.ok(await ping(lab, { container: 'h1' }, ip(3)), 'h1 -> h3 before the trace');
    const tr = await call('h1', 'POST', '/v1/trace', { network: 'blue/net', source: mac(1), destination: ip(3), protocol: 'icmp' });
    assert.equal(tr.status, 200, JSON.stringify(tr.body));
    const t = tr.body as { tables: Array<{ table: number; bridge?: string; actions: string[] }>; datapathActions: string; output: string };
    // br-int's tables; the userspace tunnel then continues into br-phy (its table 0, NORMAL).
    assert.deepEqual(t.tables.slice(0, 3).map((x) => x.table), [0, 10, 30]);
    assert.deepEqual(t.tables.slice(0, 3).map((x) => x.bridge), ['br-int', 'br-int', 'br-int']);
    const phy = t.tables.filter((x) => x.bridge === 'br-phy');
    assert.ok(phy.length >= 1 && phy.some((x) => x.actions.includes('NORMAL')), `br-phy steps labelled with their bridge: ${JSON.stringify(t.tables)}`);
    assert.match(t.datapathActions, /tnl_push|set\(tunnel|tun0|\d/);
    assert.match(t.output, /tun_dst=192\.168\.\d+\.13|set_field:192\.168\.\d+\.13->tun_dst/);
    const bcast = await call('h1', 'POST', '/v1/trace', { network: 'blue/net', source: mac(1), destination: 'broadcast', protocol: 'icmp' });
    assert.equal(bcast.status, 200, JSON.stringify(bcast.body));
    assert.match((bcast.body as { datapathActions: string }).datapathActions, /^drop$/);
    const metrics = await call('h1', 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /^bumless_openflow_connected 1$/m);
    assert.match(String(metrics.body), new RegExp(`^bumless_flows_installed ${f.installed.length}$`, 'm'));
    assert.match(String(metrics.body), /^bumless_mesh_peer_up\{peer="h2"\} 1$/m);
  });

  void it('pings inside each tenant across hosts succeed', async () => {
    for (const t of TENANTS) {
      for (const [a, b] of [[1, 2], [1, 3], [2, 3], [3, 1]] as const) {
        assert.ok(await ping(lab, { container: `${t.prefix}${a}` }, ip(b)), `${t.prefix}${a} -> ${t.prefix}${b}`);
      }
    }
  });

  void it('while pinging: nothing reaches a bystander or the third host, no ARP leaves the host, ARP is answered by the local switch, BUM is dropped and counted', async () => {
    const st = lab.state;
    // h1 pings h3 (blue). Bystanders: every other container; the third host is h2.
    await lab.exec({ container: 'h1' }, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    await lab.exec({ container: 'h3' }, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    const before1 = await dumpFlows(lab, 'h1');
    const statusBefore = (await call('h1', 'GET', '/v1/status')).body as { switch: { networks: Array<{ vni: number; bumDropPackets: number; arpReplies: number }> } };
    const bystanders = ['h2', 'j1', 'j2', 'j3'];
    const caps: Record<string, Capture> = {};
    for (const c of bystanders) caps[c] = await captureInbound(c);
    caps.h3 = await captureInbound('h3');
    caps.h1 = await captureInbound('h1');
    // Left out: the underlay's own Linux interfaces' IPv6 router solicitations and the agents' mesh
    // sessions (TCP 7471). Overlay frames travel in IPv4 (VXLAN over UDP), so anything else that
    // reached h2 would be a flood.
    caps.underlayH2 = await capture(st.underlay.ns, 'h2', 'underlay link of h2', ['not', 'ip6', 'and', 'not', 'tcp', 'port', '7471']);
    caps.underlay = await capture(st.underlay.ns, 'br0', 'underlay bridge', ['udp', 'port', '4789']);
    captures.push(caps.underlayH2, caps.underlay);

    const pingRun = await lab.exec({ container: 'h1' }, ['ping', '-c', '20', '-i', '0.05', '-W', '1', ip(3)], { check: false, timeoutMs: 20000 });
    // BUM from h1: a broadcast ping and unicast to a MAC nobody registered.
    await lab.exec({ container: 'h1' }, ['ping', '-b', '-c', '3', '-i', '0.05', '-W', '1', '10.10.10.255'], { check: false });
    await lab.exec({ container: 'h1' }, ['ip', 'neigh', 'replace', '10.10.10.50', 'lladdr', 'aa:aa:aa:aa:aa:50', 'dev', 'eth0']);
    await lab.exec({ container: 'h1' }, ['ping', '-c', '3', '-i', '0.05', '-W', '1', '10.10.10.50'], { check: false });
    await sleep(300);
    const got: Record<string, string[]> = {};
    for (const [k, c] of Object.entries(caps)) got[k] = await c.stop();

    assert.match(pingRun.stdout, / 0% packet loss/, pingRun.stdout);
    for (const c of bystanders) assert.deepEqual(got[c], [], `bystander ${c} received frames`);
    assert.deepEqual(got.underlayH2, [], 'the third host\'s underlay link carried frames');
    // The destination sees only unicast from h1, and ARP only as replies from the switch.
    const h3in = got.h3!;
    assert.ok(h3in.filter((l) => /ICMP echo request/.test(l)).length >= 20, h3in.join('\n'));
    for (const l of h3in) {
      assert.doesNotMatch(l, /ff:ff:ff:ff:ff:ff|Broadcast|10\.10\.10\.50/, `h3 received a BUM frame: ${l}`);
      if (/ARP/.test(l)) assert.match(l, /Reply/, `h3 received an ARP request: ${l}`);
    }
    const h1in = got.h1!;
    const arpReplies = h1in.filter((l) => /ethertype ARP .*Reply 10\.10\.10\.3 is-at aa:aa:aa:aa:aa:03/.test(l));
    assert.ok(arpReplies.length >= 1, `h1 got its ARP answer:\n${h1in.join('\n')}`);
    // On the underlay: only VXLAN-encapsulated unicast ICMP between h1 and h3, no ARP, no broadcast.
    const wire = got.underlay!.join('\n');
    assert.ok((wire.match(/ICMP echo request/g) ?? []).length >= 20, wire);
    assert.doesNotMatch(wire, /ARP|ff:ff:ff:ff:ff:ff|10\.10\.10\.50|10\.10\.10\.255/);

    // The ARP request was answered by h1's responder flow (its counter rose) and never left h1.
    const after1 = await dumpFlows(lab, 'h1');
    const responder = (flows: DumpedFlow[]) => sumPackets(ofKind(flows, 10, KIND.arpResponder).filter((f) => f.match.includes(`arp_tpa=${ip(3)}`)));
    assert.ok(responder(after1) - responder(before1) >= 1, 'the responder flow for 10.10.10.3 counted the request');
    const bum = (flows: DumpedFlow[]) => sumPackets(ofKind(flows, 10, KIND.bumDrop));
    const unknown = (flows: DumpedFlow[]) => sumPackets(ofKind(flows, 10, KIND.unknownUnicastDrop));
    assert.ok(bum(after1) - bum(before1) >= 3, `broadcast ping dropped and counted (${bum(before1)} -> ${bum(after1)})`);
    assert.ok(unknown(after1) - unknown(before1) >= 3, `unknown unicast dropped and counted (${unknown(before1)} -> ${unknown(after1)})`);
    // The agent reports the same counters per network.
    await sleep(1100);
    const statusAfter = (await call('h1', 'GET', '/v1/status')).body as typeof statusBefore;
    const blue = (s: typeof statusBefore) => s.switch.networks.find((n) => n.vni === 10)!;
    assert.ok(blue(statusAfter).bumDropPackets - blue(statusBefore).bumDropPackets >= 6, JSON.stringify(statusAfter.switch.networks));
    assert.ok(blue(statusAfter).arpReplies - blue(statusBefore).arpReplies >= 1);
  });

  void it('a container sending with a forged source MAC or IP is dropped and counted; nothing arrives', async () => {
    const cap = await captureInbound('h2');
    const before1 = await dumpFlows(lab, 'h1');
    // Forged IP: h1 sends from 10.10.10.9, which is not its registered address.
    await lab.exec({ container: 'h1' }, ['ip', 'addr', 'add', '10.10.10.9/32', 'dev', 'eth0']);
    await lab.exec({ container: 'h1' }, ['ip', 'neigh', 'replace', ip(2), 'lladdr', mac(2), 'dev', 'eth0']);
    const forgedIp = await lab.exec({ container: 'h1' }, ['ping', '-c', '5', '-i', '0.05', '-W', '1', '-I', '10.10.10.9', ip(2)], { check: false });
    await lab.exec({ container: 'h1' }, ['ip', 'addr', 'del', '10.10.10.9/32', 'dev', 'eth0']);
    // Forged MAC: h1 changes its MAC.
    await lab.exec({ container: 'h1' }, ['ip', 'link', 'set', 'eth0', 'address', 'aa:aa:aa:aa:aa:09']);
    // A new link address flushes the neighbour table: without this entry the kernel would only ARP.
    await lab.exec({ container: 'h1' }, ['ip', 'neigh', 'replace', ip(2), 'lladdr', mac(2), 'dev', 'eth0']);
    const forgedMac = await lab.exec({ container: 'h1' }, ['ping', '-c', '5', '-i', '0.05', '-W', '1', ip(2)], { check: false });
    await lab.exec({ container: 'h1' }, ['ip', 'link', 'set', 'eth0', 'address', mac(1)]);
    await sleep(200);
    const frames = await cap.stop();
    const after1 = await dumpFlows(lab, 'h1');

    assert.match(forgedIp.stdout, /100% packet loss/);
    assert.match(forgedMac.stdout, /100% packet loss/);
    assert.deepEqual(frames.filter((l) => /ICMP|ARP/.test(l)), [], 'nothing from the forged sources reached h2');
    const psDrop = (f: DumpedFlow[]) => sumPackets(ofKind(f, 10, KIND.portSecurityDrop));
    const classifyDrop = (f: DumpedFlow[]) => sumPackets(f.filter((x) => x.table === 0 && x.priority === 0));
    assert.ok(psDrop(after1) - psDrop(before1) >= 5, `port security drop counted the forged IP (${psDrop(before1)} -> ${psDrop(after1)})`);
    assert.ok(classifyDrop(after1) - classifyDrop(before1) >= 5, `table 0 drop counted the forged MAC (${classifyDrop(before1)} -> ${classifyDrop(after1)})`);
    // And the real h1 still works.
    assert.ok(await ping(lab, { container: 'h1' }, ip(2)));
  });

  void it('kill -9 of an agent during a 10 ms ping loses no packet; the restarted agent re-adds no flow', async () => {
    assert.ok(await ping(lab, { container: 'h1' }, ip(3)));
    const before1 = await dumpFlows(lab, 'h1');
    const pinger = execa('ip', ['netns', 'exec', lab.ns({ container: 'h1' }), 'ping', '-i', '0.01', '-c', '300', '-W', '1', ip(3)], { reject: false });
    await sleep(500);
    await lab.stopAgents({ host: 'h1', signal: 'KILL' });
    await sleep(300);
    await lab.startAgents({ host: 'h1' });
    const token = tokens.h1!;
    await until('h1 ready again', async () => ((await api(lab, 'h1', token, 'GET', '/readyz')).status === 200 ? true : undefined), 15000, 50);
    const res = await pinger;
    const after1 = await dumpFlows(lab, 'h1');
    const m = /(\d+) packets transmitted, (\d+) received/.exec(res.stdout);
    assert.ok(m, res.stdout);
    report.push(`# agent-demo: kill -9 of h1's agent under ping -i 0.01: ${m[1]} sent, ${m[2]} received`);
    assert.equal(m[2], m[1], `lost packets: ${res.stdout.split('\n').slice(-3).join(' ')}`);

    const st = (await api(lab, 'h1', token, 'GET', '/v1/status')).body as { switch: { reconcile: { count: number }; flows: { desired: number; installed: number } } };
    assert.equal(st.switch.reconcile.count, 0, 'the restarted agent changed no flow');
    assert.equal(st.switch.flows.desired, before1.length);
    const byId = new Map(after1.map((f) => [f.id, f]));
    assert.equal(after1.length, before1.length);
    for (const f of before1) {
      const a = byId.get(f.id);
      assert.ok(a, `flow ${f.id} still installed`);
      assert.ok(a.durationSec >= f.durationSec, `flow ${f.id} duration not reset (${f.durationSec} -> ${a.durationSec})`);
      assert.equal(a.cookie, f.cookie);
    }
  });

  void it('SIGTERM stops an agent cleanly: API and mesh close, the flows stay and keep forwarding', async () => {
    const before3 = await dumpFlows(lab, 'h3');
    const log = lab.hostPaths('h3').agentLog;
    await lab.stopAgents({ host: 'h3', signal: 'TERM' });
    assert.equal((await lab.status()).hosts.find((x) => x.id === 'h3')?.agent, null, 'the agent exited');
    assert.match(readFileSync(log, 'utf8'), /"msg":"agent stopped; the installed flows stay in place"/);
    const after3 = await dumpFlows(lab, 'h3');
    assert.deepEqual(after3.map((f) => f.id), before3.map((f) => f.id));
    // No controller: fail_mode=secure keeps forwarding with the installed flows.
    assert.ok(await ping(lab, { container: 'h1' }, ip(3)));
    assert.ok(await ping(lab, { container: 'j3' }, ip(2)));
    // The peers see the session go down.
    await until('h1 sees h3 down', async () => {
      const peers = ((await call('h1', 'GET', '/v1/peers')).body as { items: Array<{ hostId: string; state: string }> }).items;
      return peers.find((p) => p.hostId === 'h3')?.state !== 'established' ? true : undefined;
    }, 15000, 100);
    await lab.startAgents({ host: 'h3' });
    await until('h3 ready again', async () => ((await call('h3', 'GET', '/readyz')).status === 200 ? true : undefined), 15000, 50);
  });

  void it('after ovs-vswitchd restarts, the agent reconnects and the flows are back', async () => {
    const h = lab.state.hosts.find((x) => x.id === 'h2')!;
    const before2 = await dumpFlows(lab, 'h2');
    const pid = Number(readFileSync(join(h.dir, 'vswitchd.pid'), 'utf8').trim());
    // An empty or garbled pidfile must not turn into kill(0) or kill(-N), which signal whole process groups.
    assert.ok(Number.isInteger(pid) && pid > 1 && running(pid), `vswitchd.pid holds a running PID (${pid})`);
    process.kill(pid, 'SIGKILL');
    await until('ovs-vswitchd gone', () => Promise.resolve(running(pid) ? undefined : true), 5000);
    await execa('bash', [HOST_SCRIPT, 'ovs-start', '--dir', h.dir, '--netns', h.ns]);
    const started = Date.now();
    // The underlay address lives on br-phy's internal port, which died with the daemon: put it back
    // as the lab does (the agent does not own br-phy).
    await execa('bash', [
      HOST_SCRIPT, 'bridges', '--dir', h.dir, '--netns', h.ns, '--datapath', 'netdev', '--phy-dev', 'phy0',
      '--ip', `${h.underlayIp}/${lab.state.underlay.prefixLen}`, '--encap', lab.encap, '--bridge', 'br-int', '--tunnel', 'tun0',
    ]);
    const back = await until('flows back on h2', async () => {
      const flows = await dumpFlows(lab, 'h2').catch(() => []);
      return flows.length === before2.length ? flows : undefined;
    }, 15000, 20);
    const ms = Date.now() - started;
    report.push(`# agent-demo: ovs-vswitchd restart on h2: ${back.length} flows back ${ms} ms after the daemon was started again`);
    assert.deepEqual(back.map((f) => f.id).sort(), before2.map((f) => f.id).sort());
    assert.ok(await ping(lab, { container: 'h2' }, ip(1)));
    assert.ok(await ping(lab, { container: 'j2' }, ip(3)));
  });

  void it('a changed endpoint moves exactly the flows it should', async () => {
    const before: Record<string, DumpedFlow[]> = {};
    for (const h of HOSTS) before[h] = await dumpFlows(lab, h);
    // blue h3 gets a second address.
    const r = await call('h3', 'PUT', `/v1/endpoints/blue/net/${mac(3)}`, { ips: [ip(3), '10.10.10.33'], port: 'c-h3' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await lab.exec({ container: 'h3' }, ['ip', 'addr', 'add', '10.10.10.33/24', 'dev', 'eth0']);
    const after: Record<string, DumpedFlow[]> = {};
    for (const h of ['h1', 'h2']) {
      after[h] = await until(`${h} answers ARP for 10.10.10.33`, async () => {
        const f = await dumpFlows(lab, h);
        return f.some((x) => x.match.includes('arp_tpa=10.10.10.33')) ? f : undefined;
      });
    }
    after.h3 = await dumpFlows(lab, 'h3');
    const ids = (f: DumpedFlow[]) => new Set(f.map((x) => x.id));
    for (const h of HOSTS) {
      const b = ids(before[h]!);
      const a = ids(after[h]!);
      const added = [...a].filter((x) => !b.has(x));
      const removed = [...b].filter((x) => !a.has(x));
      assert.deepEqual(removed, [], `${h}: no flow removed`);
      // Remote hosts: one ARP responder flow for the new address. h3: also its port security flows for it.
      for (const x of added) assert.match(x, /10\.10\.10\.33/, `${h}: only flows of the new address were added (${x})`);
      assert.ok(added.length >= 1, `${h}: the new address has flows`);
      if (h !== 'h3') assert.equal(added.length, 1, `${h}: exactly one new flow: ${added.join(' | ')}`);
      // Everything else is untouched: same cookie, duration kept (not re-added), red (VNI 11) included.
      const byId = new Map(after[h]!.map((f) => [f.id, f]));
      for (const f of before[h]!) {
        const a2 = byId.get(f.id)!;
        assert.ok(a2.durationSec >= f.durationSec, `${h}: ${f.id} was re-added`);
      }
    }
    assert.ok(await ping(lab, { container: 'h1' }, '10.10.10.33'));
    assert.equal(await ping(lab, { container: 'j1' }, '10.10.10.33', 2), false, 'the other tenant does not reach the new address');

    const counts: string[] = [];
    for (const h of HOSTS) counts.push(`${h}=${(await dumpFlows(lab, h)).length}`);
    report.push(`# agent-demo: flows per host: ${counts.join(', ')}`);
    report.push(`# agent-demo: ovs-ofctl -O OpenFlow13 dump-flows on h1:\n${(await lab.ofctl('h1', 'dump-flows')).split('\n').map((l) => `#   ${l}`).join('\n')}`);
  });

  void it('an endpoint registered before its port exists gets its flows when the port appears (PORT_STATUS)', async () => {
    const r = await call('h2', 'POST', '/v1/endpoints', { network: 'blue/net', mac: mac(4), ips: [ip(4)], port: 'c-h4' });
    // Durable, but its own flows cannot be installed yet: 202 with the reason, not 201.
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const reg = r.body as { installed: boolean; reason?: string; endpoint: { mac: string } };
    assert.equal(reg.installed, false);
    assert.equal(reg.reason, 'port c-h4 is not on br-int');
    assert.equal(reg.endpoint.mac, mac(4), 'the record is kept');
    assert.ok(!(await dumpFlows(lab, 'h2')).some((f) => f.match.includes(`dl_src=${mac(4)}`)), 'no local flows without the port');
    await lab.addContainer({ host: 'h2', name: 'h4', ip: `${ip(4)}/24`, mac: mac(4) });
    await until('h2 classifies h4', async () => ((await dumpFlows(lab, 'h2')).some((f) => f.table === 0 && f.match.includes(`dl_src=${mac(4)}`)) ? true : undefined));
    assert.ok(await ping(lab, { container: 'h1' }, ip(4)));
    assert.equal(await ping(lab, { container: 'j1' }, ip(4), 2), false);
    // With the port on the bridge, the same registration again is confirmed.
    const again = await call('h2', 'POST', '/v1/endpoints', { network: 'blue/net', mac: mac(4), ips: [ip(4)], port: 'c-h4' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((again.body as { installed: boolean }).installed, true);
  });
});
