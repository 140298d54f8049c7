// README.md's configuration reference is generated from the agent's zod schema (scripts/config-doc.ts);
// these tests keep the two equal and check that the generator refuses undocumented or vanished keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AgentConfig } from '../../src/config/schema.js';
import { README, configRows, configTable, readmeTable, withTable } from '../../scripts/config-doc.js';

void describe('configuration reference (scripts/config-doc.ts)', () => {
  void it('README.md carries exactly the table generated from src/config/schema.ts', () => {
    const actual = readmeTable(readFileSync(README, 'utf8'));
    assert.equal(actual, configTable(), 'README.md configuration table is stale: run npx tsx scripts/config-doc.ts --write');
  });

  void it('lists every leaf key of the schema once, with its default', () => {
    const rows = configRows(AgentConfig);
    const keys = rows.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length);
    for (const k of ['hostId', 'ovs.db', 'api.listen', 'mesh.peers', 'registry.duplicateMoves', 'registry.duplicateWindowMs', 'registry.tombstoneTtlMs', 'log.level']) {
      assert.ok(keys.includes(k), k);
    }
    // Defaults are the schema's: what a config without the key parses to.
    const parsed = AgentConfig.parse({ hostId: 'h1', vtepIp: '192.168.1.1', dataDir: '/tmp/x' });
    const row = (k: string) => rows.find((r) => r.key === k)!;
    assert.equal(row('registry.duplicateWindowMs').default, `\`${parsed.registry.duplicateWindowMs}\``);
    assert.equal(row('mesh.maxPayload').default, `\`${parsed.mesh.maxPayload}\``);
    assert.equal(row('hostId').default, '(required)');
    assert.equal(row('openflow.tls').default, '-');
    assert.match(row('log.level').meaning, /one of `fatal`, `error`, `warn`, `info`, `debug`, `trace`$/);
    assert.match(row('openflow.echoIntervalMs').meaning, /integer 100 to 60000$/);
  });

  void it('refuses a key without a description, and a note for a key the schema lacks', () => {
    const schema = z.object({
      a: z.number().int().min(1).default(2).describe('the a'),
      group: z.object({ b: z.string().optional() }).prefault({}),
    });
    assert.throws(() => configRows(schema, {}), /group\.b has no description: add \.describe/);
    assert.deepEqual(configRows(schema, { 'group.b': { text: 'the b' } }), [
      { key: 'a', default: '`2`', meaning: 'the a; integer ≥ 1' },
      { key: 'group.b', default: '-', meaning: 'the b' },
    ]);
    assert.throws(() => configRows(schema, { 'group.b': { text: 'the b' }, gone: { text: 'x' } }), /note for gone, which src\/config\/schema\.ts does not define/);
  });

  void it('replaces only the text between the markers', () => {
    const readme = readFileSync(README, 'utf8');
    const swapped = withTable(readme, '| new |');
    assert.equal(readmeTable(swapped), '| new |');
    assert.equal(withTable(swapped, configTable()), readme);
    assert.throws(() => readmeTable('# no table'), /no generated configuration table/);
  });
});
