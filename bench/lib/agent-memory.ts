// Memory of a running agent for B4: its resident set split the way /proc counts it (private anonymous
// memory vs file-backed pages, which for the agent are mostly lmdb's memory map: page cache the kernel
// can drop, not memory the agent allocated), and its V8 heap after a full GC, obtained without any
// code in the agent: SIGUSR1 opens Node's inspector on 127.0.0.1:9229 inside the host's namespace,
// a helper in that namespace (agent-memory-child.ts) asks it for a GC and process.memoryUsage(), then
// closes the inspector again.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..');

export interface ProcMemory {
  /** VmRSS: everything resident. */
  rss: number;
  /** RssAnon: private memory (heap, native allocations, stacks). */
  anon: number;
  /** RssFile: resident file-backed pages (lmdb's map, the node binary and libraries). */
  file: number;
  /** RssShmem */
  shmem: number;
}

/** /proc/<pid>/status memory lines in bytes, or null if the process is gone. */
export function procMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name} line`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

export interface HeapAfterGc {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** rss as the agent's own process.memoryUsage() saw it right after the GC. */
  rss: number;
}

/**
 * Forces a full GC in a Node process of a lab namespace through its inspector and returns
 * process.memoryUsage() after it. The inspector listens on the namespace's loopback only, and only
 * for the few seconds this takes.
 */
export async function heapAfterGcOf(ns: string, pid: number, timeoutMs = 120000): Promise<HeapAfterGc> {
  process.kill(pid, 'SIGUSR1');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'bench', 'lib', 'agent-memory-child.ts'), '9229'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`reading the agent's heap through its inspector failed (exit ${code}): ${err.trim().slice(0, 500)}`);
  return JSON.parse(out) as HeapAfterGc;
}
