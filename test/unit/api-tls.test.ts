// TLS when configured: the API serves HTTPS (TLS 1.2 or later) and the CLI trusts it with --ca.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { ApiClient, resolveConnection } from '../../src/cli/client.js';
import { ADMIN, runningApi } from '../support/api-fakes.js';

void test('HTTPS with the configured certificate; the CLI client verifies it against --ca and refuses without', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bumless-tls-'));
  const ctx: { close: () => Promise<void> } = { close: () => Promise.resolve() };
  try {
    const cert = join(dir, 'api.crt');
    const key = join(dir, 'api.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=bumless-api', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const { api } = await runningApi({ tls: { cert, key } });
    ctx.close = () => api.close();
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new ApiClient(resolveConnection({ api: api.url, token: ADMIN, ca: cert }, { HOME: dir }));
    const who = await client.request<{ role: string }>('GET', '/v1/whoami');
    assert.equal(who.body.role, 'admin');
    const untrusted = new ApiClient(resolveConnection({ api: api.url, token: ADMIN }, { HOME: dir }));
    await assert.rejects(untrusted.request('GET', '/v1/whoami'), /cannot reach the agent API.*(self-signed|certificate)/);
    // TLS 1.1 is refused.
    const old = await new Promise<string>((resolve) => {
      const req = request(`${api.url}/healthz`, { ca: cert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => resolve('connected'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end();
    });
    assert.notEqual(old, 'connected');
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
