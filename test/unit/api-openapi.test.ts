// The OpenAPI document is generated, valid against the OpenAPI 3.1 schema, and lists exactly the routes fastify serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApi } from '../support/api-fakes.js';
import { openApiPath } from '../../src/api/route.js';
import { Validator } from '@seriousme/openapi-schema-validator';

interface Operation {
  operationId: string;
  security: unknown[];
  parameters?: Array<{ name: string; in: string; required: boolean; schema: object }>;
  requestBody?: { content: Record<string, { schema: { type?: string; properties?: Record<string, unknown> } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}

void test('every route fastify serves is in the document and vice versa, with valid structure', async () => {
  const { api } = testApi();
  const served: string[] = [];
  await api.app.ready();
  // Fastify's own route table, not our list: printRoutes is the server's view.
  const tree = api.app.printRoutes({ commonPrefix: false, includeMeta: false });
  const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    openapi: string;
    info: { title: string; version: string };
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  }>();
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.info.title && doc.info.version);
  for (const r of api.routes) {
    assert.ok(api.app.hasRoute({ method: r.method, url: r.path }), `fastify serves ${r.method} ${r.path}`);
    served.push(`${r.method.toLowerCase()} ${openApiPath(r.path)}`);
  }
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
  assert.deepEqual([...documented].sort(), [...served].sort());
  // And nothing is served that the route list does not know: count the leaves of fastify's tree.
  const methodsInTree = (tree.match(/\((GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)(, (GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS))*\)/g) ?? [])
    .flatMap((m) => m.slice(1, -1).split(', '));
  assert.equal(methodsInTree.length, served.length, tree);
  assert.ok(!methodsInTree.includes('HEAD'));

  const ids = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(['get', 'post', 'put', 'delete'].includes(method));
      assert.ok(op.operationId && !ids.has(op.operationId), `unique operationId ${op.operationId}`);
      ids.add(op.operationId);
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(pathParams.sort(), [...templated].sort(), `${method} ${path} declares its path parameters`);
      for (const p of op.parameters ?? []) {
        assert.ok(['path', 'query'].includes(p.in));
        if (p.in === 'path') assert.equal(p.required, true);
        assert.equal(typeof p.schema, 'object');
      }
      assert.ok(Object.keys(op.responses).length > 0);
      for (const [status, resp] of Object.entries(op.responses)) {
        assert.match(status, /^[1-5]\d\d$/);
        assert.ok(resp.description, `${method} ${path} ${status} has a description`);
      }
      for (const s of op.security) for (const name of Object.keys(s as object)) assert.ok(doc.components.securitySchemes[name]);
      assert.ok(!JSON.stringify(op).includes('"$schema"'), 'no per-schema $schema inside an OpenAPI 3.1 document');
    }
  }
  // Self-contained: every schema is inline (no $ref to resolve), and each one is a JSON object schema node.
  assert.ok(!JSON.stringify(doc).includes('"$ref"'));
  // Generated from the zod schemas: the endpoint body has the model's MAC pattern and field list.
  const post = doc.paths['/v1/endpoints']!.post!;
  const body = post.requestBody!.content['application/json']!.schema;
  assert.deepEqual(Object.keys(body.properties!).sort(), ['ips', 'mac', 'network', 'port']);
  assert.match(JSON.stringify(body.properties!.mac), /\[0-9a-fA-F\]\{2\}/);
  assert.deepEqual(Object.keys(post.responses).sort(), ['200', '201', '202', '400', '401', '403', '404', '409', '429']);
  assert.deepEqual(doc.paths['/healthz']!.get!.security, []);
});

void test('the generated document validates against the official OpenAPI 3.1 JSON schema', async () => {
  const { api } = testApi();
  const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<Record<string, unknown>>();
  const validator = new Validator();
  const r = await validator.validate(doc);
  assert.equal(validator.version, '3.1');
  assert.equal(r.valid, true, JSON.stringify(r.errors, null, 2)?.slice(0, 2000));
  // The validator must be able to fail: a document with an operation lacking its responses is invalid.
  const broken = structuredClone(doc) as { paths: Record<string, Record<string, Record<string, unknown>>> };
  delete broken.paths['/healthz']!.get!.responses;
  broken.paths['/healthz']!.get!.parameters = [{ name: 'x', in: 'nowhere' }];
  assert.equal((await new Validator().validate(broken)).valid, false);
});
