// `npm run fuzz -w node-openflow [-- --inputs N --seed S --from I --seconds T --json]`:
// decodes N generated and mutated inputs (default 10 million) and reports crashes, hangs and memory.
// Crashing and hanging inputs are saved to fuzz/crashes/ (or --out DIR) with a replay command.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runFuzz } from './runner.js';

const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '10000000' },
    seed: { type: 'string' },
    from: { type: 'string', default: '0' },
    seconds: { type: 'string' },
    'hang-ms': { type: 'string', default: '2000' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run fuzz -w node-openflow -- [--inputs N] [--seed S] [--from I] [--seconds T] [--hang-ms MS] [--out DIR] [--json]');
  process.exit(0);
}
const int = (name: string, v: string): number => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: --${name} ${v}: expected a non-negative integer`);
    process.exit(2);
  }
  return n;
};
const seed = values.seed !== undefined ? int('seed', values.seed) : (Date.now() ^ (process.pid << 8)) >>> 0;
const inputs = int('inputs', values.inputs);
const crashDir = values.out ?? join(dirname(fileURLToPath(import.meta.url)), 'crashes');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

console.error(`fuzz: seed ${seed}, ${fmt(inputs)} inputs from index ${values.from}${values.seconds ? `, at most ${values.seconds} s` : ''}; findings go to ${crashDir}`);
const summary = await runFuzz({
  seed, inputs, from: int('from', values.from), seconds: values.seconds ? Number(values.seconds) : undefined,
  hangMs: int('hang-ms', values['hang-ms']), crashDir,
  onProgress: (p) => {
    console.error(`fuzz: ${fmt(p.done)} / ${fmt(p.total)} (${((100 * p.done) / p.total).toFixed(1)}%), ${fmt(p.rate)} inputs/s, ` +
      `crashes ${p.crashes}, hangs ${p.hangs}, rss ${p.rssMb} MB, ${p.elapsed.toFixed(0)} s`);
  },
});

if (values.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const codes = Object.entries(summary.errorCodes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
  console.log([
    `inputs      ${fmt(summary.inputs)} in ${summary.seconds.toFixed(1)} s (${fmt(summary.rate)} inputs/s), seed ${summary.seed}`,
    `decoded     ${fmt(summary.decoded)} (each re-encoded, re-decoded and re-encoded to the same bytes)`,
    `rejected    ${fmt(summary.rejected)} with OFDecodeError: ${codes}`,
    `crashes     ${summary.crashes}`,
    `hangs       ${summary.hangs}`,
    `slow        ${summary.slow} (over 100 ms, listed below; not failures)`,
    `memory      rss ${summary.rssStartMb} MB at start, ${summary.rssPeakMb} MB peak, ${summary.rssEndMb} MB at end (getrusage max ${summary.maxRssMb} MB)`,
  ].join('\n'));
  const shown = [...summary.findings.filter((f) => f.kind !== 'slow').slice(0, 20), ...summary.findings.filter((f) => f.kind === 'slow').slice(0, 5)];
  for (const f of shown) {
    console.log(`\n${f.kind} at input ${f.index}: ${f.reason}${f.file ? ` (saved: ${f.file})` : ''}\n${f.detail}`);
  }
}
process.exitCode = summary.crashes + summary.hangs > 0 ? 1 : 0;
