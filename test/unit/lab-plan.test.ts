// The lab's pure parts: names (and the separator that keeps lab "a" away from lab "ab"), the underlay
// address plan, MTUs, MACs and the agents' generated configuration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AgentConfig } from '../../src/config/schema.js';
import {
  agentConfig,
  checkLabName,
  checkSocketPaths,
  containerMtu,
  defaultMac,
  defaultUnderlay,
  hostPaths,
  MAX_HOSTS,
  names,
  parseNamespace,
  underlayPlan,
} from '../../src/lab/plan.js';
import { LabError } from '../../src/lab/errors.js';

void describe('lab names', () => {
  void it('accepts short lower-case names without "-" and rejects the rest with a reason', () => {
    assert.equal(checkLabName('default'), 'default');
    assert.equal(checkLabName('t1234567a'), 't1234567a');
    for (const bad of ['', 'a-b', 'A', '1abc', 'abcdefghijklm', 'a_b', 'a b']) {
      assert.throws(() => checkLabName(bad), (e: unknown) => e instanceof LabError && /invalid lab name/.test(e.message), bad);
    }
  });

  void it('round-trips every namespace through parseNamespace', () => {
    assert.deepEqual(parseNamespace(names.underlayNs('t1')), { lab: 't1', kind: 'underlay' });
    assert.deepEqual(parseNamespace(names.hostNs('t1', 'h12')), { lab: 't1', kind: 'host', host: 'h12' });
    assert.deepEqual(parseNamespace(names.containerNs('t1', 'web-1')), { lab: 't1', kind: 'container', container: 'web-1' });
  });

  void it('never attributes one lab\'s namespace to a lab whose name is a prefix of it', () => {
    assert.equal(parseNamespace('ab-h1')?.lab, 'ab');
    assert.notEqual(parseNamespace('ab-h1')?.lab, 'a');
    assert.equal(parseNamespace('a-c-b-h1')?.lab, 'a');
    // `down` deletes what parseNamespace attributes to the lab: nothing the scheme could not have made,
    // e.g. a host beyond MAX_HOSTS or a container name checkContainerName refuses.
    for (const foreign of ['ovn1', 'bgp1', 'a-x1', 'a-h0', 'a-', '-ul', 'a-c-', 'a-c--x', 'A-ul', 'a-other', 'a-h01', 'a-h33', 'a-h999', 'a-c-x-', 'a-c-abcdefghijklmn', 'a-ul2']) {
      assert.equal(parseNamespace(foreign), undefined, foreign);
    }
  });

  void it('keeps container ports within the 15-character interface name limit', () => {
    assert.equal(names.containerPort('abcdefghijklm').length, 15);
  });
});

void describe('underlay plan', () => {
  void it('gives the default lab 192.168.100.0/24 and other labs a stable /24 in 101..199', () => {
    assert.equal(defaultUnderlay('default'), '192.168.100.0/24');
    assert.equal(defaultUnderlay('t1'), defaultUnderlay('t1'));
    const third = Number(defaultUnderlay('t1').split('.')[2]);
    assert.ok(third >= 101 && third <= 199, String(third));
  });

  void it('numbers host i as .10+i and checks the prefix', () => {
    assert.deepEqual(underlayPlan('default', 3), { cidr: '192.168.100.0/24', prefixLen: 24, hostIps: ['192.168.100.11', '192.168.100.12', '192.168.100.13'] });
    assert.deepEqual(underlayPlan('x', 2, '10.20.30.99/16').hostIps, ['10.20.0.11', '10.20.0.12']);
    assert.equal(underlayPlan('x', 2, '10.20.30.99/16').cidr, '10.20.0.0/16');
    assert.equal(underlayPlan('x', 4, '10.0.0.0/28').hostIps.at(-1), '10.0.0.14');
    assert.throws(() => underlayPlan('x', 5, '10.0.0.0/28'), /too small for 5 hosts/);
    assert.throws(() => underlayPlan('x', 1, '300.0.0.0/24'), /invalid underlay/);
    assert.throws(() => underlayPlan('x', 1, 'fd00::/64'), /invalid underlay/);
  });
});

