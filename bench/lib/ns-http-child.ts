// Runs inside a lab host's network namespace (the agents' REST APIs listen on underlay addresses the
// bench process cannot reach): reads one JSON request per line on stdin, answers one JSON line per
// request on stdout. Started once, so a request costs no process start.
import { createInterface } from 'node:readline';

interface Req {
  id: number;
  method: string;
  url: string;
  token?: string;
  body?: unknown;
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: Req;
  try {
    req = JSON.parse(line) as Req;
  } catch {
    return;
  }
  const headers: Record<string, string> = {};
  if (req.token) headers.authorization = `Bearer ${req.token}`;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  fetch(req.url, { method: req.method, headers, ...(req.body !== undefined && { body: JSON.stringify(req.body) }), signal: AbortSignal.timeout(60000) })
    .then(async (r) => {
      const text = await r.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      process.stdout.write(`${JSON.stringify({ id: req.id, status: r.status, body })}\n`);
    })
    .catch((err: unknown) => process.stdout.write(`${JSON.stringify({ id: req.id, status: 0, body: String(err) })}\n`));
});
