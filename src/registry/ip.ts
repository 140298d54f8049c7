// Address arithmetic for validation: is an IP inside a CIDR, and the numeric order of IPv4
// addresses (RFC 7432 s.15 picks the lower VTEP IP on equal MAC-mobility sequence numbers).
import { isIP } from 'node:net';

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(ip: string): bigint {
  let s = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail?.[1]) {
    const n = v4ToBig(v4tail[1]);
    s = s.slice(0, -v4tail[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** True when `ip` lies inside `cidr` (same family required). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [base = '', lenS = ''] = cidr.split('/');
  const fam = isIP(ip);
  if (fam === 0 || fam !== isIP(base)) return false;
  const bits = fam === 4 ? 32n : 128n;
  const len = BigInt(Number(lenS));
  const toBig = fam === 4 ? v4ToBig : v6ToBig;
  const shift = bits - len;
  return toBig(ip) >> shift === toBig(base) >> shift;
}

/** Numeric IPv4 order: negative when a < b. */
export function compareIpv4(a: string, b: string): number {
  const x = v4ToBig(a);
  const y = v4ToBig(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
