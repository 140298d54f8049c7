// The result file's schema (bench/results/<date>.json) and the two renderings of it: the plain-text
// table printed while the suite runs and the markdown summary committed beside the JSON. A figure
// without a measured value carries the reason instead (a peer that cannot run here is reported as
// such, never replaced by a number).
import { z } from 'zod';
import { ratio, summarize, type Summary } from './stats.js';

export const SummarySchema = z.object({
  n: z.number().int().positive(),
  median: z.number(),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p99: z.number(),
});

export const SideSchema = z.object({
  /** Who produced the figure: "bumless" or the peer's name and version. */
  who: z.string().min(1),
  value: SummarySchema.nullable(),
  /** Why value is null (not run, failed, not installable). */
  reason: z.string().optional(),
});
export type Side = z.infer<typeof SideSchema>;

export const FigureSchema = z.object({
  bench: z.string().regex(/^B[1-9]$/),
  name: z.string().min(1),
  unit: z.string(),
  better: z.enum(['higher', 'lower']),
  ours: SideSchema,
  peer: SideSchema.nullable(),
  /** ours.median / peer.median. */
  ratio: z.number().nullable(),
  /** The issue's target in words, e.g. ">= 2.5x ovs-ofctl". */
  target: z.string().optional(),
  /** Whether the target is met, when it can be judged from this figure. */
  met: z.boolean().nullable().optional(),
  note: z.string().optional(),
});
export type Figure = z.infer<typeof FigureSchema>;

export const BenchResultSchema = z.object({
  id: z.string().regex(/^B[1-9]$/),
  title: z.string(),
  status: z.enum(['ok', 'failed', 'skipped']),
  error: z.string().optional(),
  seconds: z.number().nonnegative(),
  figures: z.array(FigureSchema),
  /** How it was measured: procedure details that matter to read the figures. */
  notes: z.array(z.string()),
});
export type BenchResult = z.infer<typeof BenchResultSchema>;

export const ResultFileSchema = z.object({
  version: z.literal(1),
  startedAt: z.string().datetime(),
  finishedAt: z.string().datetime(),
  mode: z.enum(['quick', 'full']),
  only: z.array(z.string()).optional(),
  machine: z.object({ cpus: z.number().int().positive(), loadavg: z.array(z.number()), node: z.string(), ovs: z.string(), kernel: z.string() }),
  results: z.array(BenchResultSchema),
});
export type ResultFile = z.infer<typeof ResultFileSchema>;

export const OURS = 'bumless';

/** A measured side, or an unmeasured one with its reason. */
export function side(who: string, samples: readonly number[] | null, reason?: string): Side {
  if (samples && samples.length > 0) return { who, value: summarize(samples) };
  return { who, value: null, reason: reason ?? 'not measured' };
}

export interface FigureInput {
  bench: string;
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  ours: Side;
  peer?: Side | null;
  target?: string;
  /** Judges the target from ours and the ratio; omitted = not judged. */
  meets?: (ours: Summary, r: number | null) => boolean;
  note?: string;
}

export function figure(f: FigureInput): Figure {
  const peer = f.peer ?? null;
  const r = ratio(f.ours.value?.median, peer?.value?.median);
  const met = f.meets && f.ours.value ? f.meets(f.ours.value, r) : f.meets ? null : undefined;
  return FigureSchema.parse({
    bench: f.bench,
    name: f.name,
    unit: f.unit,
    better: f.better,
    ours: f.ours,
    peer,
    ratio: r,
    ...(f.target !== undefined && { target: f.target }),
    ...(met !== undefined && { met }),
    ...(f.note !== undefined && { note: f.note }),
  });
}

/** A number with 3 significant digits and thousands separators, e.g. 12,300 or 0.0123. */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

/** "median (min–max)" or the median alone for a single sample; "—" with no value. */
export function fmtSummary(s: Summary | null): string {
  if (!s) return '—';
  if (s.n === 1 || s.min === s.max) return fmtNum(s.median);
  return `${fmtNum(s.median)} (${fmtNum(s.min)}–${fmtNum(s.max)})`;
}

export function fmtRatio(r: number | null): string {
  return r === null ? '—' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`;
}

const HEADERS = ['bench', 'figure', 'unit', 'bumless', 'peer', 'peer figure', 'ratio', 'target'] as const;

export function figureCells(f: Figure): string[] {
  const peerName = f.peer ? f.peer.who : '—';
  const peerValue = f.peer ? (f.peer.value ? fmtSummary(f.peer.value) : `not measured: ${f.peer.reason ?? 'no reason given'}`) : '—';
  const ours = f.ours.value ? fmtSummary(f.ours.value) : `not measured: ${f.ours.reason ?? 'no reason given'}`;
  const target = f.target ? `${f.target}${f.met === true ? ' ✓' : f.met === false ? ' ✗' : ''}` : '';
  return [f.bench, f.name, f.unit, ours, peerName, peerValue, fmtRatio(f.ratio), target];
}

/** Fixed-width text table (what the terminal shows). */
export function textTable(figures: readonly Figure[]): string {
  const rows = [HEADERS as readonly string[], ...figures.map(figureCells)];
  const widths = HEADERS.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: readonly string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(figures: readonly Figure[]): string {
  const rows = figures.map(figureCells);
  return [`| ${HEADERS.join(' | ')} |`, `| ${HEADERS.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}

/** The committed summary: the table, then per benchmark its status, notes and figure notes. */
export function markdownSummary(file: ResultFile): string {
  const all = file.results.flatMap((r) => r.figures);
  const out: string[] = [
    `# bumless benchmarks, ${file.startedAt.slice(0, 10)} (${file.mode})`,
    '',
    `Run ${file.startedAt} – ${file.finishedAt} on ${file.machine.cpus} CPUs (load average at start ${file.machine.loadavg.map((l) => l.toFixed(1)).join(' ')}), Node ${file.machine.node}, ${file.machine.ovs}, kernel ${file.machine.kernel}.`,
    'Figures are median (min–max) over repeated runs in the same process; ratio = bumless / peer (see "better" per row in the JSON).',
    '',
    markdownTable(all),
    '',
  ];
  for (const r of file.results) {
    out.push(`## ${r.id} ${r.title}: ${r.status}${r.error ? ` (${mdCell(r.error)})` : ''}, ${r.seconds.toFixed(0)} s`, '');
    for (const n of r.notes) out.push(`- ${n}`);
    for (const f of r.figures) if (f.note) out.push(`- ${f.name}: ${f.note}`);
    out.push('');
  }
  return out.join('\n');
}