void describe('containers', () => {
  void it('takes the encapsulation overhead off the underlay MTU', () => {
    assert.equal(containerMtu('vxlan'), 1450);
    assert.equal(containerMtu('geneve'), 1450);
    assert.equal(containerMtu('gre'), 1458);
    assert.equal(containerMtu('vxlan', 9000), 8950);
  });

  void it('derives a stable, locally administered unicast MAC per lab and container', () => {
    const mac = defaultMac('t1', 'web');
    assert.match(mac, /^02(:[0-9a-f]{2}){5}$/);
    assert.equal(defaultMac('t1', 'web'), mac);
    assert.notEqual(defaultMac('t2', 'web'), mac);
    assert.notEqual(defaultMac('t1', 'db'), mac);
  });
});

void describe('host paths', () => {
  void it('gives the database and br-int management sockets in the same form: a unix: target', () => {
    const p = hostPaths('/run/bumless/labs/t1', 'h2');
    assert.equal(p.db, 'unix:/run/bumless/labs/t1/h2/db.sock');
    assert.equal(p.mgmt, 'unix:/run/bumless/labs/t1/h2/br-int.mgmt');
    assert.equal(p.vswitchdCtl, '/run/bumless/labs/t1/h2/vswitchd.ctl');
  });

  void it('accepts host ids up to MAX_HOSTS and every valid container name as the lab\'s', () => {
    assert.deepEqual(parseNamespace(`a-h${MAX_HOSTS}`), { lab: 'a', kind: 'host', host: `h${MAX_HOSTS}` });
    assert.deepEqual(parseNamespace('a-c-abcdefghijklm'), { lab: 'a', kind: 'container', container: 'abcdefghijklm' });
  });
});

void describe('socket paths', () => {
  void it('refuses a lab directory whose sockets would exceed the unix socket limit', () => {
    checkSocketPaths('/run/bumless/labs/default', 'h32');
    assert.throws(() => checkSocketPaths(`/tmp/${'x'.repeat(100)}/default`, 'h1'), /unix socket limit; set BUMLESS_LAB_ROOT/);
  });
});

void describe('agent configuration', () => {
  const dir = '/run/bumless/labs/t1';
  const tls = { ca: `${dir}/pki/ca.crt`, cert: `${dir}/h1/mesh.crt`, key: `${dir}/h1/mesh.key` };
  const hosts = [1, 2, 3].map((i) => ({ id: `h${i}`, underlayIp: `192.168.100.1${i}`, paths: hostPaths(dir, `h${i}`) }));

  void it('matches the agent schema and points at the host\'s own Open vSwitch', () => {
    const [h1] = hosts;
    assert.ok(h1);
    const config = agentConfig('geneve', h1, hosts, tls);
    assert.deepEqual(AgentConfig.parse(JSON.parse(JSON.stringify(config))), config);
    assert.equal(config.hostId, 'h1');
    assert.equal(config.vtepIp, '192.168.100.11');
    assert.equal(config.encap, 'geneve');
    assert.equal(config.bridge, 'br-int');
    assert.equal(config.dataDir, `${dir}/h1/agent-data`);
    assert.deepEqual(config.ovs, { db: `unix:${dir}/h1/db.sock`, datapathType: 'netdev', rundir: `${dir}/h1` });
    assert.equal(config.openflow.target, `unix:${dir}/h1/br-int.mgmt`);
    assert.equal(config.api.listen, '192.168.100.11:8080');
    assert.equal(config.mesh.listen, '192.168.100.11:7471');
    assert.deepEqual(config.mesh.tls, tls);
  });

  void it('lists every other host as a mesh peer, never itself', () => {
    const [, h2] = hosts;
    assert.ok(h2);
    const peers = agentConfig('vxlan', h2, hosts, tls).mesh.peers;
    assert.deepEqual(peers.map((p) => p.hostId), ['h1', 'h3']);
    assert.deepEqual(peers.map((p) => p.url), ['wss://192.168.100.11:7471', 'wss://192.168.100.13:7471']);
  });
});
