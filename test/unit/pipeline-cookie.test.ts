// Cookie layout: marker, generation, VNI and kind must land in the documented bits.
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
