// The seed demo end to end, as a newcomer runs it but in --json mode and on a lab of its own: the
// command must build the lab, register everything over the REST API, pass every check, print a
// summary that matches the topology, tear the lab down and exit 0. Runs the built CLI (dist/), as
// `npm run demo` does after its build step.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab } from '../../src/lab/index.js';
import type { DemoSummary } from '../../src/demo/demo.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bumless.js');
const EXPECTED_CHECKS = ['ping-tenant-a', 'ping-tenant-b', 'isolation', 'no-bum', 'arp-from-switch', 'bum-dropped'];

void describe('bumless demo --json', () => {
  const name = `dm${process.pid % 100000}`;

  after(async () => {
    await Lab.down(name);
  });

  void it('passes every check with two tenants holding the same IPs and MACs, prints the summary, removes its lab', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const r = await execa(process.execPath, [BIN, 'demo', '--json', '--lab', name], { reject: false, timeout: 170_000 });
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(`# demo: exit ${r.exitCode} in ${seconds.toFixed(1)} s\n`);
    assert.equal(r.exitCode, 0, `demo failed:\n${r.stderr.split('\n').slice(-40).join('\n')}\n${r.stdout.slice(0, 4000)}`);
    // Progress went to stderr, one line per step, so stdout is only the JSON.
    assert.match(r.stderr, /==> building lab/);
    assert.match(r.stderr, /==> registering the 6 containers/);
    const s = JSON.parse(r.stdout) as DemoSummary;

    assert.equal(s.lab, name);
    assert.equal(s.ok, true);
    assert.equal(s.kept, false);
    assert.deepEqual(s.checks.map((c) => c.id), EXPECTED_CHECKS);
    for (const c of s.checks) assert.equal(c.ok, true, `${c.id}: ${c.details.join('; ')}`);
    // The facts behind the verdicts, not only the verdicts.
    const detail = (id: string): string => s.checks.find((c) => c.id === id)?.details.join('\n') ?? '';
    assert.match(detail('no-bum'), /bystanders: h2 0 frames, j1 0 frames, j2 0 frames, j3 0 frames/);
    assert.match(detail('no-bum'), /underlay link of the third host \(h2\): 0 frames/);
    assert.match(detail('arp-from-switch'), /h1 received [1-9]\d* ARP reply/);
    assert.match(detail('isolation'), /j2 \(tenant-b, same IP and MAC as h2\) received 0 frames/);

    assert.deepEqual(s.hosts.map((h) => h.id), ['h1', 'h2', 'h3']);
    for (const h of s.hosts) {
      assert.equal(h.namespace, `${name}-${h.id}`);
      assert.match(h.underlayIp, /^192\.168\.\d+\.1[1-3]$/);
      assert.equal(h.apiUrl, `http://${h.underlayIp}:8080`);
      assert.match(h.adminToken, /^\S{16,}$/);
      assert.ok(h.agentPid > 0);
      assert.match(h.ovs.db, /^unix:\/.*db\.sock$/);
      assert.match(h.ovs.openflow, /^unix:\/.*br-int\.mgmt$/);
    }
    assert.deepEqual(s.tenants.map((t) => t.name), ['tenant-a', 'tenant-b']);
    assert.notEqual(s.tenants[0]?.vni, s.tenants[1]?.vni);
    for (const t of s.tenants) {
      // One token per tenant, made on h1: the summary has no per-host tokens any more.
      assert.match(t.token, /^bl\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(Object.keys(t).sort(), ['name', 'network', 'token', 'vni']);
    }
    assert.notEqual(s.tenants[0]?.token, s.tenants[1]?.token);
    // Those h1 tokens read the networks on h2 and h3 (after replication) and registered the containers there.
    for (const h of ['h2', 'h3']) assert.match(r.stderr, new RegExp(`${h}: both networks arrived; the tenants' h1 tokens are valid here`));
    assert.match(r.stderr, /h3 \(tenant-a, 10\.10\.10\.3, aa:aa:aa:aa:aa:03\) on h3: 201/);
    assert.equal(s.containers.length, 6);
    for (const [n, host] of ['h1', 'h2', 'h3'].entries()) {
      const here = s.containers.filter((c) => c.host === host);
      assert.deepEqual(here.map((c) => c.tenant).sort(), ['tenant-a', 'tenant-b'], `one container of each tenant on ${host}`);
      for (const c of here) {
        assert.equal(c.ip, `10.10.10.${n + 1}`);
        assert.equal(c.mac, `aa:aa:aa:aa:aa:0${n + 1}`);
        assert.equal(c.namespace, `${name}-c-${c.name}`);
      }
    }
    assert.ok(s.flowsExcerpt.some((l) => /table=20, .*arp_tpa=10\.10\.10\.3,arp_op=1 actions=.*IN_PORT/.test(l)), s.flowsExcerpt.join('\n'));
    assert.ok(s.flowsExcerpt.some((l) => /table=30, .*dl_dst=aa:aa:aa:aa:aa:03 actions=.*tun_dst.*output:/.test(l)), s.flowsExcerpt.join('\n'));

    // Torn down: no lab record, no namespace of this lab.
    assert.ok(!Lab.list().some((l) => l.name === name), 'the demo removed its lab');
    const leftovers = existsSync('/run/netns') ? readdirSync('/run/netns').filter((ns) => ns.startsWith(`${name}-`)) : [];
    assert.deepEqual(leftovers, []);
  });

  void it('--down on a lab that is not up says so and exits 0; --keep with --down, a bad lab name and a non-root user are refused', async () => {
    const down = await execa(process.execPath, [BIN, 'demo', '--down', '--lab', name], { reject: false });
    assert.equal(down.exitCode, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`lab "${name}" was not up; nothing to remove`));
    const both = await execa(process.execPath, [BIN, 'demo', '--down', '--keep', '--lab', name], { reject: false });
    assert.equal(both.exitCode, 2);
    assert.match(both.stderr, /--keep and --down exclude each other/);
    const bad = await execa(process.execPath, [BIN, 'demo', '--lab', 'Bad-Name'], { reject: false });
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /invalid lab name "Bad-Name"/);
    assert.ok(!Lab.list().some((l) => l.name === 'Bad-Name'));
    // Without root: stops at once, saying why, and builds nothing.
    const user = await execa(process.execPath, [BIN, 'demo', '--lab', name], { reject: false, uid: 65534, gid: 65534 });
    assert.equal(user.exitCode, 1, user.stderr);
    assert.match(user.stderr, /needs root/);
    assert.ok(!Lab.list().some((l) => l.name === name));
  });
});
