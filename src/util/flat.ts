// V8 keeps a string built by concatenation as a tree of its pieces until something flattens it. A
// string held for long (a map key, a cached identity) takes about a third less as one flat copy
// (bench B4: two such keys per flow, 200,000 flows). The copy goes through latin1, so it is only
// taken when the text round-trips unchanged, as ASCII keys always do.
export function flatString(s: string): string {
  const t = Buffer.from(s, 'latin1').toString('latin1');
  return t === s ? t : s;
}
