// Address rules for what tenants create (src/registry/model.ts): canonical prefixes no wider than /8 or
// /16, gateways and endpoint addresses that are host addresses of the network, each address once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrProblem, duplicateIps, hostAddressProblem, ipInCidr, reservedIpv4 } from '../../src/registry/model.js';

void test('prefixes: host bits are refused with the canonical prefix, too-wide prefixes with the rule', () => {
  assert.equal(cidrProblem('10.20.0.0/24'), undefined);
  assert.equal(cidrProblem('10.0.0.0/8'), undefined);
  assert.equal(cidrProblem('10.10.10.7/32'), undefined);
  assert.equal(cidrProblem('fd00::/64'), undefined);
  assert.equal(cidrProblem('10.20.0.1/24'), '10.20.0.1/24 has host bits set; write the prefix as 10.20.0.0/24');
  assert.match(cidrProblem('172.16.5.9/12')!, /write the prefix as 172\.16\.0\.0\/12$/);
  assert.match(cidrProblem('fd00:1:2:3::1/64')!, /write the prefix as fd00:1:2:3::\/64$/);
  assert.match(cidrProblem('0.0.0.0/0')!, /wider than \/8/);
  assert.match(cidrProblem('10.0.0.0/7')!, /wider than \/8/);
  assert.match(cidrProblem('::/0')!, /wider than \/16/);
  assert.match(cidrProblem('fd00::/15')!, /wider than \/16/);
  assert.equal(cidrProblem('fd00::/16'), undefined);
  assert.ok(cidrProblem('10.0.0.0/33'));
  assert.ok(cidrProblem('nope/24'));
});

void test('addresses: inside, network and broadcast addresses (not for /31 and /32), IPv6 canonical form', () => {
  assert.ok(ipInCidr('10.10.10.3', '10.10.10.0/24'));
  assert.ok(!ipInCidr('10.10.11.3', '10.10.10.0/24'));
  assert.ok(!ipInCidr('fd00::1', '10.10.10.0/24'));
  assert.ok(ipInCidr('fd00::1', 'fd00::/64'));
  assert.ok(ipInCidr('::ffff:10.0.0.1', '::ffff:10.0.0.0/120'));
  assert.equal(reservedIpv4('10.10.10.0', '10.10.10.0/24'), 'network');
  assert.equal(reservedIpv4('10.10.10.255', '10.10.10.0/24'), 'broadcast');
  assert.equal(reservedIpv4('10.10.10.1', '10.10.10.0/24'), undefined);
  assert.equal(reservedIpv4('10.10.10.0', '10.10.10.0/31'), undefined, 'RFC 3021: both /31 addresses are hosts');
  assert.equal(reservedIpv4('10.10.10.7', '10.10.10.7/32'), undefined);
  assert.equal(hostAddressProblem('10.10.10.3', ['10.10.10.0/24']), undefined);
  assert.equal(hostAddressProblem('10.10.10.255', ['10.10.10.0/24']), '10.10.10.255 is the broadcast address of 10.10.10.0/24; use a host address between them');
  assert.equal(hostAddressProblem('10.30.0.1', ['10.10.10.0/24', 'fd00::/64']), '10.30.0.1 is not inside the network\'s prefixes 10.10.10.0/24, fd00::/64');
  assert.equal(canonicalIp('FD00:0:0::0001'), 'fd00::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3');
});

void test('an endpoint lists each address once (IPv6 written differently counts as the same)', () => {
  assert.deepEqual(duplicateIps(['10.0.0.1', '10.0.0.2']), []);
  assert.deepEqual(duplicateIps(['10.0.0.1', '10.0.0.2', '10.0.0.1']), [{ index: 2, message: '10.0.0.1 is listed twice (also ips.0); list each address once' }]);
  assert.equal(duplicateIps(['fd00::1', 'fd00:0::0:1']).length, 1);
});
