// The agent's northbound REST API: fastify (logging through pino), inputs validated with the registry's zod
// schemas, bearer tokens, per-token rate limits, OpenAPI generated from the same route list.
//
// Request path: onRequest authenticates (before the body is even read) and rate-limits; the handler
// validates params, query and body with zod and calls the route; every error leaves through one handler
// that turns it into { error: { code, message, details } } with a status that never blames the server for
// a client's bytes.
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyHttpsOptions, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { Clock, Principal, RateLimit } from './auth.js';
import { RateLimiter, TokenAuthority, systemClock } from './auth.js';
import { ApiError, fromPortError, validationError } from './errors.js';
import { ApiMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { FlowsPort, MeshPort, RegistryPort, StatusPort, TokenStore, TracePort } from './ports.js';
import type { RouteDef } from './route.js';
import type { Quota } from './routes.js';
import { DEFAULT_QUOTA, buildRoutes } from './routes.js';

export interface ApiOptions {
  registry: RegistryPort;
  /** Where tenant tokens (scrypt hashes) are kept: the replicated registry (registryTokens()). */
  tokens: TokenStore;
  /** The admin token (from api.adminTokenFile, see loadOrCreateAdminToken). */
  adminToken?: string;
  status?: StatusPort;
  flows?: FlowsPort;
  mesh?: MeshPort;
  trace?: TracePort;
  /** This agent's host id: endpoints of other hosts cannot be deleted here, traces start here. */
  hostId?: string;
  logger?: FastifyBaseLogger;
  /** Largest accepted request body in bytes (config api.bodyLimit). */
  bodyLimit?: number;
  /** Per token. Default 50/s with bursts of 200. */
  rateLimit?: RateLimit;
  /** Per client address, for requests with a missing or wrong token. Default 5/s with bursts of 20. */
  authFailureLimit?: RateLimit;
  /** Quotas of tenants that do not set their own. Default 64 networks, 4096 endpoints; 32 tokens (for every tenant). */
  defaultQuota?: Quota;
  /** Default 5000 ms. */
  installTimeoutMs?: number;
  clock?: Clock;
  /** Serve /metrics without a token. Default false: it names every tenant's networks, so scrape with the admin token. */
  metricsPublic?: boolean;
  /** PEM file paths (config api.tls): serve HTTPS, TLS 1.2 or later. */
  tls?: { cert: string; key: string };
  version?: string;
}

export interface Api {
  app: FastifyInstance;
  routes: RouteDef[];
  metrics: ApiMetrics;
  auth: TokenAuthority;
  openapi(): Record<string, unknown>;
}

/** fastify's default, stated: the longest path parameter the router matches. */
const MAX_PARAM_LENGTH = 100;

const FASTIFY_CODES: Record<string, [string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['body_too_large', 'send a smaller body'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'send JSON with Content-Type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', 'the Content-Length header does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'send a JSON object, or no Content-Type header when there is no body'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'send a valid JSON object'],
};

// Errors fastify raises before a route runs (routing, URL decoding): they bypass setErrorHandler, so
// frameworkErrors maps them to the API's error shape. Their messages echo the whole path, which may be
// kilobytes, so ours do not.
const FRAMEWORK_CODES: Record<string, [number, string, string]> = {
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters; names are at most 63 characters and MACs 17`],
  FST_ERR_BAD_URL: [400, 'bad_url', 'the URL is not valid percent-encoding; encode each path segment (e.g. with encodeURIComponent)'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'bad_request', 'the request does not match a route constraint; check the URL'],
};

/** An error message of a client's request, bounded: it may quote the request. */
function clip(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function buildApi(opts: ApiOptions): Api {
  const clock = opts.clock ?? systemClock;
  const auth = new TokenAuthority({ store: opts.tokens, ...(opts.adminToken ? { adminToken: opts.adminToken } : {}), clock });
  const limiter = new RateLimiter(opts.rateLimit ?? { perSecond: 50, burst: 200 }, clock);
  const failures = new RateLimiter(opts.authFailureLimit ?? { perSecond: 5, burst: 20 }, clock);
  const metrics = new ApiMetrics();
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;

  let doc: Record<string, unknown> | undefined;
  const routes = buildRoutes({
    registry: opts.registry,
    auth,
    ...(opts.status ? { status: opts.status } : {}),
    ...(opts.flows ? { flows: opts.flows } : {}),
    ...(opts.mesh ? { mesh: opts.mesh } : {}),
    ...(opts.trace ? { trace: opts.trace } : {}),
    ...(opts.hostId ? { hostId: opts.hostId } : {}),
    metrics,
    clock,
    defaultQuota: { ...DEFAULT_QUOTA, ...opts.defaultQuota },
    installTimeoutMs: opts.installTimeoutMs ?? 5000,
    metricsPublic: opts.metricsPublic ?? false,
    openapi: () => (doc ??= openApiDocument(routes, { version: opts.version ?? '0.1.0' })),
  });

  const base: FastifyServerOptions = {
    bodyLimit,
    // HEAD twins of GET routes would make the route table differ from the document for no benefit.
    exposeHeadRoutes: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // A client that trickles its request in must not hold a connection forever.
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err, req, reply) => {
      const [status, code, message] = FRAMEWORK_CODES[err.code] ?? [400, 'bad_request', `${clip(err.message)}; check the URL`];
      metrics.request(req.method, 'unmatched', status);
      void (reply as unknown as FastifyReply).code(status).send(new ApiError(status, code, message).body());
    },
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
  };
  const app = (
    opts.tls
      ? Fastify({ ...base, https: { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), minVersion: 'TLSv1.2' } } as FastifyHttpsOptions<HttpsServer>)
      : Fastify(base)
  ) as unknown as FastifyInstance;

  // Only JSON bodies: fastify's text/plain parser would hand a string to the body schemas (a 400 that
  // blames the body's shape instead of its type).
  app.removeContentTypeParser('text/plain');

  const byRoute = new Map<string, RouteDef>(routes.map((r) => [`${r.method} ${r.path}`, r]));
  const principals = new WeakMap<FastifyRequest, Principal>();
  const startedAt = new WeakMap<FastifyRequest, number>();

  app.addHook('onRequest', async (req, reply) => {
    startedAt.set(req, clock.now());
    const def = byRoute.get(`${req.method} ${req.routeOptions.url ?? ''}`);
    if (!def || def.access === 'none') return;
    const token = bearer(req);
    const principal = token === undefined ? undefined : await auth.verify(token);
    if (!principal) {
      const wait = failures.take(`ip:${req.ip}`);
      if (wait) throw new ApiError(429, 'rate_limited', `too many requests without a valid token; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
      void reply.header('www-authenticate', 'Bearer');
      throw new ApiError(
        401,
        'unauthorized',
        token === undefined
          ? 'no token: send "Authorization: Bearer <token>" (the admin token is in the agent\'s api.adminTokenFile; tenant tokens come from "bumless tenant create")'
          : 'the token is not valid (unknown, revoked or mistyped); ask the admin for a new one',
      );
    }
    const wait = limiter.take(principal.tokenId);
    if (wait) throw new ApiError(429, 'rate_limited', `rate limit of this token exceeded; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
    if (def.access === 'admin' && principal.role !== 'admin') {
      throw new ApiError(403, 'admin_required', `${def.method} ${def.path} needs the admin token`);
    }
    principals.set(req, principal);
  });

  app.addHook('onResponse', async (req, reply) => {
    metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode);
  });

  function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> | undefined {
    if (!schema) return undefined;
    const r = schema.safeParse(value);
    if (!r.success) throw validationError(where, r.error);
    return r.data;
  }

  for (const def of routes) {
    app.route({
      method: def.method,
      url: def.path,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (def.body === undefined && req.body !== undefined && req.body !== null) {
          throw new ApiError(400, 'invalid_request', `${def.method} ${def.path} takes no body; send none`);
        }
        const ctx = {
          principal: principals.get(req),
          params: parse(def.params, req.params ?? {}, 'path'),
          query: parse(def.query, req.query ?? {}, 'query'),
          body: req.body === undefined && !def.bodyRequired ? undefined : parse(def.body, req.body, 'body'),
          request: req,
          reply,
          startedAt: startedAt.get(req) ?? clock.now(),
        };
        const result = await def.handler(ctx);
        void reply.code(result.status);
        if (result.headers) void reply.headers(result.headers);
        if (result.contentType) void reply.type(result.contentType);
        return reply.send(result.body);
      },
    });
  }

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ApiError(404, 'no_route', `no route ${req.method} ${clip(req.url.split('?')[0] ?? '', 200)}; the routes are listed in /v1/openapi.json`).body());
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let api = fromPortError(err);
    if (!api) {
      const fe = err as FastifyError;
      const status = fe.statusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        const [code, hint] = FASTIFY_CODES[fe.code] ?? ['bad_request', 'check the request'];
        const message =
          fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? `request body larger than ${bodyLimit} bytes; ${hint}`
            : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
              ? `Content-Type ${clip(String(req.headers['content-type'] ?? '(none)'), 100)} is not accepted; ${hint}`
              : `${clip(err.message)}; ${hint}`;
        api = new ApiError(status, code, message);
      }
    }
    if (!api) {
      req.log.error({ err }, 'request failed');
      api = new ApiError(500, 'internal', 'internal error; the agent log has the details');
    }
    if (api.headers) void reply.headers(api.headers);
    void reply.code(api.status).send(api.body());
  });

  return { app, routes, metrics, auth, openapi: () => openApiDocument(routes, { version: opts.version ?? '0.1.0' }) };
}

/** "127.0.0.1:8080" or "[::1]:8080" -> host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`api.listen "${listen}" is not HOST:PORT; write e.g. 127.0.0.1:8080 or [::1]:8080`);
  return { host: m[1] ?? m[2]!, port };
}

export interface RunningApi extends Api {
  /** Base URL clients use, e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

/** Builds the API and listens on `listen` (default 127.0.0.1:8080; port 0 picks a free one). */
export async function startApi(opts: ApiOptions & { listen?: string }): Promise<RunningApi> {
  const api = buildApi(opts);
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:8080');
  await api.app.listen({ host, port });
  const addr = api.app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { ...api, url: `${opts.tls ? 'https' : 'http'}://${hostPart}:${actualPort}`, close: () => api.app.close() };
}
