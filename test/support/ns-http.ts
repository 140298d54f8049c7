// The REST call both namespace children (test/support/mesh-ns-child.ts, bench/lib/ns-http-child.ts)
// make on behalf of a process outside the namespace: one request in, one `{ status, body }` out.

export interface NsHttpRequest {
  method: string;
  url: string;
  token?: string;
  body?: unknown;
}

/** Status 0 with the error text as body: the request never got an HTTP answer. */
export interface NsHttpResult {
  status: number;
  body: unknown;
}

/** Performs `req`; the body of the answer is parsed JSON when it is JSON, the raw text otherwise. */
export async function nsHttp(req: NsHttpRequest): Promise<NsHttpResult> {
  const headers: Record<string, string> = {};
  if (req.token) headers.authorization = `Bearer ${req.token}`;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const r = await fetch(req.url, { method: req.method, headers, ...(req.body !== undefined && { body: JSON.stringify(req.body) }), signal: AbortSignal.timeout(60000) });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, body };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}
