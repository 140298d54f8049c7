// Where the CLI finds the API and its token: flags, then environment, then the config file, then defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_API, resolveConnection, table } from '../../src/cli/client.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bumless-clicfg-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('defaults without flags, environment or config file', () => {
  withDir((home) => {
    const c = resolveConnection({}, { HOME: home });
    assert.equal(c.api.href, `${DEFAULT_API}/`);
    assert.equal(c.token, undefined);
  });
});

void test('precedence: flag over environment over ~/.config/bumless/cli.json', () => {
  withDir((home) => {
    mkdirSync(join(home, '.config', 'bumless'), { recursive: true });
    writeFileSync(join(home, '.config', 'bumless', 'cli.json'), JSON.stringify({ api: 'http://10.0.0.1:1', token: 'file-token' }), { mode: 0o600 });
    assert.deepEqual(
      (({ api, token }) => [api.href, token])(resolveConnection({}, { HOME: home })),
      ['http://10.0.0.1:1/', 'file-token'],
    );
    const env = { HOME: home, BUMLESS_API: 'http://10.0.0.2:2', BUMLESS_TOKEN: 'env-token' };
    assert.deepEqual((({ api, token }) => [api.href, token])(resolveConnection({}, env)), ['http://10.0.0.2:2/', 'env-token']);
    assert.deepEqual(
      (({ api, token }) => [api.href, token])(resolveConnection({ api: 'https://10.0.0.3:3', token: 'flag-token' }, env)),
      ['https://10.0.0.3:3/', 'flag-token'],
    );
  });
});

void test('--token-file and --cli-config; bad files are usage errors that name the file', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'admin-token'), 'bl.admin.secret\n');
    assert.equal(resolveConnection({ 'token-file': join(dir, 'admin-token') }, { HOME: dir }).token, 'bl.admin.secret');
    writeFileSync(join(dir, 'cli.json'), JSON.stringify({ api: 'http://127.0.0.1:9', tokenFile: join(dir, 'admin-token') }));
    const c = resolveConnection({ 'cli-config': join(dir, 'cli.json') }, { HOME: dir });
    assert.deepEqual([c.api.port, c.token], ['9', 'bl.admin.secret']);
    assert.throws(() => resolveConnection({ 'cli-config': join(dir, 'nope.json') }, { HOME: dir }), /cannot read the CLI config .*nope\.json/);
    writeFileSync(join(dir, 'bad.json'), '{api:');
    assert.throws(() => resolveConnection({ 'cli-config': join(dir, 'bad.json') }, { HOME: dir }), /not valid JSON.*write e\.g\./);
    writeFileSync(join(dir, 'extra.json'), JSON.stringify({ url: 'x' }));
    assert.throws(() => resolveConnection({ 'cli-config': join(dir, 'extra.json') }, { HOME: dir }), /unknown key "url"; allowed: api, token, tokenFile, ca/);
    assert.throws(() => resolveConnection({ 'token-file': join(dir, 'missing') }, { HOME: dir }), /cannot read the token file/);
    assert.throws(() => resolveConnection({ api: 'ftp://x' }, { HOME: dir }), /http:\/\/ or https:\/\//);
    assert.throws(() => resolveConnection({ api: 'nonsense' }, { HOME: dir }), /not a URL/);
  });
});

void test('a config file with a token that others can read gets a warning naming the fix', () => {
  withDir((dir) => {
    const file = join(dir, 'cli.json');
    writeFileSync(file, JSON.stringify({ token: 't' }));
    chmodSync(file, 0o644);
    const errors: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.map(String).join(' '));
    try {
      assert.equal(resolveConnection({ 'cli-config': file }, { HOME: dir }).token, 't');
      chmodSync(file, 0o600);
      resolveConnection({ 'cli-config': file }, { HOME: dir });
    } finally {
      console.error = error;
    }
    assert.deepEqual(errors, [`warning: ${file} holds a token and other users can read it; run: chmod 600 ${file}`]);
  });
});

void test('table aligns columns and does not pad the last one', () => {
  assert.equal(table(['A', 'LONGER'], [['xx', 'y'], ['z', '']]), 'A   LONGER\nxx  y\nz');
});
