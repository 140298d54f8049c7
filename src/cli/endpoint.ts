// bumless endpoint create|list|show|delete
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { printJson, str, strs, table } from './client.js';
import { actionCommand } from './actions.js';
import { networkRef } from './network.js';
import type { Endpoint } from '../registry/model.js';

const HELP = `usage: bumless endpoint <action> [options]

  create TENANT/NETWORK --mac MAC --ip IP [--ip IP] --port PORT
                        register an endpoint on the agent's host (PORT is its port on br-int); returns once
                        it is durable and its flows are installed, and names the peers it was announced to
  list [--network TENANT/NETWORK] [--host HOST]
                        list endpoints of all hosts
  show TENANT/NETWORK/MAC
  delete TENANT/NETWORK/MAC
                        delete an endpoint of the agent's host; its flows go on every host

examples:
  bumless endpoint create acme/web --mac aa:aa:aa:aa:aa:01 --ip 10.10.10.1 --port veth-h1
  bumless endpoint list --network acme/web --json`;

interface Registered {
  endpoint: Endpoint;
  installed: boolean;
  reason?: string;
  announcedTo: string[];
}

function endpointRef(ref: string | undefined): string {
  const m = ref === undefined ? null : /^([a-z0-9-]+)\/([a-z0-9-]+)\/(([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})$/.exec(ref);
  if (!m) throw new UsageError(`give the endpoint as TENANT/NETWORK/MAC (e.g. acme/web/aa:aa:aa:aa:aa:01)${ref ? `, not "${ref}"` : ''}`);
  return `/v1/endpoints/${m[1]}/${m[2]}/${m[3]!.toLowerCase()}`;
}

export const endpointCommand: Command = actionCommand({
  name: 'endpoint',
  summary: 'register, list, show and delete endpoints (containers, VMs)',
  help: HELP,
  options: { mac: { type: 'string' }, ip: { type: 'string', multiple: true }, port: { type: 'string' }, network: { type: 'string' }, host: { type: 'string' } },
  actions: {
    async create({ values, positionals, json, client }) {
      const mac = str(values.mac);
      const ips = strs(values.ip);
      const port = str(values.port);
      const missing = [!mac && '--mac', !ips.length && '--ip', !port && '--port'].filter(Boolean);
      if (missing.length) throw new UsageError(`missing ${missing.join(', ')}; e.g. --mac aa:aa:aa:aa:aa:01 --ip 10.10.10.1 --port veth-h1`);
      const [tenant, name] = await networkRef(client, positionals[1], true);
      const res = await client.request<Registered>('POST', '/v1/endpoints', { network: `${tenant}/${name}`, mac, ips, port });
      if (json) printJson(res.body);
      else {
        const e = res.body.endpoint;
        const verb = res.status === 201 ? 'registered' : res.status === 200 ? 'updated' : 'registered (durable)';
        const peers = res.body.announcedTo.length ? `announced to ${res.body.announcedTo.join(', ')}` : 'no peer connected to announce to';
        console.log(`endpoint ${e.network}/${e.mac} ${verb} on ${e.hostId} port ${e.port}: ${res.body.installed ? 'flows installed' : 'flows not yet confirmed by the switch'}; ${peers}`);
        if (!res.body.installed) {
          const reason = res.body.reason ?? 'the switch did not confirm the flows in time';
          const next = /is not on /.test(reason)
            ? 'its flows are installed when the port is attached to the bridge'
            : 'check "bumless status" (is the agent connected to Open vSwitch?)';
          console.error(`warning: ${reason}; ${next}`);
        }
      }
      return 0;
    },
    async list({ values, json, client }) {
      const q = new URLSearchParams();
      const network = str(values.network);
      const host = str(values.host);
      if (network) q.set('network', network);
      if (host) q.set('host', host);
      const res = await client.request<{ items: Endpoint[] }>('GET', `/v1/endpoints${q.size ? `?${q.toString()}` : ''}`);
      if (json) printJson(res.body.items);
      else {
        const rows = res.body.items.map((e) => [e.network, e.mac, e.ips.join(','), e.hostId, e.port, String(e.seq)]);
        console.log(rows.length ? table(['NETWORK', 'MAC', 'IPS', 'HOST', 'PORT', 'SEQ'], rows) : 'no endpoints');
      }
      return 0;
    },
    async show({ positionals, json, client }) {
      const res = await client.request<Endpoint>('GET', endpointRef(positionals[1]));
      if (json) printJson(res.body);
      else {
        const e = res.body;
        console.log(
          [`network  ${e.network}`, `mac      ${e.mac}`, `ips      ${e.ips.join(', ')}`, `host     ${e.hostId} (vtep ${e.vtep})`, `port     ${e.port}`, `seq      ${e.seq}`, `updated  ${e.updatedAt}`].join('\n'),
        );
      }
      return 0;
    },
    async delete({ positionals, json, client }) {
      const path = endpointRef(positionals[1]);
      const res = await client.request('DELETE', path);
      const ref = path.slice('/v1/endpoints/'.length);
      if (json) printJson({ deleted: ref, confirmed: res.status === 204 });
      else console.log(`endpoint ${ref} deleted${res.status === 204 ? '' : ' (the switch has not confirmed the flow removal yet)'}`);
      return 0;
    },
  },
});
