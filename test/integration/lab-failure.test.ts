// A failure in the middle of `up`, a crash that loses the lab's state, and the command line's errors:
// afterwards `down` must still remove everything, and every error names where and what.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab, hasAgentCommand } from '../../src/lab/index.js';
import { namespacesOf, rootLinks, running } from '../support/lab-checks.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bumless.js');
const ROOT = process.env.BUMLESS_LAB_ROOT || '/run/bumless/labs';

function pidsOf(lab: string): number[] {
  const pids: number[] = [];
  for (const host of ['h1', 'h2', 'h3']) {
    for (const file of ['ovsdb.pid', 'vswitchd.pid']) {
      try {
        pids.push(Number(readFileSync(join(ROOT, lab, host, file), 'utf8').trim()));
      } catch {
        // This host never got that far.
      }
    }
  }
  return pids;
}

function assertGone(lab: string, pids: number[], links: string[]): void {
  assert.deepEqual(namespacesOf(lab), []);
  assert.equal(existsSync(join(ROOT, lab)), false, 'lab directory removed');
  for (const pid of pids) assert.equal(running(pid), false, `pid ${pid} stopped`);
  assert.deepEqual(rootLinks(), links);
}

async function cli(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [BIN, ...args], { reject: false, env: { ...process.env, ...env } });
}

