// The client commands (tenant, network, endpoint, status, flows, trace) through `bumless` main() against an
// in-process API server on 127.0.0.1: human and --json output, exit codes, error messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { ADMIN, runningApi } from '../support/api-fakes.js';
import type { FlowView } from '../../src/api/ports.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(' '));
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const TRACE_OUTPUT = `Flow: icmp,in_port=1,dl_src=aa:aa:aa:aa:00:01,dl_dst=aa:aa:aa:aa:00:09

bridge("br-int")
----------------
 0. in_port=1,dl_src=aa:aa:aa:aa:00:01, priority 100, cookie 0x1
    goto_table:10
10. priority 0
    drop

Final flow: unchanged
Datapath actions: drop
`;

void describe('bumless client commands', () => {
  let ctx: Awaited<ReturnType<typeof runningApi>>;
  let home: string;
  const saved = { ...process.env };
  let admin: string[];
  let tenantToken = '';
  let as: string[];

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'bumless-cli-'));
    for (const k of Object.keys(process.env)) if (k.startsWith('BUMLESS_')) delete process.env[k];
    process.env.HOME = home;
    ctx = await runningApi();
    admin = ['--api', ctx.api.url, '--token', ADMIN];
  });
  after(async () => {
    await ctx.api.close();
    rmSync(home, { recursive: true, force: true });
    process.env = saved;
  });

  void it('tenant create prints the token once; list/show in human and JSON form', async () => {
    const r = await run(['tenant', 'create', 'acme', '--display-name', 'Acme Corp', '--max-endpoints', '50', ...admin]);
    assert.equal(r.code, 0, r.err);
    const token = /^(bl\.[0-9a-f]{16}\.\S+)$/m.exec(r.out)?.[1];
    assert.ok(token, r.out);
    assert.match(r.out, /^tenant acme created$/m);
    assert.match(r.out, /shown only now/);
    tenantToken = token;
    as = ['--api', ctx.api.url, '--token', tenantToken];

    const list = await run(['tenant', 'list', ...admin]);
    assert.equal(list.code, 0);
    assert.match(list.out, /^NAME\s+DISPLAY NAME\s+MAX NETWORKS\s+MAX ENDPOINTS\s+CREATED$/m);
    assert.match(list.out, /^acme\s+Acme Corp\s+default\s+50\s+\d{4}-/m);
    const json = await run(['tenant', 'list', '--json', ...admin]);
    assert.deepEqual((JSON.parse(json.out) as Array<{ name: string; quota: unknown }>).map((t) => [t.name, t.quota]), [['acme', { endpoints: 50 }]]);
    const show = await run(['tenant', 'show', 'acme', ...as]);
    assert.match(show.out, /^max endpoints\s+50$/m);
    assert.equal((JSON.parse((await run(['tenant', 'show', 'acme', '--json', ...as])).out) as { name: string }).name, 'acme');
  });

  void it('tenant errors: duplicate 409, tenant token on admin action, unknown tenant; exit 1 with the reason', async () => {
    const dup = await run(['tenant', 'create', 'acme', ...admin]);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /^bumless tenant: tenant "acme" already exists/);
    const notAdmin = await run(['tenant', 'create', 'other', ...as]);
    assert.equal(notAdmin.code, 1);
    assert.match(notAdmin.err, /needs the admin token/);
    const missing = await run(['tenant', 'show', 'nosuch', ...admin]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /tenant nosuch not found; list tenants with: bumless tenant list/);
    const net = await run(['network', 'show', 'acme/nosuch', ...admin]);
    assert.equal(net.code, 1);
    assert.match(net.err, /network acme\/nosuch not found; list networks with: bumless network list --tenant acme/);
    const ep = await run(['endpoint', 'show', 'acme/nosuch/aa:aa:aa:aa:00:01', ...admin]);
    assert.equal(ep.code, 1);
    assert.match(ep.err, /not found; list (endpoints with: bumless endpoint list --network acme\/nosuch|networks with: bumless network list --tenant acme)/);
    const usage = await run(['tenant', 'frobnicate', ...admin]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /unknown action "frobnicate"; use create, list, show, delete or token/);
    const badQuota = await run(['tenant', 'create', 'x', '--max-networks', 'lots', ...admin]);
    assert.equal(badQuota.code, 2);
    assert.match(badQuota.err, /--max-networks must be a non-negative integer/);
    const unknownFlag = await run(['tenant', 'list', '--colour', ...admin]);
    assert.equal(unknownFlag.code, 2);
  });

  void it('tenant tokens: create, list, revoke', async () => {
    const c = await run(['tenant', 'token', 'create', 'acme', '--description', 'ci', '--json', ...as]);
    assert.equal(c.code, 0, c.err);
    const created = JSON.parse(c.out) as { token: string; info: { id: string } };
    const l = await run(['tenant', 'token', 'list', 'acme', ...as]);
    assert.match(l.out, new RegExp(`^${created.info.id}\\s+\\S+\\s+ci$`, 'm'));
    const rv = await run(['tenant', 'token', 'revoke', 'acme', created.info.id, ...as]);
    assert.equal(rv.code, 0);
    assert.match(rv.out, /revoked/);
    const foreign = `bl.0123456789abcdef.${'Q'.repeat(43)}`;
    const imp = await run(['tenant', 'token', 'import', 'acme', foreign, ...admin]);
    assert.equal(imp.code, 0, imp.err);
    assert.equal(imp.out, 'token 0123456789abcdef of tenant acme installed; the mesh carries it to every agent');
    assert.equal((await run(['tenant', 'show', 'acme', '--api', ctx.api.url, '--token', foreign])).code, 0);
    const again = await run(['tenant', 'token', 'import', 'acme', foreign, ...admin]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already valid on every agent \(tokens replicate\); nothing to do/);
    const forged = await run(['tenant', 'token', 'import', 'acme', `bl.0123456789abcdef.${'R'.repeat(43)}`, ...admin]);
    assert.equal(forged.code, 1);
    assert.match(forged.err, /already used by another token or tenant/);
    assert.equal((await run(['tenant', 'create', 'shortlived', ...admin])).code, 0);
    const gone = await run(['tenant', 'delete', 'shortlived', '--json', ...admin]);
    assert.equal(gone.code, 0, gone.err);
    assert.deepEqual(JSON.parse(gone.out), { deleted: 'shortlived' });
    assert.equal((await run(['tenant', 'delete', 'shortlived', ...admin])).code, 1);
    const dead = await run(['tenant', 'list', '--api', ctx.api.url, '--token', created.token]);
    assert.equal(dead.code, 1);
    assert.match(dead.err, /not valid.*check --token/);
  });

  void it('network create (VNI assigned, short name with a tenant token), list, show, errors', async () => {
    const c = await run(['network', 'create', 'web', '--cidr', '10.10.10.0/24', '--gateway', '10.10.10.254', ...as]);
    assert.equal(c.code, 0, c.err);
    assert.equal(c.out, 'network acme/web created: VNI 100, 10.10.10.0/24, vxlan');
    const j = await run(['network', 'create', 'acme/db', '--cidr', '10.20.0.0/24', '--cidr', 'fd00::/64', '--encap', 'geneve', '--json', ...as]);
    const db = JSON.parse(j.out) as { vni: number; cidrs: string[]; encap: string };
    assert.deepEqual([db.vni, db.cidrs, db.encap], [101, ['10.20.0.0/24', 'fd00::/64'], 'geneve']);
    const list = await run(['network', 'list', ...as]);
    assert.match(list.out, /^NETWORK\s+VNI\s+CIDRS\s+GATEWAY\s+ENCAP$/m);
    assert.match(list.out, /^acme\/web\s+100\s+10\.10\.10\.0\/24\s+10\.10\.10\.254\s+vxlan$/m);
    assert.equal((JSON.parse((await run(['network', 'list', '--json', ...as])).out) as unknown[]).length, 2);
    assert.match((await run(['network', 'show', 'acme/web', ...as])).out, /^vni\s+100$/m);
    const vni = await run(['network', 'create', 'x', '--cidr', '10.0.0.0/24', '--vni', '7', ...as]);
    assert.equal(vni.code, 1);
    assert.match(vni.err, /omit vni/);
    const bad = await run(['network', 'create', 'y', '--cidr', '10.0.0.0/33', ...as]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /cidrs\.0: a CIDR prefix/);
    const noCidr = await run(['network', 'create', 'z', ...as]);
    assert.equal(noCidr.code, 2);
    assert.match(noCidr.err, /--cidr/);
    const adminShort = await run(['network', 'create', 'q', '--cidr', '10.0.0.0/24', ...admin]);
    assert.equal(adminShort.code, 2);
    assert.match(adminShort.err, /TENANT\/q/);
    assert.equal((await run(['network', 'delete', 'acme/db', ...as])).code, 0);
    assert.equal((await run(['network', 'show', 'acme/db', ...as])).code, 1);
  });

  void it('endpoint create/list/show/delete with confirmation and peers; 409 names the holder', async () => {
    const c = await run(['endpoint', 'create', 'acme/web', '--mac', 'AA:AA:AA:AA:00:01', '--ip', '10.10.10.1', '--port', 'veth1', ...as]);
    assert.equal(c.code, 0, c.err);
    assert.equal(c.out, 'endpoint acme/web/aa:aa:aa:aa:00:01 registered on h1 port veth1: flows installed; announced to h2');
    const j = await run(['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:00:02', '--ip', '10.10.10.2', '--port', 'veth2', '--json', ...as]);
    assert.equal((JSON.parse(j.out) as { installed: boolean }).installed, true);
    const conflict = await run(['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:00:03', '--ip', '10.10.10.1', '--port', 'veth3', ...as]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.err, /10\.10\.10\.1 .*held by aa:aa:aa:aa:00:01/);
    const outside = await run(['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:00:03', '--ip', '10.99.0.1', '--port', 'veth3', ...as]);
    assert.equal(outside.code, 1);
    assert.match(outside.err, /not inside the network's prefixes 10\.10\.10\.0\/24/);
    const missing = await run(['endpoint', 'create', 'acme/web', '--ip', '10.10.10.9', ...as]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /missing --mac, --port/);
    const list = await run(['endpoint', 'list', '--network', 'acme/web', ...as]);
    assert.match(list.out, /^NETWORK\s+MAC\s+IPS\s+HOST\s+PORT\s+SEQ$/m);
    assert.match(list.out, /^acme\/web\s+aa:aa:aa:aa:00:02\s+10\.10\.10\.2\s+h1\s+veth2\s+0$/m);
    assert.equal((JSON.parse((await run(['endpoint', 'list', '--json', ...as])).out) as unknown[]).length, 2);
    assert.match((await run(['endpoint', 'show', 'acme/web/aa:aa:aa:aa:00:01', ...as])).out, /^host\s+h1 \(vtep 192\.168\.100\.1\)$/m);
    const badRef = await run(['endpoint', 'show', 'acme/web', ...as]);
    assert.equal(badRef.code, 2);
    assert.match(badRef.err, /TENANT\/NETWORK\/MAC/);
    const del = await run(['endpoint', 'delete', 'acme/web/aa:aa:aa:aa:00:02', ...as]);
    assert.equal(del.code, 0);
    assert.equal(del.out, 'endpoint acme/web/aa:aa:aa:aa:00:02 deleted');
    // The switch not confirming: success, but a warning on stderr.
    ctx.sw.connected = false;
    const slow = await run(['endpoint', 'create', 'acme/web', '--mac', 'aa:aa:aa:aa:00:05', '--ip', '10.10.10.5', '--port', 'veth5', ...as]);
    ctx.sw.connected = true;
    assert.equal(slow.code, 0);
    assert.match(slow.out, /flows not yet confirmed/);
    assert.match(slow.err, /bumless status/);
  });

  void it('status: human summary and JSON; tenant tokens are refused with exit 1', async () => {
    ctx.sw.bumDrops.set('acme/web', 42);
    ctx.registry.alarmList = [{ kind: 'duplicate-mac', subject: 'acme/web/aa:aa:aa:aa:00:01', message: 'moved 6 times in 180 s', since: '2026-01-01T00:00:00.000Z' }];
    const s = await run(['status', ...admin]);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /^host\s+h1\s+ready: yes$/m);
    assert.match(s.out, /^switch\s+connected unix:\/tmp\/br-int\.mgmt \(datapath 0000000000000001\)$/m);
    assert.match(s.out, /^peers\s+h2 established, h3 down$/m);
    assert.match(s.out, /^reconcile\s+3 runs, last 12\.0 ms \+2 ~0 -1$/m);
    assert.match(s.out, /^flows\s+0 desired, 0 installed \(in sync\)$/m);
    assert.match(s.out, /^registry\s+1 tenants, 1 networks, 2 endpoints \(2 local\)$/m);
    assert.match(s.out, /^acme\/web\s+100\s+42\s+7$/m);
    assert.match(s.out, /duplicate-mac acme\/web\/aa:aa:aa:aa:00:01: moved 6 times/);
    const j = JSON.parse((await run(['status', '--json', ...admin])).out) as { switch: { networks: Array<{ bumDropPackets: number }> } };
    assert.equal(j.switch.networks[0]!.bumDropPackets, 42);
    const t = await run(['status', ...as]);
    assert.equal(t.code, 1);
    assert.match(t.err, /needs the admin token/);
    ctx.registry.alarmList = [];
  });

  void it('alarm list shows ids; alarm clear clears by id (404 for an unknown id, usage error without one)', async () => {
    const id = 'duplicate-mac:acme/web/aa:aa:aa:aa:00:01';
    ctx.registry.alarmList = [{ id, kind: 'duplicate-mac', subject: 'acme/web/aa:aa:aa:aa:00:01', message: 'moved 6 times in 180 s', since: '2026-01-01T00:00:00.000Z', raisedBy: 'host-b' }];
    const s = await run(['status', ...admin]);
    assert.match(s.out, new RegExp(`^    id ${id}$`, 'm'));
    assert.match(s.out, /bumless alarm clear ID$/m);
    const l = await run(['alarm', 'list', ...admin]);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /^ID\s+RAISED BY\s+SINCE\s+MESSAGE$/m);
    assert.match(l.out, new RegExp(`^${id}\\s+host-b\\s+2026-01-01T00:00:00\\.000Z\\s+moved 6 times in 180 s$`, 'm'));
    assert.equal((JSON.parse((await run(['alarm', 'list', '--json', ...admin])).out) as Array<{ id: string }>)[0]!.id, id);
    const c = await run(['alarm', 'clear', id, ...admin]);
    assert.equal(c.code, 0, c.err);
    assert.equal(c.out, `alarm ${id} cleared`);
    assert.deepEqual(ctx.registry.alarmList, []);
    assert.equal((await run(['alarm', 'list', ...admin])).out, 'no alarms');
    const again = await run(['alarm', 'clear', id, ...admin]);
    assert.equal(again.code, 1);
    assert.match(again.err, /does not exist/);
    const none = await run(['alarm', 'clear', ...admin]);
    assert.equal(none.code, 2);
    assert.match(none.err, /bumless alarm list shows the ids/);
    assert.equal((await run(['alarm', 'clear', id, ...as])).code, 1, 'a tenant token cannot clear alarms');
  });

  void it('flows: table, --ovs in dump-flows syntax, --diff with exit code 1 on a difference', async () => {
    const f = (table: number, priority: number, match: string, actions: string, extra: Partial<FlowView> = {}): FlowView => ({ table, priority, match, actions, cookie: '0x1', ...extra });
    ctx.sw.desired = [f(0, 100, 'in_port=1,dl_src=aa:aa:aa:aa:00:01', 'goto_table:10'), f(10, 0, '', 'drop')];
    ctx.sw.installed = ctx.sw.desired.map((x) => ({ ...x, packets: 3, bytes: 180, durationSec: 12.5 }));
    const ovs = await run(['flows', '--ovs', ...admin]);
    assert.equal(ovs.code, 0);
    assert.equal(
      ovs.out,
      [
        ' cookie=0x1, duration=12.500s, table=0, n_packets=3, n_bytes=180, priority=100,in_port=1,dl_src=aa:aa:aa:aa:00:01 actions=goto_table:10',
        ' cookie=0x1, duration=12.500s, table=10, n_packets=3, n_bytes=180, priority=0 actions=drop',
      ].join('\n'),
    );
    const human = await run(['flows', ...admin]);
    assert.match(human.out, /^2 desired, 2 installed; 0 missing, 0 extra, 0 changed$/m);
    const same = await run(['flows', '--diff', ...admin]);
    assert.equal(same.code, 0);
    assert.match(same.out, /no difference/);
    ctx.sw.installed = [{ ...ctx.sw.installed[0]!, actions: 'drop' }, f(5, 1, 'arp', 'drop')];
    const diff = await run(['flows', '--diff', ...admin]);
    assert.equal(diff.code, 1);
    assert.deepEqual(diff.out.split('\n'), [
      '+ table=10 priority=0 actions=drop cookie=0x1',
      '- table=5 priority=1 arp actions=drop cookie=0x1',
      '~ table=0 priority=100 in_port=1,dl_src=aa:aa:aa:aa:00:01 actions=drop cookie=0x1',
      '  now wanted: actions=goto_table:10 cookie=0x1',
    ]);
    const dj = await run(['flows', '--diff', '--json', ...admin]);
    const body = JSON.parse(dj.out) as { missing: unknown[]; extra: unknown[]; changed: unknown[] };
    assert.deepEqual([body.missing.length, body.extra.length, body.changed.length], [1, 1, 1]);
  });

  void it('trace: tables and fate, --json, usage errors', async () => {
    ctx.sw.traceOutput = TRACE_OUTPUT;
    const t = await run(['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.9', '--dst-mac', 'aa:aa:aa:aa:00:09', ...admin]);
    assert.equal(t.code, 0, t.err);
    assert.equal(
      t.out,
      [
        'frame: in_port=veth1,icmp,dl_src=aa:aa:aa:aa:00:01,dl_dst=aa:aa:aa:aa:00:09,nw_src=10.10.10.1,nw_dst=10.10.10.9,icmp_type=8,icmp_code=0',
        '',
        'table 0: in_port=1,dl_src=aa:aa:aa:aa:00:01, priority 100, cookie 0x1',
        '    goto_table:10',
        'table 10: priority 0',
        '    drop',
        '',
        'datapath actions: drop',
        'fate: dropped in table 10 (priority 0)',
      ].join('\n'),
    );
    // Steps in another bridge (br-phy after a userspace tunnel) are labelled with it, not as br-int's "table 0".
    ctx.sw.traceOutput = [
      'bridge("br-int")',
      '----------------',
      ' 0. in_port=1, priority 100, cookie 0x1',
      '    output:1',
      '     -> output to native tunnel',
      '',
      '        bridge("br-phy")',
      '        ----------------',
      '             0. priority 0',
      '                NORMAL',
      '',
      'Datapath actions: tnl_push(tnl_port(4789)),2',
    ].join('\n');
    const phy = await run(['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.9', '--dst-mac', 'aa:aa:aa:aa:00:09', ...admin]);
    assert.equal(phy.code, 0, phy.err);
    assert.match(phy.out, /^table 0: in_port=1, priority 100, cookie 0x1\n {4}output:1\nbr-phy table 0: priority 0\n {4}NORMAL$/m);
    ctx.sw.traceOutput = TRACE_OUTPUT;
    const j = JSON.parse((await run(['trace', 'acme/web', '--src', '10.10.10.1', '--dst', 'broadcast', '--json', ...admin])).out) as { flow: string };
    assert.match(j.flow, /dl_dst=ff:ff:ff:ff:ff:ff/);
    const noSrc = await run(['trace', 'acme/web', '--dst', '10.10.10.2', ...admin]);
    assert.equal(noSrc.code, 2);
    const badProto = await run(['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.2', '--proto', 'sctp', ...admin]);
    assert.equal(badProto.code, 2);
    const unknownDst = await run(['trace', 'acme/web', '--src', '10.10.10.1', '--dst', '10.10.10.77', ...admin]);
    assert.equal(unknownDst.code, 1);
    assert.match(unknownDst.err, /--dst-mac|destinationMac/);
  });

  void it('connection errors say what to do: unreachable API exits 3, no token exits 1 with a hint', async () => {
    const down = await run(['tenant', 'list', '--api', 'http://127.0.0.1:1', '--token', ADMIN]);
    assert.equal(down.code, 3);
    assert.match(down.err, /cannot reach the agent API at http:\/\/127\.0\.0\.1:1 \(connection refused\); is the agent running\? Give its address with --api or BUMLESS_API/);
    const noToken = await run(['tenant', 'list', '--api', ctx.api.url]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.err, /no token given: pass --token, set BUMLESS_TOKEN/);
    const badUrl = await run(['tenant', 'list', '--api', 'not a url']);
    assert.equal(badUrl.code, 2);
    const help = await run(['endpoint', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--api URL/);
    assert.match(help.out, /bumless endpoint create acme\/web/);
  });
});
