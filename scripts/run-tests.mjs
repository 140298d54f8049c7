#!/usr/bin/env node
// Runs every *.test.ts below the given folders with node's test runner (TypeScript through tsx).
// --serial runs one file at a time: integration tests share the machine's namespaces and CPU.
// Integration tests need root and Open vSwitch; without them this fails loudly instead of skipping,
// unless BUMLESS_SKIP_INTEGRATION=1 says so on purpose.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const serial = args.includes('--serial');
const roots = args.filter((a) => !a.startsWith('--'));
const filter = process.env.TEST_FILTER;

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts') && (!filter || path.includes(filter))) out.push(path);
  }
  return out;
}

const files = roots.flatMap((r) => collect(resolve(r), []));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}${filter ? ` matching ${filter}` : ''}`);
  process.exit(1);
}

if (roots.some((r) => r.includes('integration'))) {
  if (process.env.BUMLESS_SKIP_INTEGRATION === '1') {
    console.log(`SKIPPED ${files.length} integration test files (BUMLESS_SKIP_INTEGRATION=1)`);
    process.exit(0);
  }
  if (process.getuid?.() !== 0) {
    console.error('integration tests need root (they build network namespaces); run as root or set BUMLESS_SKIP_INTEGRATION=1');
    process.exit(1);
  }
}

const nodeArgs = ['--import', 'tsx', '--test', '--test-reporter=spec'];
if (serial) nodeArgs.push('--test-concurrency=1');
const result = spawnSync(process.execPath, [...nodeArgs, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
