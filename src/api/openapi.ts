// The OpenAPI 3.1 document, generated from the route list and its zod schemas (z.toJSONSchema), so it cannot
// drift from what the server validates. OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits.
import { z } from 'zod';
import type { RouteDef } from './route.js';
import { openApiPath } from './route.js';

function schema(s: z.ZodType): Record<string, unknown> {
  // "input": what a client sends or reads as plain JSON (before zod's transforms, e.g. lower-casing a MAC).
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function parameters(obj: z.ZodObject | undefined, where: 'path' | 'query'): Array<Record<string, unknown>> {
  if (!obj) return [];
  return Object.entries(obj.shape).map(([name, s]) => {
    const field = s as z.ZodType;
    return {
      name,
      in: where,
      required: where === 'path' || !field.safeParse(undefined).success,
      schema: schema(field),
    };
  });
}

export function openApiDocument(routes: RouteDef[], info: { title?: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: r.access === 'none' ? [] : [{ bearer: [] }],
    };
    const params = [...parameters(r.params, 'path'), ...parameters(r.query, 'query')];
    if (params.length) op.parameters = params;
    if (r.body) op.requestBody = { required: r.bodyRequired, content: { 'application/json': { schema: schema(r.body) } } };
    op.responses = Object.fromEntries(
      Object.entries(r.responses).map(([status, def]) => [
        status,
        {
          description: def.description,
          ...(def.schema || def.contentType
            ? { content: { [def.contentType ?? 'application/json']: def.schema ? { schema: schema(def.schema) } : { schema: { type: 'string' } } } }
            : {}),
        },
      ]),
    );
    (paths[openApiPath(r.path)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'bumless agent API',
      version: info.version,
      description: 'Tenants, networks and endpoints of a bumless overlay; switch status and flows. Send `Authorization: Bearer <token>`.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
