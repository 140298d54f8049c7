// Real HTTP to a lab agent's REST API. The agents listen on their underlay addresses, which exist only
// inside the lab's namespaces, so the demo keeps one small Node process per host namespace that reads
// requests as JSON lines on stdin, performs them with fetch() and writes the replies as JSON lines:
// one process start per host instead of one per request (the polling loops make dozens).
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { DemoError } from './errors.js';

export interface HttpReply {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON, or undefined when empty. */
  body: unknown;
}

const RELAY_SCRIPT = `
import { createInterface } from 'node:readline';
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const q = JSON.parse(line);
  let out;
  try {
    const headers = { authorization: 'Bearer ' + q.token };
    if (q.body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(q.url, { method: q.method, headers, body: q.body === undefined ? undefined : JSON.stringify(q.body), signal: AbortSignal.timeout(q.timeoutMs) });
    out = { id: q.id, status: r.status, text: await r.text() };
  } catch (err) {
    out = { id: q.id, status: 0, text: '', error: String(err && err.cause ? err.cause : err) };
  }
  process.stdout.write(JSON.stringify(out) + '\\n');
}
`;

interface Pending {
  resolve: (r: HttpReply) => void;
  reject: (e: Error) => void;
}

export class ApiRelay {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf = '';
  private exited = false;

  private constructor(
    readonly ns: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stdout.on('data', (d: Buffer) => this.onData(d.toString()));
    child.stderr.on('data', () => undefined);
    child.once('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new DemoError(`the HTTP relay in namespace ${ns} exited (code ${code ?? 'signal'})`));
      this.pending.clear();
    });
  }

  /** Starts the relay inside namespace `ns`. */
  static start(ns: string): ApiRelay {
    // `ip netns exec` execs node, so the child's PID is the relay's own (stop() kills exactly it).
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', RELAY_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new ApiRelay(ns, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private onData(text: string): void {
    this.buf += text;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      const r = JSON.parse(line) as { id: number; status: number; text: string; error?: string };
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (r.error !== undefined) {
        p.resolve({ status: 0, body: r.error });
        continue;
      }
      let body: unknown = r.text === '' ? undefined : r.text;
      try {
        if (r.text) body = JSON.parse(r.text);
      } catch {
        // not JSON (e.g. /metrics): keep the text
      }
      p.resolve({ status: r.status, body });
    }
  }

  /** One request; status 0 means no HTTP answer at all (connection refused, timeout), body says why. */
  request(method: string, url: string, token: string, body?: unknown, timeoutMs = 20_000): Promise<HttpReply> {
    if (this.exited) return Promise.reject(new DemoError(`the HTTP relay in namespace ${this.ns} is not running`));
    const id = this.nextId++;
    return new Promise<HttpReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, method, url, token, body, timeoutMs })}\n`);
    });
  }

  stop(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
