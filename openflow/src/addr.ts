// Canonical text forms of addresses (issue #2 "Values"): MAC lower-case colon form, IPv4 dotted
// quad, IPv6 RFC 5952 (lower-case, longest run of two or more zero groups shortened to "::").
import { OFEncodeError } from './errors.js';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export function formatMac(b: Uint8Array, o: number): string {
  return `${HEX[b[o]!]}:${HEX[b[o + 1]!]}:${HEX[b[o + 2]!]}:${HEX[b[o + 3]!]}:${HEX[b[o + 4]!]}:${HEX[b[o + 5]!]}`;
}

export function formatIpv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

export function formatIpv6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  // RFC 5952 4.2: shorten the longest run (first one on a tie) of at least two zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated, either case) into out[o..o+6). Char-code loop: hot on encode. */
export function parseMac(s: string, out: Uint8Array, o: number): void {
  if (typeof s !== 'string' || s.length !== 17) throw new OFEncodeError('OF_BAD_VALUE', `not a MAC address: ${String(s)}`);
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexDigit(s.charCodeAt(p));
    const lo = hexDigit(s.charCodeAt(p + 1));
    const sep = i < 5 ? s.charCodeAt(p + 2) : 58;
    if (hi < 0 || lo < 0 || (sep !== 58 && sep !== 45)) throw new OFEncodeError('OF_BAD_VALUE', `not a MAC address: ${s}`);
    out[o + i] = (hi << 4) | lo;
  }
}

/** Parses a dotted quad into out[o..o+4). */
export function parseIpv4(s: string, out: Uint8Array, o: number): void {
  if (typeof s !== 'string' || s.length < 7 || s.length > 15) throw new OFEncodeError('OF_BAD_VALUE', `not an IPv4 address: ${String(s)}`);
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || v > 255 || part > 3) throw new OFEncodeError('OF_BAD_VALUE', `not an IPv4 address: ${s}`);
      out[o + part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      throw new OFEncodeError('OF_BAD_VALUE', `not an IPv4 address: ${s}`);
    }
  }
  if (part !== 4) throw new OFEncodeError('OF_BAD_VALUE', `not an IPv4 address: ${s}`);
}

export function parseIpv6(s: string, out: Uint8Array, o: number): void {
  const bad = (): never => {
    throw new OFEncodeError('OF_BAD_VALUE', `not an IPv6 address: ${String(s)}`);
  };
  if (typeof s !== 'string') bad();
  let text = s;
  const tail: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const q = new Uint8Array(4);
    parseIpv4(v4[1]!, q, 0);
    tail.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
    text = text.slice(0, -v4[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const groups = (h: string): number[] =>
    h === '' ? [] : h.split(':').map((x) => (/^[0-9a-fA-F]{1,4}$/.test(x) ? parseInt(x, 16) : bad()));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  rest.push(...tail);
  if (halves.length === 1) head.push(...rest.splice(0));
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) bad();
  const all = [...head, ...new Array<number>(fill).fill(0), ...rest];
  for (let i = 0; i < 8; i++) {
    out[o + 2 * i] = all[i]! >>> 8;
    out[o + 2 * i + 1] = all[i]! & 0xff;
  }
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

export function fromHex(s: string): Buffer {
  if (typeof s !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new OFEncodeError('OF_BAD_VALUE', 'not an even-length hex string');
  return Buffer.from(s, 'hex');
}
