// Runs inside a lab namespace (the agents listen on underlay addresses the test process cannot reach):
// one JSON request per stdin line, one JSON answer per stdout line. Two operations:
//   http: a REST call to an agent;
//   ws:   a mesh client with the given TLS files that sends the given frames and reports how the
//         agent answered (handshake refusal, messages, close code and reason).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { nsHttp } from './ns-http.js';
import type { NsHttpRequest } from './ns-http.js';

interface HttpReq extends NsHttpRequest {
  id: number;
  op: 'http';
}

/** A frame to send: text as given, or `{ bytes: n }` for n bytes of filler text (oversized frames). */
export type Frame = string | { bytes: number };

interface WsReq {
  id: number;
  op: 'ws';
  url: string;
  ca: string;
  cert: string;
  key: string;
  frames: Frame[];
  /** Wait this long after the last frame for the agent to answer (default 4000 ms). */
  waitMs?: number;
}

export interface WsResult {
  opened: boolean;
  /** Transport or TLS error before or during the connection. */
  error?: string;
  received: string[];
  closeCode?: number;
  closeReason?: string;
}

function reply(id: number, payload: unknown): void {
  process.stdout.write(`${JSON.stringify({ id, ...(payload as object) })}\n`);
}

function doHttp(req: HttpReq): void {
  void nsHttp(req).then((res) => reply(req.id, res));
}

function doWs(req: WsReq): void {
  const out: WsResult = { opened: false, received: [] };
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    reply(req.id, { status: 200, body: out });
  };
  const opts: WebSocket.ClientOptions = {
    ca: readFileSync(req.ca),
    cert: readFileSync(req.cert),
    key: readFileSync(req.key),
    rejectUnauthorized: true,
    perMessageDeflate: false,
    handshakeTimeout: 5000,
  };
  // The agents' certificates name host ids, not the IPs we dial: the test checks the CA only (the
  // tls hook returns undefined for "accepted", which ws's typings do not describe).
  (opts as Record<string, unknown>).checkServerIdentity = () => undefined;
  const ws = new WebSocket(req.url, opts);
  const timer = setTimeout(() => {
    ws.terminate();
    finish();
  }, 10000 + (req.waitMs ?? 4000));
  ws.on('open', () => {
    out.opened = true;
    for (const f of req.frames) ws.send(typeof f === 'string' ? f : 'x'.repeat(f.bytes));
    setTimeout(() => {
      ws.close(1000);
      setTimeout(() => {
        ws.terminate();
        finish();
      }, 1000);
    }, req.waitMs ?? 4000);
  });
  ws.on('message', (data) => out.received.push(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')));
  ws.on('error', (err) => {
    out.error ??= err.message;
  });
  ws.on('close', (code, reason) => {
    out.closeCode ??= code;
    out.closeReason ??= reason.toString();
    finish();
  });
}

// The test process went away: nobody reads the answers any more.
process.stdout.on('error', () => process.exit(0));

createInterface({ input: process.stdin }).on('line', (line) => {
  let req: HttpReq | WsReq;
  try {
    req = JSON.parse(line) as HttpReq | WsReq;
  } catch {
    return;
  }
  if (req.op === 'ws') doWs(req);
  else doHttp(req);
});
