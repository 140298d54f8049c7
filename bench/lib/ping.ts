// A ping running in a lab container's namespace, parsed when stopped: transmitted, received, and the
// timestamp (-D, epoch seconds) of every reply, which gives the gap in forwarding around an event.
import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from './sys.js';

export interface PingResult {
  transmitted: number;
  received: number;
  lost: number;
  /** Reply timestamps in epoch milliseconds. */
  replies: number[];
  rttMs: number[];
}

/** Parses `ping -D` output (iputils). */
export function parsePing(text: string): PingResult {
  const replies: number[] = [];
  const rttMs: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[(\d+\.\d+)\] \d+ bytes from .* time=([\d.]+) ms/.exec(line);
    if (m) {
      replies.push(Number(m[1]) * 1000);
      rttMs.push(Number(m[2]));
    }
  }
  const s = /(\d+) packets transmitted, (\d+) received/.exec(text);
  const transmitted = s ? Number(s[1]) : replies.length;
  const received = s ? Number(s[2]) : replies.length;
  return { transmitted, received, lost: transmitted - received, replies, rttMs };
}

export class Ping {
  #child: ChildProcess;
  #out = '';
  #done: Promise<void>;

  constructor(ns: string, dest: string, intervalS = 0.01) {
    this.#child = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(intervalS), '-W', '1', dest], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout!.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.#done = new Promise((r) => this.#child.on('exit', () => r()));
  }

  /** SIGINT makes ping print its statistics. */
  async stop(): Promise<PingResult> {
    if (this.#child.exitCode === null) this.#child.kill('SIGINT');
    await Promise.race([this.#done, sleep(5000)]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
    return parsePing(this.#out);
  }
}

/** The first reply at or after t (epoch ms), or null. */
export function firstReplyAfter(r: PingResult, t: number): number | null {
  for (const x of r.replies) if (x >= t) return x;
  return null;
}
