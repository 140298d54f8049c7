// A route as data: method, path, who may call it, zod schemas for its inputs and outputs, and a handler.
// The server registers these with fastify and the OpenAPI document is generated from the same list.
import type { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** none: no token; any: any valid token; admin: the admin token (tenant tokens get 403). */
export type Access = 'none' | 'any' | 'admin';

export interface ResponseDef {
  description: string;
  schema?: z.ZodType;
  /** default application/json */
  contentType?: string;
}

export interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface Ctx<P, Q, B> {
  principal: Principal | undefined;
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
  reply: FastifyReply;
  /** When the request arrived (ms, the API's clock). */
  startedAt: number;
}

export interface RouteDef {
  method: Method;
  /** fastify syntax: /v1/networks/:tenant/:network */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyRequired: boolean;
  responses: Record<number, ResponseDef>;
  handler: (ctx: Ctx<unknown, unknown, unknown>) => Promise<Result>;
}

export function route<P extends z.ZodObject = z.ZodObject, Q extends z.ZodObject = z.ZodObject, B extends z.ZodType = z.ZodUndefined>(def: {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** default true when a body schema is given */
  bodyRequired?: boolean;
  responses: Record<number, ResponseDef>;
  handler: (ctx: Ctx<z.output<P>, z.output<Q>, z.output<B>>) => Promise<Result>;
}): RouteDef {
  return {
    ...def,
    bodyRequired: def.body ? def.bodyRequired ?? true : false,
    handler: def.handler as unknown as RouteDef['handler'],
  };
}

export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
