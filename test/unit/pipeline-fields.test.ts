// Field codec and canonical match text: flow identity depends on these being exact.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldError, fromBits, matchText, oxmFromBits, toBits, unmetPrerequisite, pinnedFields } from '../../src/pipeline/fields.js';

void describe('field codec', () => {
  void it('round-trips IPv6 in RFC 5952 form, including embedded IPv4 and compressed runs', () => {
    const cases: [string, string][] = [
      ['fd00::1', 'fd00::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::ffff:10.1.2.3', '::ffff:a01:203'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ];
    for (const [input, canonical] of cases) assert.equal(fromBits('ipv6_src', toBits('ipv6_src', input)), canonical, input);
    assert.equal(toBits('ipv6_dst', 'ff02::1'), 0xff020000000000000000000000000001n);
  });

  void it('converts MACs, IPv4 and ports, and rejects what does not fit', () => {
    assert.equal(toBits('eth_src', 'AA:aa:00:00:00:01'), 0xaaaa00000001n);
    assert.equal(fromBits('eth_dst', 0x010000000000n), '01:00:00:00:00:00');
    assert.equal(toBits('arp_tpa', '10.10.10.3'), 0x0a0a0a03n);
    assert.equal(toBits('in_port', 'IN_PORT'), 0xfffffff8n);
    assert.throws(() => toBits('vlan_vid', 0x2000), FieldError);
    assert.throws(() => toBits('ipv4_src', 'fd00::1'), FieldError);
    assert.throws(() => toBits('metadata', 1 as unknown as bigint), FieldError);
  });

  void it('writes matches canonically: order, all-ones masks and bits outside the mask do not matter', () => {
    const a = matchText([
      { field: 'metadata', value: 0xan, mask: 0xffffffn },
      { field: 'eth_dst', value: 'AA:00:00:00:00:01' },
    ]);
    const b = matchText([
      { field: 'eth_dst', value: 'aa:00:00:00:00:01', mask: 'ff:ff:ff:ff:ff:ff' },
      { field: 'metadata', value: 0x5000000an, mask: 0xffffffn },
    ]);
    assert.equal(a, b);
    assert.equal(a, 'eth_dst=aa:00:00:00:00:01,metadata=0xa/0xffffff');
    assert.equal(matchText([{ field: 'tunnel_id', value: 0n, mask: 0n }, { field: 'in_port', value: 'LOCAL' }]), 'in_port=4294967294');
    assert.deepEqual(oxmFromBits('ipv4_src', 0x0a0a0a01n, 0xffffffffn), { field: 'ipv4_src', value: '10.10.10.1' });
  });

  void it('knows prerequisites, transitively', () => {
    const arp = pinnedFields([{ field: 'eth_type', value: 0x0806 }]);
    assert.equal(unmetPrerequisite('arp_spa', arp), undefined);
    assert.match(unmetPrerequisite('ipv4_src', arp) ?? '', /eth_type=0x800/);
    const icmp6NoEth = pinnedFields([{ field: 'ip_proto', value: 58 }]);
    assert.match(unmetPrerequisite('icmpv6_type', icmp6NoEth) ?? '', /ip_proto/);
    const icmp6 = pinnedFields([{ field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }]);
    assert.equal(unmetPrerequisite('icmpv6_type', icmp6), undefined);
  });
});
