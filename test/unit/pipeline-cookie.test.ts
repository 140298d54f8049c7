// Cookie layout: marker, generation, VNI and kind must land in the documented bits; and the flow printer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CookieError,
  FlowKind,
  cookieGeneration,
  cookieKind,
  cookieVni,
  isOwnCookie,
  makeCookie,
  networkCookieFilter,
  withGeneration,
} from '../../src/pipeline/cookie.js';
import { formatFlow } from '../../src/pipeline/format.js';

void describe('cookies', () => {
  void it('place marker, VNI and kind in bits 63-48, 31-8 and 7-0', () => {
    assert.equal(makeCookie('unicast-remote', 10), 0xb1e5_0000_0000_0a08n);
    assert.equal(makeCookie('default-drop'), 0xb1e5_0000_0000_000cn);
    assert.equal(makeCookie('bum-drop', 0xffffff), 0xb1e5_0000_ffff_ff09n);
    assert.throws(() => makeCookie('bum-drop', 0x1000000), CookieError);
  });

  void it('set and read the generation without touching the rest', () => {
    const c = withGeneration(makeCookie('arp-responder', 11), 0xbeef);
    assert.equal(c, 0xb1e5_beef_0000_0b05n);
    assert.equal(cookieGeneration(c), 0xbeef);
    assert.equal(cookieVni(c), 11);
    assert.equal(cookieKind(c), 'arp-responder');
    assert.equal(cookieGeneration(withGeneration(c, 0)), 0);
    assert.throws(() => withGeneration(c, 0x10000), CookieError);
  });

  void it('tell our flows from foreign ones and filter per network as documented', () => {
    assert.equal(isOwnCookie(withGeneration(makeCookie('classify-local', 3), 7)), true);
    assert.equal(isOwnCookie(0n), false);
    assert.equal(cookieKind(0x1234_0000_0000_0001n), undefined);
    assert.deepEqual(networkCookieFilter(10), { cookie: 0xb1e5_0000_0000_0a00n, mask: 0xffff_0000_ffff_ff00n });
    const f = networkCookieFilter(10);
    assert.equal((withGeneration(makeCookie('bum-drop', 10), 5) & f.mask) === f.cookie, true);
    assert.equal((makeCookie('bum-drop', 11) & f.mask) === f.cookie, false);
  });

  void it('keeps kind values unique', () => {
    const values = Object.values(FlowKind);
    assert.equal(new Set(values).size, values.length);
  });
});

void describe('formatFlow', () => {
  void it('prints a flow as one ovs-ofctl-like line', () => {
    const line = formatFlow({
      tableId: 30,
      priority: 100,
      cookie: makeCookie('unicast-remote', 10),
      match: [
        { field: 'metadata', value: 10n, mask: 0x1ffffffn },
        { field: 'eth_dst', value: 'aa:aa:aa:aa:aa:02' },
      ],
      instructions: [
        {
          type: 'APPLY_ACTIONS',
          actions: [
            { type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.100.2' } },
            { type: 'SET_FIELD', field: { field: 'tunnel_id', value: 10n } },
            { type: 'OUTPUT', port: 1 },
          ],
        },
      ],
    });
    assert.equal(
      line,
      'cookie=0xb1e5000000000a08, table=30, priority=100,eth_dst=aa:aa:aa:aa:aa:02,metadata=0xa/0x1ffffff actions=set_field:192.168.100.2->tun_dst,set_field:0xa->tun_id,output:1',
    );
    assert.match(formatFlow({ tableId: 0, priority: 5, cookie: 0n, match: [{ field: 'eth_type', value: 0x0806 }], instructions: [] }), /eth_type=0x0806 actions=drop$/);
  });

  void it('shows a set_field of a raw field (one the codec does not name) with its bytes and target', () => {
    const pktMark = { field: 'raw' as const, oxmClass: 1, oxmField: 33, hasMask: false, payload: new Uint8Array([0, 0, 0, 5]) };
    const line = formatFlow({ tableId: 3, priority: 7, cookie: 0n, match: [], instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: pktMark }] }] });
    assert.match(line, / actions=set_field:0x00000005->raw\(1:33\)$/);
  });
});
