// `npm run bench`: runs the benchmarks against their peers on one shared lab, prints each figure as it
// is measured and the whole table at the end, and writes bench/results/<date>.json and <date>.md.
// bench/README.md describes every procedure.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/index.js';
import { ArgsError, USAGE, parseArgs } from './lib/args.js';
import type { Bench, BenchContext } from './lib/context.js';
import { markdownSummary, ResultFileSchema, textTable, figureCells, type BenchResult, type Figure, type ResultFile } from './lib/report.js';
import { ovsVersion } from './lib/sys.js';
import { ovnDown } from './lib/ovn.js';
import { b1 } from './b1-flows.js';
import { b2 } from './b2-convergence.js';
import { b3 } from './b3-sync.js';
import { b4 } from './b4-memory.js';
import { b5 } from './b5-dataplane.js';
import { b6 } from './b6-restart.js';

const BENCHES: Record<string, Bench> = { B1: b1, B2: b2, B3: b3, B4: b4, B5: b5, B6: b6 };
const LAB = 'bench';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run bench needs root: it builds a lab of network namespaces with Open vSwitch (run it with sudo)\n');
    return 1;
  }
  const t0 = Date.now();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const startedAt = new Date().toISOString();
  const tmpDir = mkdtempSync('/tmp/bumless-bench-');
  let lab: Lab | undefined;
  const getLab = async () => {
    if (!lab) {
      log(`building lab "${LAB}" (3 hosts)`);
      await Lab.down(LAB);
      lab = await Lab.up({ lab: LAB, hosts: 3, progress: (l) => log(l) });
    }
    return lab;
  };
  const results: BenchResult[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log('interrupted: finishing the current step, then tearing down');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const id of args.only) {
      if (interrupted) break;
      const bench = BENCHES[id]!;
      const figures: Figure[] = [];
      const notes: string[] = [];
      const deferred: { what: string; fn: () => Promise<void> | void }[] = [];
      const ctx: BenchContext = {
        quick: args.quick,
        log,
        lab: getLab,
        tmpDir,
        defer: (what, fn) => deferred.push({ what, fn }),
        report: (f) => {
          figures.push(f);
          log(`${f.bench} ${figureCells(f).slice(1).join(' | ')}`);
        },
        note: (n) => notes.push(n),
      };
      log(`${id} ${bench.title}: start`);
      const b0 = Date.now();
      let status: BenchResult['status'] = 'ok';
      let error: string | undefined;
      try {
        await bench.run(ctx);
      } catch (err) {
        status = 'failed';
        error = err instanceof Error ? err.message : String(err);
        log(`${id} failed: ${error}`);
      } finally {
        for (const d of deferred.reverse()) {
          try {
            await d.fn();
          } catch (err) {
            log(`${id} teardown "${d.what}" failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      results.push({ id, title: bench.title, status, ...(error !== undefined && { error }), seconds: (Date.now() - b0) / 1000, figures, notes });
      log(`${id} ${status} in ${((Date.now() - b0) / 1000).toFixed(0)} s`);
    }
  } finally {
    try {
      await ovnDown();
    } catch (err) {
      log(`OVN lab teardown failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (lab && !args.keepLab) {
      log(`removing lab "${LAB}"`);
      try {
        await Lab.down(LAB);
      } catch (err) {
        log(`lab teardown failed: ${err instanceof Error ? err.message : String(err)}; run \`bumless lab down --lab ${LAB}\``);
      }
    }
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const file: ResultFile = ResultFileSchema.parse({
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    ...(args.only.length !== 6 && { only: args.only }),
    machine: { cpus: cpus().length, loadavg: loadavg(), node: process.version, ovs: ovsVersion(), kernel: release() },
    results,
  });
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
  const base = join(dir, `${stamp}${args.quick ? '-quick' : ''}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(file, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownSummary(file));
  log(`wrote ${base}.json and ${base}.md`);
  if (args.json) process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
  else process.stdout.write(`\n${textTable(results.flatMap((r) => r.figures))}\n\n${results.map((r) => `${r.id} ${r.status}${r.error ? `: ${r.error}` : ''}`).join('\n')}\n`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

process.exitCode = await main();
