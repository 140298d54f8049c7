// The routes of the REST API. Tenancy rule: a tenant token sees only its own tenant's objects, and another
// tenant's object answers exactly as an absent one does (same status, same message), so a token cannot
// learn what other tenants have.
import type { z } from 'zod';
import { endpointKey, hostAddressProblem } from '../registry/model.js';
import type { Endpoint, Network, Tenant } from '../registry/model.js';
import type { Clock, Principal, TokenAuthority } from './auth.js';
import { ApiError, notFound } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import { renderMetrics } from './metrics.js';
import { diffFlows } from './ovs-format.js';
import { cookieData } from '../reconcile/cookie.js';
import type { FlowsPort, MeshPort, RegistryPort, StatusPort, TracePort } from './ports.js';
import type { ResponseDef, RouteDef } from './route.js';
import { route } from './route.js';
import * as S from './schemas.js';
import { microflow, parseTrace, resolveTrace } from './trace.js';

export interface Quota {
  networks: number;
  endpoints: number;
  /** Live tokens per tenant (each one is replicated to every agent). Default 32. */
  tokens?: number;
}

export const DEFAULT_QUOTA: Required<Quota> = { networks: 64, endpoints: 4096, tokens: 32 };

export interface RouteDeps {
  registry: RegistryPort;
  auth: TokenAuthority;
  status?: StatusPort;
  flows?: FlowsPort;
  mesh?: MeshPort;
  trace?: TracePort;
  hostId?: string;
  metrics: ApiMetrics;
  clock: Clock;
  defaultQuota: Quota;
  /** How long a registration waits for the switch to confirm its flows before answering 202. */
  installTimeoutMs: number;
  /** Serve /metrics without a token (it names every tenant's networks, so only where the port is private). */
  metricsPublic: boolean;
  /** Builds the OpenAPI document (set by the server once all routes exist). */
  openapi: () => unknown;
}

const json = (description: string, schema?: z.ZodType): ResponseDef => ({ description, ...(schema ? { schema } : {}) });

function canSee(p: Principal | undefined, tenant: string): boolean {
  return p?.role === 'admin' || p?.tenant === tenant;
}

function requireAdmin(p: Principal | undefined, what: string): void {
  if (p?.role !== 'admin') throw new ApiError(403, 'admin_required', `${what} needs the admin token`);
}

/** Serialises read-check-write sequences per tenant, so quotas hold under concurrent requests. */
class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** A cookie without the reconciler's generation bits (see src/reconcile/cookie.ts); unparsable ones as they are. */
function cookieWithoutGeneration(cookie: string): string {
  try {
    return `0x${cookieData(BigInt(cookie)).toString(16)}`;
  } catch {
    return cookie;
  }
}

function splitRef(ref: string): [string, string] {
  const [t, n] = ref.split('/');
  return [t!, n!];
}

