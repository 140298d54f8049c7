// bumless tenant create|list|show|delete, and tenant token create|list|revoke.
import type { Command } from './command.js';
import { UsageError } from './command.js';
import type { ApiClient } from './client.js';
import { intOption, printJson, str, table } from './client.js';
import { actionCommand } from './actions.js';
import type { Tenant } from '../registry/model.js';

const HELP = `usage: bumless tenant <action> [options]

  create NAME [--display-name TEXT] [--max-networks N] [--max-endpoints N]
                              create a tenant (admin token); prints its first token, shown only once
  list                        list tenants (a tenant token sees only its own)
  show NAME                   show a tenant
  delete NAME                 delete a tenant without networks and revoke its tokens (admin token)
  token create NAME [--description TEXT]   another token for the tenant (shown only once)
  token list NAME             the tenant's token ids
  token revoke NAME ID        revoke a token (on every agent)
  token import NAME TOKEN     (admin) install a token the cluster does not know yet; a token made by
                              any agent already works on every agent once the mesh has carried it, and
                              importing it again changes nothing

Tokens replicate between agents (only their salted scrypt hashes): create a tenant's token once, on any
agent, and use it against whichever agent holds the tenant's ports.

examples:
  bumless tenant create acme --max-endpoints 500 --token-file /var/lib/bumless/admin-token
  bumless tenant list --json`;

interface TokenInfo {
  id: string;
  tenant?: string;
  createdAt: string;
  description?: string;
}

function need(positionals: string[], i: number, what: string): string {
  const v = positionals[i];
  if (v === undefined) throw new UsageError(`missing ${what}; see bumless tenant --help`);
  return v;
}

async function tokenAction(positionals: string[], values: Record<string, unknown>, json: boolean, client: ApiClient): Promise<number> {
  const action = need(positionals, 1, 'token action (create, list, revoke or import)');
  const name = need(positionals, 2, 'tenant NAME');
  const base = `/v1/tenants/${encodeURIComponent(name)}/tokens`;
  switch (action) {
    case 'create': {
      const description = str(values.description);
      const res = await client.request<{ token: string; info: TokenInfo }>('POST', base, description ? { description } : {});
      if (json) printJson(res.body);
      else console.log(`token ${res.body.info.id} created for tenant ${name}; it is shown only now, store it:\n${res.body.token}`);
      return 0;
    }
    case 'list': {
      const res = await client.request<{ items: TokenInfo[] }>('GET', base);
      if (json) printJson(res.body.items);
      else console.log(table(['ID', 'CREATED', 'DESCRIPTION'], res.body.items.map((t) => [t.id, t.createdAt, t.description ?? ''])));
      return 0;
    }
    case 'import': {
      const token = need(positionals, 3, 'the TOKEN to install (as printed by tenant create on another agent)');
      const description = str(values.description);
      const res = await client.request<{ info: TokenInfo }>('POST', base, { token, ...(description ? { description } : {}) });
      const existing = res.status === 200;
      if (json) printJson({ ...res.body.info, alreadyKnown: existing });
      else if (existing) console.log(`token ${res.body.info.id} of tenant ${name} is already valid on every agent (tokens replicate); nothing to do`);
      else console.log(`token ${res.body.info.id} of tenant ${name} installed; the mesh carries it to every agent`);
      return 0;
    }
    case 'revoke': {
      const id = need(positionals, 3, 'token ID (see bumless tenant token list NAME)');
      await client.request('DELETE', `${base}/${encodeURIComponent(id)}`);
      if (json) printJson({ revoked: id });
      else console.log(`token ${id} of tenant ${name} revoked`);
      return 0;
    }
    default:
      throw new UsageError(`unknown token action "${action}"; use create, list, revoke or import`);
  }
}

export const tenantCommand: Command = actionCommand({
  name: 'tenant',
  summary: 'create, list, show and delete tenants and their API tokens',
  help: HELP,
  options: {
    'display-name': { type: 'string' },
    'max-networks': { type: 'string' },
    'max-endpoints': { type: 'string' },
    description: { type: 'string' },
  },
  actions: {
    async create({ values, positionals, json, client }) {
      const name = need(positionals, 1, 'tenant NAME');
      const networks = intOption(values['max-networks'], 'max-networks');
      const endpoints = intOption(values['max-endpoints'], 'max-endpoints');
      const quota = { ...(networks === undefined ? {} : { networks }), ...(endpoints === undefined ? {} : { endpoints }) };
      const displayName = str(values['display-name']);
      const body = { name, ...(displayName ? { displayName } : {}), ...(Object.keys(quota).length ? { quota } : {}) };
      const res = await client.request<{ tenant: Tenant; token: string; tokenId: string }>('POST', '/v1/tenants', body);
      if (json) printJson(res.body);
      else console.log(`tenant ${res.body.tenant.name} created\ntoken ${res.body.tokenId} (shown only now, store it):\n${res.body.token}`);
      return 0;
    },
    async list({ json, client }) {
      const res = await client.request<{ items: Tenant[] }>('GET', '/v1/tenants');
      if (json) printJson(res.body.items);
      else {
        const rows = res.body.items.map((t) => [t.name, t.displayName ?? '', String(t.quota?.networks ?? 'default'), String(t.quota?.endpoints ?? 'default'), t.createdAt]);
        console.log(rows.length ? table(['NAME', 'DISPLAY NAME', 'MAX NETWORKS', 'MAX ENDPOINTS', 'CREATED'], rows) : 'no tenants');
      }
      return 0;
    },
    async show({ positionals, json, client }) {
      const name = need(positionals, 1, 'tenant NAME');
      const res = await client.request<Tenant>('GET', `/v1/tenants/${encodeURIComponent(name)}`);
      if (json) printJson(res.body);
      else {
        const t = res.body;
        console.log(
          [
            `name           ${t.name}`,
            ...(t.displayName ? [`display name   ${t.displayName}`] : []),
            `max networks   ${t.quota?.networks ?? 'default'}`,
            `max endpoints  ${t.quota?.endpoints ?? 'default'}`,
            `created        ${t.createdAt}`,
          ].join('\n'),
        );
      }
      return 0;
    },
    async delete({ positionals, json, client }) {
      const name = need(positionals, 1, 'tenant NAME');
      await client.request('DELETE', `/v1/tenants/${encodeURIComponent(name)}`);
      if (json) printJson({ deleted: name });
      else console.log(`tenant ${name} deleted and its tokens revoked`);
      return 0;
    },
  token: ({ values, positionals, json, client }) => tokenAction(positionals, values, json, client),
  },
});
