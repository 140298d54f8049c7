// Command-line options of `npm run bench`.
export const ALL_BENCHES = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'] as const;
/** Run order: B1 and B6 need only the lab and one agent; the peers come last. */
export const ORDER = ['B1', 'B6', 'B2', 'B4', 'B5', 'B3'] as const;

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  only: string[];
  keepLab: boolean;
  help: boolean;
}

export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

export const USAGE = `usage: npm run bench -- [--quick] [--only B1,B3] [--json] [--keep-lab]
  --quick     small sizes and fewer repetitions (under five minutes)
  --only      comma-separated benchmarks to run (${ALL_BENCHES.join(', ')})
  --json      print the result file as JSON on stdout (progress stays on stderr)
  --keep-lab  leave the lab "bench" up afterwards (it is removed by default)`;

export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { quick: false, json: false, only: [...ORDER], keepLab: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') out.quick = true;
    else if (a === '--json') out.json = true;
    else if (a === '--keep-lab') out.keepLab = true;
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new ArgsError('--only needs a list like B1,B3');
      const ids = v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
      const bad = ids.filter((x) => !(ALL_BENCHES as readonly string[]).includes(x));
      if (bad.length || ids.length === 0) throw new ArgsError(`--only ${v}: unknown benchmark ${bad.join(', ') || '(none)'}; use ${ALL_BENCHES.join(', ')}`);
      out.only = ORDER.filter((x) => ids.includes(x));
    } else throw new ArgsError(`unknown option ${a}\n${USAGE}`);
  }
  return out;
}
