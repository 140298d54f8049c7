import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsPreparer, parseMap, parseSet, type VsctlRunner } from '../../src/switch/ovs.js';
import { SwitchError } from '../../src/switch/errors.js';
import { defaultTarget, parseTarget } from '../../src/switch/transport.js';

const settings = { db: 'unix:/tmp/x/db.sock', bridge: 'br-int', datapathType: 'netdev' as const, encap: 'vxlan' as const, tunnelPort: 'tun0', vtepIp: '192.168.100.1' };

void test('ovs-vsctl set and map renderings are parsed', () => {
  assert.deepEqual(parseSet('[]'), []);
  assert.deepEqual(parseSet('[OpenFlow10, OpenFlow13]\n'), ['OpenFlow10', 'OpenFlow13']);
  assert.deepEqual(parseSet('secure'), ['secure']);
  assert.deepEqual(parseMap('{key=flow, local_ip="192.168.100.1", remote_ip=flow}'), { key: 'flow', local_ip: '192.168.100.1', remote_ip: 'flow' });
  assert.deepEqual(parseMap('{}'), {});
});

void test('missing ovs-vsctl and an unreachable database are typed errors that say what to do', async () => {
  const notInstalled: VsctlRunner = () => Promise.resolve({ exitCode: undefined, stdout: '', stderr: '', code: 'ENOENT' });
  await assert.rejects(new OvsPreparer(settings, notInstalled).prepare(), (e: unknown) => {
    assert.ok(e instanceof SwitchError);
    assert.equal(e.code, 'OVS_NOT_INSTALLED');
    assert.match(e.message, /install Open vSwitch/);
    return true;
  });
  const noDb: VsctlRunner = () =>
    Promise.resolve({ exitCode: 1, stdout: '', stderr: 'ovs-vsctl: unix:/tmp/x/db.sock: database connection failed (No such file or directory)' });
  await assert.rejects(new OvsPreparer(settings, noDb).prepare(), (e: unknown) => {
    assert.ok(e instanceof SwitchError);
    assert.equal(e.code, 'OVS_DB_UNREACHABLE');
    assert.match(e.message, /start ovsdb-server or set ovs\.db/);
    return true;
  });
});

void test('a bridge that refuses OpenFlow13 gets the operator the command to run', async () => {
  const runner: VsctlRunner = (args) => {
    const cmd = args.filter((a) => !a.startsWith('--')).join(' ');
    if (cmd === 'show' || cmd === 'br-exists br-int') return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
    if (cmd === 'get bridge br-int datapath_type') return Promise.resolve({ exitCode: 0, stdout: 'netdev\n', stderr: '' });
    if (cmd === 'get bridge br-int protocols') return Promise.resolve({ exitCode: 0, stdout: '[OpenFlow10]\n', stderr: '' });
    return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
  };
  await assert.rejects(new OvsPreparer(settings, runner).prepare(), /no OpenFlow 1\.3 in bridge br-int protocols; run: ovs-vsctl set bridge br-int protocols=OpenFlow13/);
});

void test('OpenFlow targets: default management socket, unix, tcp, ssl needs a certificate', () => {
  assert.equal(defaultTarget('br-int', '/tmp/h1/'), 'unix:/tmp/h1/br-int.mgmt');
  assert.equal(defaultTarget('br-int'), 'unix:/var/run/openvswitch/br-int.mgmt');
  assert.deepEqual(parseTarget('unix:/tmp/h1/br-int.mgmt'), { kind: 'unix', path: '/tmp/h1/br-int.mgmt' });
  assert.deepEqual(parseTarget('tcp:127.0.0.1:6653'), { kind: 'tcp', host: '127.0.0.1', port: 6653 });
  assert.deepEqual(parseTarget('tcp:[::1]:6653'), { kind: 'tcp', host: '::1', port: 6653 });
  assert.throws(() => parseTarget('ssl:10.0.0.1:6653'), /needs a client certificate; set openflow\.tls/);
  const tls = { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' };
  assert.deepEqual(parseTarget('ssl:10.0.0.1:6653', tls), { kind: 'ssl', host: '10.0.0.1', port: 6653, tls });
  assert.throws(() => parseTarget('http://x'), /not unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT/);
  assert.throws(() => parseTarget('tcp:h:70000'), /outside 1-65535/);
});
