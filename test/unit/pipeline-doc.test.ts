// docs/pipeline.md must describe the tables as installed: its host-1 listing is the pipeline's output,
// and every table and flow family of tables.ts appears in it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { desiredFlows, formatFlow, FlowKind, TABLES } from '../../src/pipeline/index.js';
import { classicInput } from './pipeline-fixtures.js';

const doc = readFileSync(new URL('../../docs/pipeline.md', import.meta.url), 'utf8');

void describe('docs/pipeline.md', () => {
  void it('lists exactly the flows the pipeline computes for classic-demo host-1', () => {
    const listed = doc.split('\n').filter((l) => l.startsWith('cookie=0x'));
    assert.deepEqual(listed, desiredFlows(classicInput(1)).map(formatFlow));
  });

  void it('documents every table, priority and flow kind', () => {
    for (const t of TABLES) {
      assert.match(doc, new RegExp(`^## Table ${t.id} — ${t.name}$`, 'm'));
      for (const f of t.families) assert.ok(doc.includes(`| ${f.priority} |`) && doc.includes(`\`${f.kind}\``), `${t.id}/${f.priority}/${f.kind}`);
    }
    for (const [kind, value] of Object.entries(FlowKind)) assert.ok(doc.includes(`| \`${kind}\` | 0x${value.toString(16).padStart(2, '0')} |`), kind);
  });
});