export function buildRoutes(d: RouteDeps): RouteDef[] {
  const { registry } = d;
  const tenantLock = new KeyedMutex();

  async function visibleTenant(p: Principal | undefined, name: string): Promise<Tenant> {
    const t = canSee(p, name) ? await registry.tenant(name) : undefined;
    if (!t) throw notFound(`tenant ${name}`);
    return t;
  }

  async function visibleNetwork(p: Principal | undefined, tenant: string, name: string): Promise<Network> {
    const n = canSee(p, tenant) ? await registry.network(tenant, name) : undefined;
    if (!n) throw notFound(`network ${tenant}/${name}`);
    return n;
  }

  async function findEndpoint(p: Principal | undefined, tenant: string, network: string, mac: string): Promise<Endpoint> {
    const e = canSee(p, tenant) ? (await registry.endpoints({ network: `${tenant}/${network}` })).find((x) => x.mac === mac) : undefined;
    if (!e) throw notFound(`endpoint ${tenant}/${network}/${mac}`);
    return e;
  }

  async function quotaOf(tenant: string): Promise<Quota> {
    const t = await registry.tenant(tenant);
    return { networks: t?.quota?.networks ?? d.defaultQuota.networks, endpoints: t?.quota?.endpoints ?? d.defaultQuota.endpoints };
  }

  async function announcedTo(): Promise<string[]> {
    if (!d.mesh) return [];
    return (await d.mesh.peers()).filter((p) => p.state === 'established').map((p) => p.hostId);
  }

  /** Registers (creates or replaces) a local endpoint, then waits for its flows to be confirmed. */
  async function register(p: Principal | undefined, input: { network: string; mac: string; ips: string[]; port: string }, startedAt: number, location: boolean) {
    const [tenant, netName] = splitRef(input.network);
    const network = await visibleNetwork(p, tenant, netName);
    const details = input.ips.flatMap((ip, i) => {
      const message = hostAddressProblem(ip, network.cidrs);
      return message ? [{ path: ['ips', i], message }] : [];
    });
    if (details.length) throw new ApiError(400, 'invalid_request', `invalid body: ips.${String(details[0]!.path[1])}: ${details[0]!.message}`, details);
    // The lock covers the quota check and the registry taking the endpoint in memory (the port applies
    // it before its promise, see RegistryPort), not the wait for the disk: holding it across the fsync
    // made concurrent registrations of one tenant commit one by one, at one fsync each. Outside it,
    // they share the store's transactions (group commit), and each still answers only once durable.
    const { pending } = await tenantLock.run(tenant, async () => {
      // Looked up and counted without listing when the port can: a listing costs every endpoint of
      // the host per registration.
      const existing = registry.endpoint
        ? (await registry.endpoint(input.network, input.mac)) !== undefined
        : (await registry.endpoints({ tenant })).some((e) => e.network === input.network && e.mac === input.mac);
      if (!existing) {
        const quota = await quotaOf(tenant);
        const count = registry.endpointCount ? await registry.endpointCount(tenant) : (await registry.endpoints({ tenant })).length;
        if (count >= quota.endpoints) {
          throw new ApiError(403, 'quota_exceeded', `tenant ${tenant} has ${count} endpoints, its quota is ${quota.endpoints}; delete endpoints or ask the admin to raise the quota`);
        }
      }
      const p = Promise.resolve(registry.upsertLocalEndpoint(input));
      // Awaited just below; this only keeps a rejection from counting as unhandled meanwhile.
      p.catch(() => undefined);
      return { pending: p };
    });
    const { endpoint, created } = await pending;
    const key = endpointKey(endpoint);
    const outcome = d.flows ? await d.flows.waitInstalled(key, d.installTimeoutMs) : { installed: false, reason: 'this agent has no switch session' };
    const installed = outcome.installed;
    if (installed) d.metrics.registrationLatency.observe((d.clock.now() - startedAt) / 1000);
    else d.metrics.registrationsNotConfirmed++;
    const headers = location ? { location: `/v1/endpoints/${key}` } : undefined;
    return {
      status: installed ? (created ? 201 : 200) : 202,
      body: { endpoint, installed, ...(!installed && outcome.reason ? { reason: outcome.reason } : {}), announcedTo: await announcedTo() },
      ...(headers ? { headers } : {}),
    };
  }

  const common = {
    401: json('no valid bearer token', S.ErrorBody),
    429: json('rate limit exceeded; retry after the Retry-After header\'s seconds', S.ErrorBody),
  };
  const nf = { 404: json('not found (or not visible to this token)', S.ErrorBody) };
  const bad = { 400: json('invalid input; details name the field paths', S.ErrorBody) };
  const forbidden = { 403: json('needs the admin token, or the tenant\'s quota is used up', S.ErrorBody) };

  return [
    route({
      method: 'GET', path: '/healthz', operationId: 'health', summary: 'Liveness: the API answers', tag: 'health', access: 'none',
      responses: { 200: json('alive', S.Health) },
      handler: () => Promise.resolve({ status: 200, body: { status: 'ok' } }),
    }),
    route({
      method: 'GET', path: '/readyz', operationId: 'ready', summary: 'Readiness: switch connected, flows reconciled, registry store writable', tag: 'health', access: 'none',
      responses: { 200: json('ready', S.Ready), 503: json('not ready (yet, or until a restart when `reason` says the registry store failed)', S.Ready) },
      handler: async () => {
        const [switchReady, failure] = await Promise.all([d.status ? d.status.ready() : true, registry.storeFailure?.()]);
        const ready = switchReady && failure === undefined;
        return { status: ready ? 200 : 503, body: { ready, ...(failure !== undefined ? { reason: failure } : {}) } };
      },
    }),
    route({
      method: 'GET', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics (text exposition format 0.0.4); admin token unless configured public', tag: 'health',
      access: d.metricsPublic ? 'none' : 'admin',
      responses: d.metricsPublic
        ? { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4' } }
        : { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4' }, ...common, ...forbidden },
      handler: async () => {
        const [status, peers, stats, alarms] = await Promise.all([d.status?.status(), d.mesh?.peers(), registry.stats(), registry.alarms()]);
        const durations = d.status?.reconcileDurations?.();
        const text = renderMetrics({ ...(status ? { status } : {}), ...(durations ? { reconcileDurations: durations } : {}), ...(peers ? { peers } : {}), stats, alarms, api: d.metrics });
        return { status: 200, body: text, contentType: 'text/plain; version=0.0.4; charset=utf-8' };
      },
    }),
    route({
      method: 'GET', path: '/v1/openapi.json', operationId: 'openapi', summary: 'This API\'s OpenAPI 3.1 document', tag: 'health', access: 'none',
      responses: { 200: json('the document') },
      handler: () => Promise.resolve({ status: 200, body: d.openapi() }),
    }),
    route({
      method: 'GET', path: '/v1/whoami', operationId: 'whoami', summary: 'The role and tenant of the calling token', tag: 'tokens', access: 'any',
      responses: { 200: json('the caller', S.WhoAmI), ...common },
      handler: ({ principal }) => Promise.resolve({ status: 200, body: principal }),
    }),

    // ---- tenants (admin; a tenant token sees only itself)
    route({
      method: 'GET', path: '/v1/tenants', operationId: 'listTenants', summary: 'List tenants (a tenant token sees only its own)', tag: 'tenants', access: 'any',
      responses: { 200: json('tenants', S.list(S.Tenant)), ...common },
      handler: async ({ principal }) => {
        const items = (await registry.tenants()).filter((t) => canSee(principal, t.name));
        return { status: 200, body: { items } };
      },
    }),
    route({
      method: 'POST', path: '/v1/tenants', operationId: 'createTenant', summary: 'Create a tenant and its first token (admin)', tag: 'tenants', access: 'admin',
      body: S.TenantCreate,
      responses: { 201: json('created; the token is shown only here', S.TenantCreated), ...bad, ...common, ...forbidden, 409: json('a tenant with this name exists', S.ErrorBody) },
      handler: async ({ body }) => {
        const tenant = await registry.createTenant(body);
        const { token, record } = await d.auth.create('tenant', tenant.name, 'created with the tenant');
        return { status: 201, body: { tenant, token, tokenId: record.id }, headers: { location: `/v1/tenants/${tenant.name}` } };
      },
    }),
    route({
      method: 'GET', path: '/v1/tenants/:tenant', operationId: 'getTenant', summary: 'Show a tenant', tag: 'tenants', access: 'any',
      params: S.TenantParams,
      responses: { 200: json('the tenant', S.Tenant), ...bad, ...common, ...nf },
      handler: async ({ principal, params }) => ({ status: 200, body: await visibleTenant(principal, params.tenant) }),
    }),
    route({
      method: 'DELETE', path: '/v1/tenants/:tenant', operationId: 'deleteTenant', summary: 'Delete a tenant without networks and revoke its tokens (admin)', tag: 'tenants', access: 'any',
      params: S.TenantParams,
      responses: { 204: json('deleted'), ...bad, ...common, ...forbidden, ...nf, 409: json('the tenant still has networks', S.ErrorBody) },
      handler: async ({ principal, params }) => {
        await visibleTenant(principal, params.tenant);
        requireAdmin(principal, 'deleting a tenant');
        await registry.deleteTenant(params.tenant);
        await d.auth.revokeTenant(params.tenant);
        return { status: 204 };
      },
    }),

    // ---- tokens
    route({
      method: 'GET', path: '/v1/tenants/:tenant/tokens', operationId: 'listTokens', summary: 'List a tenant\'s tokens (ids only)', tag: 'tokens', access: 'any',
      params: S.TenantParams,
      responses: { 200: json('tokens', S.list(S.TokenInfo)), ...bad, ...common, ...nf },
      handler: async ({ principal, params }) => {
        await visibleTenant(principal, params.tenant);
        return { status: 200, body: { items: await d.auth.list(params.tenant) } };
      },
    }),
    route({
      method: 'POST', path: '/v1/tenants/:tenant/tokens', operationId: 'createToken', summary: 'Create another token for a tenant (shown once; valid on every agent once replicated), or (admin) install an existing token', tag: 'tokens', access: 'any',
      params: S.TenantParams, body: S.TokenCreate, bodyRequired: false,
      responses: {
        200: json('(install) the token is already valid on every agent: nothing changed', S.TokenCreated),
        201: json('created; the token is shown only here', S.TokenCreated),
        ...bad, ...common, ...forbidden, ...nf,
        409: json('(install) that token id belongs to another token or tenant, or was revoked', S.ErrorBody),
      },
      handler: async ({ principal, params, body }) => {
        await visibleTenant(principal, params.tenant);
        if (body?.token) {
          requireAdmin(principal, 'installing an existing token');
          const done = await d.auth.importToken(body.token, params.tenant, body.description);
          if (!done) throw new ApiError(409, 'conflict', `token id ${body.token.split('.')[1]} is already used by another token or tenant; create a new token instead`);
          return { status: done.existing ? 200 : 201, body: { info: done.info } };
        }
        const { token, record } = await tenantLock.run(params.tenant, async () => {
          const quota = d.defaultQuota.tokens ?? DEFAULT_QUOTA.tokens;
          const count = (await d.auth.list(params.tenant)).length;
          if (count >= quota) {
            throw new ApiError(403, 'quota_exceeded', `tenant ${params.tenant} has ${count} tokens, the quota is ${quota}; revoke unused ones (bumless tenant token list ${params.tenant}; bumless tenant token revoke ${params.tenant} ID) or ask the admin to raise api.defaultQuota.tokens`);
          }
          return d.auth.create('tenant', params.tenant, body?.description);
        });
        return { status: 201, body: { token, info: record } };
      },
    }),
    route({
      method: 'DELETE', path: '/v1/tenants/:tenant/tokens/:id', operationId: 'revokeToken', summary: 'Revoke a token', tag: 'tokens', access: 'any',
      params: S.TokenParams,
      responses: { 204: json('revoked'), ...bad, ...common, ...nf },
      handler: async ({ principal, params }) => {
        await visibleTenant(principal, params.tenant);
        const record = await d.auth.get(params.id);
        if (!record || record.tenant !== params.tenant) throw notFound(`token ${params.id}`);
        await d.auth.revoke(params.id);
        return { status: 204 };
      },
    }),

    // ---- networks
    route({
      method: 'GET', path: '/v1/networks', operationId: 'listNetworks', summary: 'List networks', tag: 'networks', access: 'any',
      query: S.NetworkListQuery,
      responses: { 200: json('networks', S.list(S.NetworkView)), ...bad, ...common },
      handler: async ({ principal, query }) => {
        const tenant = principal?.role === 'admin' ? query.tenant : principal?.tenant;
        if (query.tenant && tenant !== query.tenant) return { status: 200, body: { items: [] } };
        return { status: 200, body: { items: await registry.networks(tenant ? { tenant } : {}) } };
      },
    }),
    route({
      method: 'POST', path: '/v1/networks', operationId: 'createNetwork', summary: 'Create a network; the server assigns the VNI unless the admin sets one', tag: 'networks', access: 'any',
      body: S.NetworkCreate,
      responses: { 201: json('created', S.Network), ...bad, ...common, ...forbidden, ...nf, 409: json('name or VNI taken', S.ErrorBody) },
      handler: async ({ principal, body }) => {
        const tenant = body.tenant ?? principal?.tenant;
        if (!tenant) throw new ApiError(400, 'invalid_request', 'invalid body: tenant: required with the admin token', [{ path: ['tenant'], message: 'required with the admin token' }]);
        await visibleTenant(principal, tenant);
        if (body.vni !== undefined) requireAdmin(principal, 'choosing a VNI (omit vni to have one assigned)');
        const network = await tenantLock.run(tenant, async () => {
          const quota = await quotaOf(tenant);
          const count = (await registry.networks({ tenant })).length;
          if (count >= quota.networks) {
            throw new ApiError(403, 'quota_exceeded', `tenant ${tenant} has ${count} networks, its quota is ${quota.networks}; delete a network or ask the admin to raise the quota`);
          }
          return registry.createNetwork({ ...body, tenant });
        });
        return { status: 201, body: network, headers: { location: `/v1/networks/${network.tenant}/${network.name}` } };
      },
    }),
    route({
      method: 'GET', path: '/v1/networks/:tenant/:network', operationId: 'getNetwork', summary: 'Show a network', tag: 'networks', access: 'any',
      params: S.NetworkParams,
      responses: { 200: json('the network', S.NetworkView), ...bad, ...common, ...nf },
      handler: async ({ principal, params }) => ({ status: 200, body: await visibleNetwork(principal, params.tenant, params.network) }),
    }),
    route({
      method: 'DELETE', path: '/v1/networks/:tenant/:network', operationId: 'deleteNetwork', summary: 'Delete a network without endpoints', tag: 'networks', access: 'any',
      params: S.NetworkParams,
      responses: { 204: json('deleted'), ...bad, ...common, ...nf, 409: json('the network still has endpoints', S.ErrorBody) },
      handler: async ({ principal, params }) => {
        await visibleNetwork(principal, params.tenant, params.network);
        await registry.deleteNetwork(params.tenant, params.network);
        return { status: 204 };
      },
    }),

    // ---- endpoints
    route({
      method: 'GET', path: '/v1/endpoints', operationId: 'listEndpoints', summary: 'List endpoints (all hosts)', tag: 'endpoints', access: 'any',
      query: S.EndpointListQuery,
      responses: { 200: json('endpoints', S.list(S.EndpointView)), ...bad, ...common },
      handler: async ({ principal, query }) => {
        const own = principal?.role === 'admin' ? undefined : principal?.tenant;
        const wanted = query.network ? splitRef(query.network)[0] : query.tenant;
        if (own && wanted && wanted !== own) return { status: 200, body: { items: [] } };
        if (query.tenant && query.network && splitRef(query.network)[0] !== query.tenant) return { status: 200, body: { items: [] } };
        const tenant = own ?? query.tenant;
        const items = await registry.endpoints({
          ...(tenant ? { tenant } : {}),
          ...(query.network ? { network: query.network } : {}),
          ...(query.host ? { hostId: query.host } : {}),
        });
        return { status: 200, body: { items } };
      },
    }),
    route({
      method: 'POST', path: '/v1/endpoints', operationId: 'registerEndpoint',
      summary: 'Register an endpoint on this host: 201 once durable and its local flows are confirmed installed', tag: 'endpoints', access: 'any',
      body: S.EndpointCreate,
      responses: {
        201: json('registered, durable, local flows confirmed', S.EndpointRegistered),
        200: json('already registered; replaced, durable, flows confirmed', S.EndpointRegistered),
        202: json('durable, but its local flows are not confirmed: reason says why (port not on the bridge yet, or no confirmation in time); they follow when they can', S.EndpointRegistered),
        ...bad, ...common, ...forbidden, ...nf,
        409: json('an IP is held by another MAC of the network; details name the holder', S.ErrorBody),
      },
      handler: ({ principal, body, startedAt }) => register(principal, body, startedAt, true),
    }),
    route({
      method: 'GET', path: '/v1/endpoints/:tenant/:network/:mac', operationId: 'getEndpoint', summary: 'Show an endpoint', tag: 'endpoints', access: 'any',
      params: S.EndpointParams,
      responses: { 200: json('the endpoint', S.EndpointView), ...bad, ...common, ...nf },
      handler: async ({ principal, params }) => ({ status: 200, body: await findEndpoint(principal, params.tenant, params.network, params.mac) }),
    }),
    route({
      method: 'PUT', path: '/v1/endpoints/:tenant/:network/:mac', operationId: 'putEndpoint', summary: 'Create or replace an endpoint on this host (idempotent)', tag: 'endpoints', access: 'any',
      params: S.EndpointParams, body: S.EndpointReplace,
      responses: {
        201: json('created, durable, local flows confirmed', S.EndpointRegistered),
        200: json('replaced (or unchanged), durable, local flows confirmed', S.EndpointRegistered),
        202: json('durable, but its local flows are not confirmed: reason says why', S.EndpointRegistered),
        ...bad, ...common, ...forbidden, ...nf,
        409: json('an IP is held by another MAC of the network', S.ErrorBody),
      },
      handler: ({ principal, params, body, startedAt }) =>
        register(principal, { network: `${params.tenant}/${params.network}`, mac: params.mac, ...body }, startedAt, false),
    }),
    route({
      method: 'DELETE', path: '/v1/endpoints/:tenant/:network/:mac', operationId: 'deleteEndpoint',
      summary: 'Delete an endpoint of this host; its flows go on every host', tag: 'endpoints', access: 'any',
      params: S.EndpointParams,
      responses: {
        204: json('deleted and the local flows removed'),
        202: json('deleted; the switch did not confirm the flow removal in time', S.Unconfirmed),
        ...bad, ...common, ...nf,
        409: json('the endpoint is registered on another host', S.ErrorBody),
      },
      handler: async ({ principal, params }) => {
        const e = await findEndpoint(principal, params.tenant, params.network, params.mac);
        if (d.hostId !== undefined && e.hostId !== d.hostId) {
          throw new ApiError(409, 'conflict', `endpoint ${endpointKey(e)} is registered on host ${e.hostId}; delete it through that host's agent`);
        }
        await registry.deleteLocalEndpoint(e.network, e.mac);
        const outcome = d.flows ? await d.flows.waitInstalled(endpointKey(e), d.installTimeoutMs) : { installed: false };
        return outcome.installed ? { status: 204 } : { status: 202, body: { installed: false, ...(outcome.reason ? { reason: outcome.reason } : {}) } };
      },
    }),

    // ---- switch and mesh (admin)
    route({
      method: 'GET', path: '/v1/peers', operationId: 'listPeers', summary: 'Mesh peers and their session state (admin)', tag: 'status', access: 'admin',
      responses: { 200: json('peers', S.list(S.PeerInfo)), ...common, ...forbidden },
      handler: async () => ({ status: 200, body: { items: d.mesh ? await d.mesh.peers() : [] } }),
    }),
    route({
      method: 'GET', path: '/v1/status', operationId: 'status', summary: 'Switch connection, flows, peers, registry counts, BUM counters, alarms (admin)', tag: 'status', access: 'admin',
      responses: { 200: json('status', S.Status), ...common, ...forbidden },
      handler: async () => {
        const [switchReady, sw, peers, registryStats, alarms, failure] = await Promise.all([
          d.status ? d.status.ready() : false,
          d.status?.status(),
          d.mesh?.peers(),
          registry.stats(),
          registry.alarms(),
          registry.storeFailure?.(),
        ]);
        const ready = switchReady && failure === undefined;
        return {
          status: 200,
          body: { ...(d.hostId ? { hostId: d.hostId } : {}), ready, switch: sw ?? null, peers: peers ?? [], registry: registryStats, alarms },
        };
      },
    }),
    route({
      method: 'POST', path: '/v1/alarms/clear', operationId: 'clearAlarm',
      summary: 'Clear an alarm by id (a duplicate-MAC alarm unfreezes the MAC once the duplicate is gone) (admin)', tag: 'status', access: 'admin',
      body: S.AlarmClear,
      responses: { 204: json('cleared'), ...bad, ...common, ...forbidden, ...nf, 409: json('this alarm clears itself', S.ErrorBody), 503: json('this agent cannot clear alarms', S.ErrorBody) },
      handler: async ({ body }) => {
        if (!registry.clearAlarm) throw new ApiError(503, 'unavailable', 'this agent\'s registry adapter cannot clear alarms; use src/api/registry-adapter.ts registryPort()');
        await registry.clearAlarm(body.id);
        return { status: 204 };
      },
    }),
    route({
      method: 'GET', path: '/v1/flows', operationId: 'flows', summary: 'Desired and installed flows and their difference (admin)', tag: 'status', access: 'admin',
      query: S.FlowsQuery,
      responses: { 200: json('flows', S.Flows), ...bad, ...common, ...forbidden, 503: json('this agent has no switch session', S.ErrorBody) },
      handler: async ({ query }) => {
        if (!d.flows) throw new ApiError(503, 'unavailable', 'this agent has no switch session; run the command against an agent');
        const { desired, installed } = await d.flows.flows();
        const diff = diffFlows(desired, installed, cookieWithoutGeneration);
        const only = query.diff === 'true' || query.diff === '1';
        return { status: 200, body: only ? { desired: [], installed: [], diff } : { desired, installed, diff } };
      },
    }),
    route({
      method: 'POST', path: '/v1/trace', operationId: 'trace', summary: 'Trace a described frame through the switch tables (ofproto/trace) (admin)', tag: 'status', access: 'admin',
      body: S.TraceRequest,
      responses: {
        200: json('tables passed and fate', S.TraceResult),
        ...bad, ...common, ...forbidden, ...nf,
        409: json('the source endpoint\'s port is not on the bridge', S.ErrorBody),
        502: json('ofproto/trace failed', S.ErrorBody),
        503: json('this agent cannot trace', S.ErrorBody),
      },
      handler: async ({ principal, body }) => {
        const [tenant, name] = splitRef(body.network);
        await visibleNetwork(principal, tenant, name);
        if (!d.trace) throw new ApiError(503, 'unavailable', 'this agent has no switch to trace on');
        const frame = resolveTrace(body, await registry.endpoints({ network: body.network }), d.hostId);
        const flow = microflow(frame);
        let output: string;
        try {
          output = await d.trace.trace(flow);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          if (/unknown port/.test(msg)) {
            throw new ApiError(409, 'port_missing', `port ${frame.source.port} of endpoint ${frame.source.mac} is not on the bridge; attach the endpoint's interface first (${msg})`);
          }
          throw new ApiError(502, 'trace_failed', `ofproto/trace failed on this host: ${msg}`);
        }
        return { status: 200, body: { flow, ...parseTrace(output), output } };
      },
    }),
  ];
}
