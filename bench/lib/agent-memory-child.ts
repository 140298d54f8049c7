// Runs inside a lab host's namespace (bench/lib/agent-memory.ts): connects to the Node inspector the
// agent opened on SIGUSR1, forces full GCs, prints process.memoryUsage() as JSON and closes the
// inspector. Talks only to 127.0.0.1 of that namespace.
import WebSocket from 'ws';

const port = Number(process.argv[2] ?? 9229);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function debuggerUrl(): Promise<string> {
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/json/list`);
      const list = (await r.json()) as { webSocketDebuggerUrl?: string }[];
      const url = list[0]?.webSocketDebuggerUrl;
      if (url) return url;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port} 10 s after SIGUSR1`);
    await sleep(100);
  }
}

const ws = new WebSocket(await debuggerUrl());
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
let next = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
ws.on('message', (data: Buffer) => {
  const m = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
  if (m.id === undefined) return;
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.error) p?.reject(new Error(m.error.message));
  else p?.resolve(m.result);
});
const call = (method: string, params: object = {}): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
const evaluate = async (expression: string): Promise<unknown> => {
  const r = (await call('Runtime.evaluate', { expression, returnByValue: true, includeCommandLineAPI: true })) as { result: { value?: unknown }; exceptionDetails?: { text: string } };
  if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.text}`);
  return r.result.value;
};

// Several passes: finalizers and weak maps free more on the next one.
for (let i = 0; i < 3; i++) await call('HeapProfiler.collectGarbage');
const usage = await evaluate('JSON.stringify(process.memoryUsage())');
process.stdout.write(String(usage));
// Close the inspector again (the connection drops with it). `require` is the console's, so it is taken
// while the expression runs; the deferred call must never throw inside the agent.
await evaluate("(() => { const inspector = require('node:inspector'); setTimeout(() => { try { inspector.close(); } catch {} }, 0); return 'closing'; })()");
ws.terminate();
