// Flow cookies: who owns a flow, which reconcile generation wrote it, which network it serves and
// what kind of flow it is, so operators can filter with ovs-ofctl and the status can add up
// counters per network and kind without parsing matches.
//
//   bits 63-48  0xb1e5 marker: bumless owns this flow (anything else on br-int is not ours)
//   bits 47-32  generation (the reconciler's; the pipeline always emits 0)
//   bits 31-8   VNI (0 for flows that do not belong to one network)
//   bits  7-0   flow kind (FlowKind)
//
// Example: every flow of VNI 10 is `cookie=0xb1e5000000000a00/0xffff0000ffffff00`, its BUM drops
// `cookie=0xb1e5000000000a09/0xffff0000ffffffff`.

export const COOKIE_MARKER = 0xb1e5n;
export const COOKIE_MARKER_MASK = 0xffff000000000000n;
export const COOKIE_GENERATION_MASK = 0x0000ffff00000000n;
export const COOKIE_VNI_MASK = 0x00000000ffffff00n;
export const COOKIE_KIND_MASK = 0x00000000000000ffn;

/** Flow kinds (cookie bits 7-0). Values are part of the on-switch format: never renumber. */
export const FlowKind = {
  'classify-local': 0x01,
  'classify-tunnel': 0x02,
  'port-security': 0x03,
  'port-security-drop': 0x04,
  'arp-responder': 0x05,
  'arp-own-probe-drop': 0x06,
  'unicast-local': 0x07,
  'unicast-remote': 0x08,
  'bum-drop': 0x09,
  'unknown-unicast-drop': 0x0a,
  'split-horizon-drop': 0x0b,
  'default-drop': 0x0c,
  'arp-pass': 0x0d,
} as const;
export type FlowKindName = keyof typeof FlowKind;

const KIND_BY_VALUE = new Map<number, FlowKindName>(Object.entries(FlowKind).map(([k, v]) => [v, k as FlowKindName]));

export class CookieError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CookieError';
  }
}

/** The cookie for a flow of `kind` in network `vni` (0 = not per network), generation 0. */
export function makeCookie(kind: FlowKindName, vni = 0): bigint {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new CookieError(`VNI ${vni} is outside 0..16777215`);
  return (COOKIE_MARKER << 48n) | (BigInt(vni) << 8n) | BigInt(FlowKind[kind]);
}

/** True when the cookie carries the bumless marker, whatever its generation. */
export function isOwnCookie(cookie: bigint): boolean {
  return (cookie & COOKIE_MARKER_MASK) === COOKIE_MARKER << 48n;
}

export function cookieGeneration(cookie: bigint): number {
  return Number((cookie & COOKIE_GENERATION_MASK) >> 32n);
}

/** The same cookie with its generation replaced (generations wrap at 16 bits). */
export function withGeneration(cookie: bigint, generation: number): bigint {
  if (!Number.isInteger(generation) || generation < 0 || generation > 0xffff) {
    throw new CookieError(`generation ${generation} is outside 0..65535`);
  }
  return (cookie & ~COOKIE_GENERATION_MASK) | (BigInt(generation) << 32n);
}

export function cookieVni(cookie: bigint): number {
  return Number((cookie & COOKIE_VNI_MASK) >> 8n);
}

/** The flow kind, or undefined for a foreign cookie or an unknown kind value. */
export function cookieKind(cookie: bigint): FlowKindName | undefined {
  if (!isOwnCookie(cookie)) return undefined;
  return KIND_BY_VALUE.get(Number(cookie & COOKIE_KIND_MASK));
}

/** Kinds whose packet counters are BUM frames the pipeline refused to flood. */
export const BUM_DROP_KINDS: readonly FlowKindName[] = ['bum-drop', 'unknown-unicast-drop'];

/** Cookie value and mask selecting every bumless flow of one network, any generation. */
export function networkCookieFilter(vni: number): { cookie: bigint; mask: bigint } {
  return { cookie: makeCookie('default-drop', vni) & ~COOKIE_KIND_MASK, mask: COOKIE_MARKER_MASK | COOKIE_VNI_MASK };
}
