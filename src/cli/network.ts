// bumless network create|list|show|delete
import type { Command } from './command.js';
import { UsageError } from './command.js';
import type { ApiClient } from './client.js';
import { intOption, printJson, str, strs, table } from './client.js';
import { actionCommand } from './actions.js';
import type { Network } from '../registry/model.js';

const HELP = `usage: bumless network <action> [options]

  create [TENANT/]NAME --cidr PREFIX [--cidr PREFIX] [--gateway IP] [--encap vxlan|geneve|gre] [--vni N]
                       create a network; the server assigns the VNI (only the admin may give --vni);
                       with a tenant token TENANT/ may be left out
  list [--tenant T]    list networks
  show TENANT/NAME     show a network
  delete TENANT/NAME   delete a network without endpoints

examples:
  bumless network create acme/web --cidr 10.10.10.0/24 --gateway 10.10.10.1
  bumless network list --json`;

/** "tenant/name", or "name" completed with the calling tenant token's tenant. */
export async function networkRef(client: ApiClient, ref: string | undefined, allowShort: boolean): Promise<[string, string]> {
  if (ref === undefined) throw new UsageError('missing the network as TENANT/NAME; see --help');
  const parts = ref.split('/');
  if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
  if (parts.length === 1 && parts[0] && allowShort) {
    const who = await client.request<{ role: string; tenant?: string }>('GET', '/v1/whoami');
    if (who.body.tenant) return [who.body.tenant, parts[0]];
    throw new UsageError(`give the network as TENANT/${parts[0]}: the admin token belongs to no tenant`);
  }
  throw new UsageError(`"${ref}" is not TENANT/NAME (e.g. acme/web)`);
}

export const networkCommand: Command = actionCommand({
  name: 'network',
  summary: 'create, list, show and delete tenant networks',
  help: HELP,
  options: { cidr: { type: 'string', multiple: true }, gateway: { type: 'string' }, encap: { type: 'string' }, vni: { type: 'string' }, tenant: { type: 'string' } },
  actions: {
    async create({ values, positionals, json, client }) {
      const cidrs = strs(values.cidr);
      if (!cidrs.length) throw new UsageError('give at least one --cidr, e.g. --cidr 10.10.10.0/24');
      const [tenant, name] = await networkRef(client, positionals[1], true);
      const vni = intOption(values.vni, 'vni');
      const gateway = str(values.gateway);
      const encap = str(values.encap);
      const body = { tenant, name, cidrs, ...(gateway ? { gateway } : {}), ...(encap ? { encap } : {}), ...(vni === undefined ? {} : { vni }) };
      const res = await client.request<Network>('POST', '/v1/networks', body);
      if (json) printJson(res.body);
      else console.log(`network ${res.body.tenant}/${res.body.name} created: VNI ${res.body.vni}, ${res.body.cidrs.join(', ')}, ${res.body.encap}`);
      return 0;
    },
    async list({ values, json, client }) {
      const tenant = str(values.tenant);
      const res = await client.request<{ items: Network[] }>('GET', `/v1/networks${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`);
      if (json) printJson(res.body.items);
      else {
        const rows = res.body.items.map((n) => [`${n.tenant}/${n.name}`, String(n.vni), n.cidrs.join(','), n.gateway ?? '', n.encap]);
        console.log(rows.length ? table(['NETWORK', 'VNI', 'CIDRS', 'GATEWAY', 'ENCAP'], rows) : 'no networks');
      }
      return 0;
    },
    async show({ positionals, json, client }) {
      const [tenant, name] = await networkRef(client, positionals[1], true);
      const res = await client.request<Network>('GET', `/v1/networks/${encodeURIComponent(tenant)}/${encodeURIComponent(name)}`);
      if (json) printJson(res.body);
      else {
        const n = res.body;
        console.log(
          [`network  ${n.tenant}/${n.name}`, `vni      ${n.vni}`, `cidrs    ${n.cidrs.join(', ')}`, ...(n.gateway ? [`gateway  ${n.gateway}`] : []), `encap    ${n.encap}`, `created  ${n.createdAt}`].join('\n'),
        );
      }
      return 0;
    },
    async delete({ positionals, json, client }) {
      const [tenant, name] = await networkRef(client, positionals[1], true);
      await client.request('DELETE', `/v1/networks/${encodeURIComponent(tenant)}/${encodeURIComponent(name)}`);
      if (json) printJson({ deleted: `${tenant}/${name}` });
      else console.log(`network ${tenant}/${name} deleted`);
      return 0;
    },
  },
});
