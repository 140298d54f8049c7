// The README's examples run as written against the built package (imported as 'node-openflow'),
// except the one that needs a live switch socket.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from './support.js';

const readme = readFileSync(join(repoRoot, 'openflow/README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const built = existsSync(join(repoRoot, 'openflow/dist/index.js'));

void describe('README examples', { skip: built ? false : 'openflow/dist is not built: run npm run build -w node-openflow' }, () => {
  // Under openflow/ so that 'node-openflow' resolves through the workspace link, as for a user.
  const dir = mkdtempSync(join(repoRoot, 'openflow/.readme-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('has examples of decode, encode, the framer, multipart, JSON and errors', () => {
    for (const word of ['decode(', 'flowMod(', 'new OFFramer', 'MultipartAssembler', 'toJSON', 'OFDecodeError']) {
      assert.ok(blocks.some((b) => b.includes(word)), `no example uses ${word}`);
    }
  });

  blocks.forEach((code, i) => {
    const live = code.includes('node:net');
    void it(`example ${i + 1} runs${live ? ' (needs a switch: skipped)' : ''}`, { skip: live }, () => {
      const file = join(dir, `example-${i + 1}.ts`);
      writeFileSync(file, code);
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${code}\n${r.stderr}`);
      if (code.includes('console.log(again.equals(bytes))')) assert.equal(r.stdout.trim(), 'true');
    });
  });
});