void describe('lab failures', () => {
  const half = `t${process.pid}f`;
  const crash = `t${process.pid}k`;
  const bad = `t${process.pid}e`;
  const links = rootLinks();

  before(async () => {
    for (const lab of [half, crash, bad]) await Lab.down(lab);
    assert.ok(existsSync(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js')), 'run `npm run build` first: the CLI tests run bin/bumless.js');
  });
  after(async () => {
    delete process.env.BUMLESS_LAB_FAIL_AFTER;
    for (const lab of [half, crash, bad]) await Lab.down(lab);
  });

  void it('a failure in the middle of up names the host, and down removes the half-built lab', async () => {
    process.env.BUMLESS_LAB_FAIL_AFTER = 'ovs-start:h2';
    try {
      await assert.rejects(Lab.up({ lab: half, hosts: 3 }), /^LabError: h2: injected failure after step ovs-start/);
    } finally {
      delete process.env.BUMLESS_LAB_FAIL_AFTER;
    }
    const pids = pidsOf(half);
    assert.equal(pids.length, 6, 'every host started its daemons before the failure was noticed');
    assert.ok(pids.every(running));
    assert.equal(namespacesOf(half).length, 4);
    assert.ok(Lab.list().some((l) => l.name === half && l.state));
    await Lab.down(half);
    assertGone(half, pids, links);
  });

  void it('down works from names alone after a crash: no state file, a killed daemon, a stray process', async () => {
    const lab = await Lab.up({ lab: crash, hosts: 2 });
    await lab.addContainer({ host: 'h2', name: 'z', ip: '10.3.0.1/24' });
    const stray = spawn('ip', ['netns', 'exec', `${crash}-c-z`, 'sleep', '300'], { stdio: 'ignore', detached: true });
    stray.unref();
    const strayPid = stray.pid;
    assert.ok(strayPid !== undefined && strayPid > 1, 'the stray process started');
    const pids = pidsOf(crash);
    assert.equal(pids.length, 4, `both hosts wrote their pidfiles: ${pids.join(' ')}`);
    // Only a real PID of ours: 0 or a negative number would signal a whole process group (the test runner's).
    const victim = pids[1];
    assert.ok(victim !== undefined && Number.isInteger(victim) && victim > 1 && running(victim), `pid ${victim} is a running daemon of the lab`);
    process.kill(victim, 'SIGKILL');
    rmSync(join(ROOT, crash, 'state.json'));
    const listed = Lab.list().find((l) => l.name === crash);
    assert.ok(listed && !listed.state && listed.namespaces.length === 4, JSON.stringify(listed));
    await new Promise((r) => setTimeout(r, 100));
    await Lab.down(crash);
    assertGone(crash, [...pids, strayPid], links);
  });

  void it('down from names alone removes only namespaces the lab\'s naming scheme can produce', async () => {
    // "-" cannot occur in a lab name, hosts stop at h32 and container names do not end with "-": none of
    // these is the lab's, though each starts with "<lab>-".
    const foreign = [`${crash}-other`, `${crash}-h99`, `${crash}-c-x-`, `${crash}-ulx`];
    const ours = `${crash}-h1`;
    try {
      for (const ns of [...foreign, ours]) execFileSync('ip', ['netns', 'add', ns]);
      const { removed } = await Lab.down(crash);
      assert.deepEqual(removed, [`namespace ${ours}`]);
      assert.deepEqual(namespacesOf(crash).sort(), [...foreign].sort());
    } finally {
      for (const ns of [...foreign, ours]) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // Not there (down removed it, or it was never made).
        }
      }
    }
  });

  void it('the command line names the host and the command of a failed step, exits 1, and down cleans up', async () => {
    // A corrupt database makes the real ovsdb-server fail on h2.
    mkdirSync(join(ROOT, bad, 'h2'), { recursive: true });
    writeFileSync(join(ROOT, bad, 'h2', 'conf.db'), 'not a database\n');
    const r = await cli(['lab', 'up', '--lab', bad, '--hosts', '2']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^bumless lab up: h2: `bash \S+ovs-host\.sh ovs-start --dir \S+\/h2 --netns t\d+e-h2` failed \(exit 1\): .*ovsdb/m);
    assert.match(r.stderr, /is partly built: .* or remove it with `bumless lab down --lab t\d+e`/);
    const list = await cli(['lab', 'list', '--json']);
    assert.equal(list.exitCode, 0);
    assert.ok((JSON.parse(list.stdout) as Array<{ name: string }>).some((l) => l.name === bad));
    const pids = pidsOf(bad);
    const down = await cli(['lab', 'down', '--lab', bad]);
    assert.equal(down.exitCode, 0, down.stderr);
    assertGone(bad, pids, links);
  });

  void it('bad input gets a clear error, not a crash', async () => {
    const badName = await cli(['lab', 'up', '--lab', 'a-b']);
    assert.equal(badName.exitCode, 1);
    assert.match(badName.stderr, /invalid lab name "a-b"/);
    const badEncap = await cli(['lab', 'up', '--lab', bad, '--encap', 'stt']);
    assert.match(badEncap.stderr, /invalid encapsulation "stt": use vxlan, geneve or gre/);
    const notUp = await cli(['lab', 'status', '--lab', bad, '--json']);
    assert.equal(notUp.exitCode, 1);
    assert.match(notUp.stderr, /lab "t\d+e" is not up/);
    const unknown = await cli(['lab', 'up', '--nosuch']);
    assert.equal(unknown.exitCode, 2);
    assert.equal(namespacesOf(bad).length, 0);
  });

  void it('without root the lab stops at once and says so', async (t) => {
    const canRead = await execa(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(BIN)})`], { reject: false, uid: 65534, gid: 65534 });
    if (canRead.exitCode !== 0) {
      t.skip('user nobody cannot read this checkout (e.g. a clone under /root)');
      return;
    }
    const r = await execa(process.execPath, [BIN, 'lab', 'up', '--lab', bad], { reject: false, uid: 65534, gid: 65534 });
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /the lab needs root/);
  });

  void it('without Open vSwitch the lab stops at once, naming the missing programs and the Debian packages', async () => {
    // Open vSwitch stays installed: each run hides it in a private mount namespace of its own (nothing
    // changes outside it) with an empty tmpfs over /usr/sbin (/sbin links there) and/or the schema
    // directory, and a PATH without /usr/bin that holds copies of the non-OVS tools when wanted.
    const withTools = mkdtempSync(join(tmpdir(), 'bumless-noovs-'));
    const empty = mkdtempSync(join(tmpdir(), 'bumless-noovs-'));
    try {
      for (const tool of ['ip', 'ethtool']) {
        const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, tool)).find((f) => existsSync(f));
        assert.ok(found, `${tool} is installed`);
        copyFileSync(found, join(withTools, tool));
      }
      const hidden = (over: string[], path: string | null) =>
        execa('unshare', ['-m', '--propagation', 'private', 'sh', '-ec',
          `${over.map((d) => `mount -t tmpfs bumless-test ${d}`).join('; ')}; exec "$@"`, 'sh',
          ...(path === null ? [] : ['env', `PATH=${path}`]), process.execPath, BIN, 'lab', 'up', '--lab', bad], { reject: false });

      const noOvs = await hidden(['/usr/sbin'], withTools);
      assert.equal(noOvs.exitCode, 1, noOvs.stderr);
      assert.equal(noOvs.stderr.trim(), 'bumless lab up: missing ovsdb-server, ovs-vswitchd, ovsdb-tool, ovs-vsctl, ovs-ofctl; install the Debian packages: apt-get install -y openvswitch-switch');

      const nothing = await hidden(['/usr/sbin', '/usr/share/openvswitch'], empty);
      assert.equal(nothing.exitCode, 1, nothing.stderr);
      assert.match(nothing.stderr, /^bumless lab up: missing ovsdb-server, ovs-vswitchd, ovsdb-tool, ovs-vsctl, ovs-ofctl, ip, ethtool; install the Debian packages: apt-get install -y openvswitch-switch iproute2 ethtool$/m);

      const noSchema = await hidden(['/usr/share/openvswitch'], null);
      assert.equal(noSchema.exitCode, 1, noSchema.stderr);
      assert.match(noSchema.stderr, /^bumless lab up: missing \/usr\/share\/openvswitch\/vswitch\.ovsschema; install the Debian packages: apt-get install -y openvswitch-common$/m);
      assert.deepEqual(namespacesOf(bad), [], 'stopped before making anything');
      assert.equal(existsSync(join(ROOT, bad)), false);
    } finally {
      rmSync(withTools, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });

  void it('agents start runs the agent in each host namespace, or says there is none to run', async () => {
    await Lab.up({ lab: bad, hosts: 2 });
    if (!(await hasAgentCommand())) {
      const r = await cli(['lab', 'agents', 'start', '--lab', bad]);
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /no agent to start: this build of bumless has no `agent` command/);
      const up = await cli(['lab', 'up', '--lab', bad, '--agents']);
      assert.equal(up.exitCode, 1);
      assert.match(up.stderr, /no agent to start/);
      const status = JSON.parse((await cli(['lab', 'status', '--lab', bad, '--json'])).stdout) as { hosts: Array<{ agent: unknown }> };
      assert.equal(status.hosts[0]?.agent, null);
      await Lab.down(bad);
      return;
    }
    const start = await cli(['lab', 'agents', 'start', '--lab', bad]);
    assert.equal(start.exitCode, 0, start.stderr);
    assert.match(start.stdout, /h1: agent ready \(pid \d+, API http:\/\/192\.168\.\d+\.11:8080\)/);
    type Agent = { pid: number; apiUrl: string; adminToken: string | null } | null;
    const status = async () => JSON.parse((await cli(['lab', 'status', '--lab', bad, '--json'])).stdout) as { hosts: Array<{ id: string; ns: string; underlayIp: string; agent: Agent }> };
    const s1 = await status();
    for (const h of s1.hosts) {
      assert.ok(h.agent && running(h.agent.pid), `${h.id} agent runs`);
      assert.equal(h.agent.apiUrl, `http://${h.underlayIp}:8080`);
      assert.ok(h.agent.adminToken && h.agent.adminToken.length >= 16, 'admin token read from the data dir');
      // The agent runs inside the host's namespace, not in the root namespace.
      assert.equal(readlinkSync(`/proc/${h.agent.pid}/ns/net`), `net:[${statSync(`/run/netns/${h.ns}`).ino}]`);
    }
    const h1 = s1.hosts[0]!.agent!.pid;
    const stop = await cli(['lab', 'agents', 'stop', '--lab', bad, '--host', 'h1', '--signal', 'KILL']);
    assert.equal(stop.exitCode, 0, stop.stderr);
    const s2 = await status();
    assert.equal(s2.hosts[0]?.agent, null);
    assert.equal(running(h1), false);
    assert.equal(s2.hosts[1]?.agent?.pid, s1.hosts[1]?.agent?.pid, 'the other host keeps its agent');
    const pids = [...pidsOf(bad), s1.hosts[1]!.agent!.pid];
    await Lab.down(bad);
    assertGone(bad, pids, links);
  });
});
