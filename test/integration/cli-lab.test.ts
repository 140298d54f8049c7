// The `bumless` client commands against real agents in a two-host lab (real Open vSwitch, real mesh):
// tenant, tokens replicated between agents (import a no-op, revocation everywhere), network, endpoint, status, flows (--ovs compared line by line with ovs-ofctl
// dump-flows, --diff), trace (ofproto/trace), tenant isolation, /metrics counting dropped broadcasts, and
// a duplicate-MAC alarm shown with its id and cleared with `bumless alarm clear`.
// The CLI runs inside each host's namespace (the API listens on the host's underlay address), from the
// built bin/bumless.js as a user would run it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab } from '../../src/lab/index.js';
import { ping } from '../support/lab-checks.js';
import { api, until } from '../support/agent-lab.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bumless.js');
const HOSTS = ['h1', 'h2'] as const;

void describe('bumless CLI against running agents', () => {
  const name = `cl${process.pid % 100000}`;
  let lab: Lab;
  const admin: Record<string, string> = {};
  const apiUrl: Record<string, string> = {};
  let tenantToken = '';

  async function cli(host: string, args: string[], token?: string): Promise<{ code: number; out: string; err: string }> {
    const r = await lab.exec({ host }, ['node', BIN, ...args, '--api', apiUrl[host]!, '--token', token ?? admin[host]!], { check: false, timeoutMs: 30000 });
    return { code: r.exitCode, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
  }

  before(async () => {
    await Lab.down(name);
    lab = await Lab.up({ lab: name, hosts: 2 });
    await lab.addContainer({ host: 'h1', name: 'c1', ip: '10.10.10.1/24', mac: 'aa:aa:aa:aa:aa:01' });
    await lab.addContainer({ host: 'h2', name: 'c2', ip: '10.10.10.2/24', mac: 'aa:aa:aa:aa:aa:02' });
    // One more port per host for an endpoint that moves back and forth (the duplicate-MAC alarm test).
    await lab.addContainer({ host: 'h1', name: 'c3', ip: '10.10.10.3/24', mac: 'aa:aa:aa:aa:aa:03' });
    await lab.addContainer({ host: 'h2', name: 'c4', ip: '10.10.10.4/24', mac: 'aa:aa:aa:aa:aa:04' });
    await lab.startAgents();
    const status = await lab.status();
    for (const h of HOSTS) {
      const hs = status.hosts.find((x) => x.id === h)!;
      apiUrl[h] = `http://${hs.underlayIp}:8080`;
      admin[h] = await until(`${h}'s admin token`, async () => (await lab.status()).hosts.find((x) => x.id === h)?.agent?.adminToken ?? undefined);
    }
  });

  after(async () => {
    await Lab.down(name);
  });

  void it('creates a tenant on h1, uses its token on h2 once replicated, and registers one endpoint per host', async () => {
    const t = await cli('h1', ['tenant', 'create', 'acme']);
    assert.equal(t.code, 0, t.err);
    tenantToken = /^(bl\.[0-9a-f]{16}\.\S{43})$/m.exec(t.out)![1]!;
    // Tokens replicate with the tenant: no import on h2, and the old import step is a harmless no-op.
    await until('acme\'s token valid on h2', async () => ((await cli('h2', ['tenant', 'show', 'acme'], tenantToken)).code === 0 ? true : undefined));
    const imp = await cli('h2', ['tenant', 'token', 'import', 'acme', tenantToken]);
    assert.equal(imp.code, 0, imp.err);
    assert.match(imp.out, /already valid on every agent/);
    const n = await cli('h1', ['network', 'create', 'web', '--cidr', '10.10.10.0/24'], tenantToken);
    assert.equal(n.code, 0, n.err);
    assert.match(n.out, /^network acme\/web created: VNI \d+, 10\.10\.10\.0\/24, vxlan$/);
    await until('network on h2', async () => ((await cli('h2', ['network', 'show', 'acme/web'], tenantToken)).code === 0 ? true : undefined));
    const e1 = await cli('h1', ['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:aa:01', '--ip', '10.10.10.1', '--port', 'c-c1'], tenantToken);
    assert.equal(e1.out, 'endpoint acme/web/aa:aa:aa:aa:aa:01 registered on h1 port c-c1: flows installed; announced to h2', e1.err);
    const e2 = await cli('h2', ['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:aa:02', '--ip', '10.10.10.2', '--port', 'c-c2', '--json'], tenantToken);
    assert.equal(e2.code, 0, e2.err);
    assert.equal((JSON.parse(e2.out) as { installed: boolean }).installed, true);
    assert.ok(await ping(lab, { container: 'c1' }, '10.10.10.2'), 'c1 reaches c2 across hosts');
    const list = await cli('h1', ['endpoint', 'list', '--json'], tenantToken);
    assert.deepEqual((JSON.parse(list.out) as Array<{ mac: string; hostId: string }>).map((e) => `${e.mac}@${e.hostId}`).sort(), ['aa:aa:aa:aa:aa:01@h1', 'aa:aa:aa:aa:aa:02@h2']);
  });

  void it('another tenant sees nothing of acme and cannot touch it', async () => {
    const o = await cli('h1', ['tenant', 'create', 'other']);
    const other = /^(bl\.[0-9a-f]{16}\.\S{43})$/m.exec(o.out)![1]!;
    assert.equal((await cli('h1', ['endpoint', 'list'], other)).out, 'no endpoints');
    assert.equal((await cli('h1', ['network', 'list'], other)).out, 'no networks');
    const show = await cli('h1', ['endpoint', 'show', 'acme/web/aa:aa:aa:aa:aa:01'], other);
    assert.equal(show.code, 1);
    assert.match(show.err, /endpoint acme\/web\/aa:aa:aa:aa:aa:01 not found/);
    const del = await cli('h1', ['endpoint', 'delete', 'acme/web/aa:aa:aa:aa:aa:01'], other);
    assert.equal(del.code, 1);
    assert.equal((await cli('h1', ['endpoint', 'show', 'acme/web/aa:aa:aa:aa:aa:01'], tenantToken)).code, 0);
  });

  void it('a token made on h2 works on h1; revoked on h1, it is refused on h2 too', async () => {
    const c = await cli('h2', ['tenant', 'token', 'create', 'acme', '--description', 'h2', '--json']);
    assert.equal(c.code, 0, c.err);
    const made = JSON.parse(c.out) as { token: string; info: { id: string } };
    await until('the h2 token valid on h1', async () => ((await cli('h1', ['network', 'show', 'acme/web'], made.token)).code === 0 ? true : undefined));
    const l = await cli('h1', ['tenant', 'token', 'list', 'acme', '--json']);
    assert.ok((JSON.parse(l.out) as Array<{ id: string; description?: string }>).some((x) => x.id === made.info.id && x.description === 'h2'), l.out);
    const rv = await cli('h1', ['tenant', 'token', 'revoke', 'acme', made.info.id], made.token);
    assert.equal(rv.code, 0, rv.err);
    await until('the revocation on h2', async () => ((await cli('h2', ['network', 'show', 'acme/web'], made.token)).code === 1 ? true : undefined));
    const refused = await cli('h2', ['network', 'list'], made.token);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /not valid/);
    assert.equal((await cli('h2', ['network', 'show', 'acme/web'], tenantToken)).code, 0, 'the other acme token is untouched');
  });

  void it('status, and flows --ovs equal to ovs-ofctl dump-flows; --diff finds nothing', async () => {
    const s = await cli('h1', ['status']);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /^switch\s+connected unix:/m);
    assert.match(s.out, /^peers\s+h2 established$/m);
    assert.match(s.out, /^registry\s+2 tenants, 1 networks, 2 endpoints \(1 local\)$/m);
    const norm = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.includes('cookie='))
        .map((l) => l.replace(/duration=[\d.]+s, /, '').replace(/n_packets=\d+, n_bytes=\d+, /, ''))
        .sort();
    const ours = await cli('h1', ['flows', '--ovs']);
    const theirs = await lab.ofctl('h1', 'dump-flows');
    assert.ok(norm(theirs).length > 10);
    assert.deepEqual(norm(ours.out), norm(theirs));
    const diff = await cli('h1', ['flows', '--diff']);
    assert.equal(diff.code, 0, diff.out);
    assert.equal(diff.out, 'no difference: the installed flows are the desired flows');
  });

  void it('trace: ARP answered locally, unicast to the tunnel, unknown unicast dropped', async () => {
    const arp = await cli('h1', ['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.2', '--proto', 'arp']);
    assert.equal(arp.code, 0, arp.err);
    assert.match(arp.out, /^fate: answered by the switch out of the port it came in on$/m);
    const uni = await cli('h1', ['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.2', '--json']);
    assert.match((JSON.parse(uni.out) as { fate: string }).fate, /^sent through the tunnel to \d+\.\d+\.\d+\.\d+/);
    const unknown = await cli('h1', ['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.9', '--dst-mac', 'aa:aa:aa:aa:aa:09']);
    assert.match(unknown.out, /^fate: dropped in table \d+/m);
    // UDP and TCP with a destination port: a microflow Open vSwitch accepts (udp_dst/tcp_dst, not tp_dst).
    for (const proto of ['udp', 'tcp']) {
      const t = await cli('h1', ['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.2', '--proto', proto, '--dst-port', '4789', '--json']);
      assert.equal(t.code, 0, t.err);
      const body = JSON.parse(t.out) as { flow: string; fate: string };
      assert.match(body.flow, new RegExp(`^in_port=c-c1,${proto},.*,${proto}_dst=4789$`));
      assert.match(body.fate, /^sent through the tunnel to \d+\.\d+\.\d+\.\d+/);
    }
  });

  void it('/metrics counts broadcast frames the switch drops', async () => {
    const scrape = async () => {
      const r = await lab.exec({ host: 'h1' }, ['curl', '-sS', '-H', `authorization: Bearer ${admin.h1}`, `${apiUrl.h1}/metrics`]);
      const m = /^bumless_bum_dropped_packets_total\{network="acme\/web",vni="\d+"\} (\d+)$/m.exec(r.stdout);
      assert.ok(m, r.stdout);
      return Number(m[1]);
    };
    const before = await scrape();
    // Broadcast IPv4 from c1: no BUM frame may leave, the drop flow counts it.
    await lab.exec({ container: 'c1' }, ['ping', '-b', '-c', '3', '-i', '0.2', '-W', '1', '10.10.10.255'], { check: false, timeoutMs: 10000 });
    const afterDrops = await until('drop counter to grow', async () => {
      const n = await scrape();
      return n >= before + 3 ? n : undefined;
    }, 10000, 200);
    assert.ok(afterDrops >= before + 3);
  });

  void it('a MAC moving back and forth raises a duplicate-MAC alarm; bumless alarm clear clears it on a real agent', async () => {
    const mac = 'aa:aa:aa:aa:aa:0f';
    const where = async (host: string) => {
      const r = await api(lab, host, admin[host]!, 'GET', `/v1/endpoints/acme/web/${mac}`);
      return r.status === 200 ? (r.body as { hostId: string }).hostId : undefined;
    };
    // Default detection: more than 5 moves within 180 s freeze the MAC. Each registration waits until the
    // other agent has seen it, so every agent counts every move.
    let refused: { host: string; status: number } | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const [host, other, port] = i % 2 === 0 ? ['h1', 'h2', 'c-c3'] : ['h2', 'h1', 'c-c4'];
      const r = await api(lab, host, tenantToken, 'POST', '/v1/endpoints', { network: 'acme/web', mac, ips: ['10.10.10.15'], port });
      if (r.status >= 400) refused = { host, status: r.status };
      else await until(`${other} to see ${mac} on ${host}`, async () => ((await where(other)) === host ? true : undefined));
    }
    assert.ok(refused, 'a MAC moved ten times in a row is frozen');
    const id = `duplicate-mac:acme/web/${mac}`;
    for (const h of HOSTS) {
      await until(`the alarm on ${h}`, async () => ((await cli(h, ['alarm', 'list', '--json'])).out.includes(id) ? true : undefined));
      const s = await cli(h, ['status']);
      assert.equal(s.code, 0, s.err);
      assert.match(s.out, new RegExp(`^    id ${id}$`, 'm'), s.out);
    }
    const again = await api(lab, refused.host, tenantToken, 'POST', '/v1/endpoints', { network: 'acme/web', mac, ips: ['10.10.10.15'], port: refused.host === 'h1' ? 'c-c3' : 'c-c4' });
    assert.ok(again.status >= 400, 'still frozen before the alarm is cleared');
    for (const h of HOSTS) {
      const c = await cli(h, ['alarm', 'clear', id]);
      assert.equal(c.code, 0, c.err);
      assert.equal(c.out, `alarm ${id} cleared`);
      assert.equal((await cli(h, ['alarm', 'list'])).out, 'no alarms');
      assert.match((await cli(h, ['status'])).out, /^alarms\s+none$/m);
    }
    const unknown = await cli('h1', ['alarm', 'clear', id]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /does not exist/);
    // Cleared: the MAC may move again.
    const moved = await api(lab, refused.host, tenantToken, 'POST', '/v1/endpoints', { network: 'acme/web', mac, ips: ['10.10.10.15'], port: refused.host === 'h1' ? 'c-c3' : 'c-c4' });
    assert.ok(moved.status === 200 || moved.status === 201, JSON.stringify(moved.body));
  });
});
