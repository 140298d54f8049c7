// Two labs up at once do not interfere, even with the same underlay prefix, the same container IPs and
// MACs, and a name that is the other's name plus a letter ("…i" and "…ib": `down` of one must not
// take the other's namespaces by prefix).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab } from '../../src/lab/index.js';
import type { LabStatus } from '../../src/lab/index.js';
import { installStaticFlows, namespacesOf, ping, running } from '../support/lab-checks.js';

void describe('two labs at once', () => {
  const a = `t${process.pid}i`;
  const b = `t${process.pid}ib`;
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'bumless.js');
  const cli = (args: string[]) => execa(process.execPath, [bin, ...args], { reject: false });
  const underlay = '192.168.222.0/24';
  let labA: Lab;
  let labB: Lab;

  before(async () => {
    await Promise.all([Lab.down(a), Lab.down(b)]);
  });
  after(async () => {
    await Lab.down(a);
    await Lab.down(b);
  });

  void it('come up side by side with the same addresses', async () => {
    [labA, labB] = await Promise.all([
      Lab.up({ lab: a, hosts: 2, encap: 'vxlan', underlay }),
      Lab.up({ lab: b, hosts: 2, encap: 'vxlan', underlay }),
    ]);
    for (const lab of [labA, labB]) {
      await lab.addContainer({ host: 'h1', name: 'x1', ip: '10.9.0.1/24', mac: '02:00:00:00:09:01' });
      await lab.addContainer({ host: 'h2', name: 'x2', ip: '10.9.0.2/24', mac: '02:00:00:00:09:02' });
      await installStaticFlows(lab, 42);
    }
    assert.deepEqual(namespacesOf(a).filter((ns) => ns.startsWith(`${b}-`)), [], 'the name scheme keeps the labs apart');
    assert.equal(namespacesOf(b).length, 5);
    assert.ok(await ping(labA, { container: 'x1' }, '10.9.0.2'), 'lab a: x1 -> x2');
    assert.ok(await ping(labB, { container: 'x1' }, '10.9.0.2'), 'lab b: x1 -> x2');
  });

  void it("one lab's flows do not carry the other's traffic", async () => {
    await labA.ofctl('h1', 'del-flows');
    assert.equal(await ping(labA, { container: 'x1' }, '10.9.0.2', 2), false, 'lab a lost its flows');
    assert.ok(await ping(labB, { container: 'x1' }, '10.9.0.2'), 'lab b still forwards');
  });

  void it("down of one leaves the other's namespaces, daemons and traffic alone", async () => {
    const before = await labB.status();
    await labA.down();
    assert.deepEqual(namespacesOf(`${a}`).filter((ns) => !ns.startsWith(`${b}-`)), []);
    assert.deepEqual(namespacesOf(b).sort(), [`${b}-c-x1`, `${b}-c-x2`, `${b}-h1`, `${b}-h2`, `${b}-ul`]);
    const afterDown = await labB.status();
    for (const h of afterDown.hosts) {
      assert.ok(h.vswitchdPid !== null && running(h.vswitchdPid));
      assert.equal(h.vswitchdPid, before.hosts.find((x) => x.id === h.id)?.vswitchdPid);
    }
    assert.ok(await ping(labB, { container: 'x1' }, '10.9.0.2'), 'lab b still forwards after lab a is gone');
    assert.deepEqual(
      Lab.list().filter((l) => l.name === a || l.name === b).map((l) => l.name),
      [b],
    );
  });

  void it('the command line shows the surviving lab and runs commands in its namespaces', async () => {
    const json = await cli(['lab', 'status', '--lab', b, '--json']);
    assert.equal(json.exitCode, 0, json.stderr);
    const status = JSON.parse(json.stdout) as LabStatus;
    assert.deepEqual(status.hosts.map((h) => h.ns), [`${b}-h1`, `${b}-h2`]);
    assert.deepEqual(status.containers.map((c) => [c.name, c.host, c.ip, c.mac]), [
      ['x1', 'h1', '10.9.0.1/24', '02:00:00:00:09:01'],
      ['x2', 'h2', '10.9.0.2/24', '02:00:00:00:09:02'],
    ]);
    assert.ok(status.containers.every((c) => typeof c.ofport === 'number'));
    const human = await cli(['lab', 'status', '--lab', b]);
    assert.match(human.stdout, new RegExp(`^h2 +${b}-h2 +192\\.168\\.222\\.12 +pid \\d+ +pid \\d+`, 'm'));
    assert.match(human.stdout, /^x1 +h1 +t\d+ib-c-x1 +10\.9\.0\.1\/24 +02:00:00:00:09:01 +1450 +c-x1 \(ofport \d+\)/m);
    const exec = await cli(['lab', 'exec', '--lab', b, '--container', 'x2', '--', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    assert.equal(exec.exitCode, 0);
    assert.match(exec.stdout, /10\.9\.0\.2\/24/);
    const code = await cli(['lab', 'exec', '--lab', b, '--host', 'h1', '--', 'sh', '-c', 'exit 7']);
    assert.equal(code.exitCode, 7);
    const noSuch = await cli(['lab', 'exec', '--lab', b, '--container', 'nope', '--', 'true']);
    assert.equal(noSuch.exitCode, 1);
    assert.match(noSuch.stderr, /has no container "nope"/);
  });

  void it('two processes changing one lab at once both land (the lab lock)', async () => {
    const adds = await Promise.all(
      ['y1', 'y2', 'y3'].map((n, i) => cli(['lab', 'container', 'add', '--lab', b, '--host', `h${(i % 2) + 1}`, '--name', n, '--ip', `10.8.0.${i + 1}/24`])),
    );
    for (const r of adds) assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(Lab.open(b).state.containers.map((c) => c.name).sort(), ['x1', 'x2', 'y1', 'y2', 'y3']);
    const dels = await Promise.all(['y1', 'y2', 'y3'].map((n) => cli(['lab', 'container', 'del', '--lab', b, '--name', n])));
    for (const r of dels) assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(Lab.open(b).state.containers.map((c) => c.name).sort(), ['x1', 'x2']);
    assert.deepEqual(namespacesOf(b).filter((ns) => ns.includes('-c-y')), []);
  });
});
