// bumless alarm list|clear: the registry's alarms (duplicate MAC, VNI conflict) and clearing one by id.
// The alarms come from GET /v1/status (the same list `bumless status` shows); clearing is POST /v1/alarms/clear.
import type { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { printJson, table } from './client.js';
import { actionCommand } from './actions.js';
import type { Status } from '../api/schemas.js';

const HELP = `usage: bumless alarm <action> [options]

  list       list the alarms of the agent you ask, with their ids and the agent that raised them
             (admin token)
  clear ID   clear an alarm on the agent you ask: a duplicate-MAC alarm unfreezes the MAC there.
             Duplicate detection is local to each agent (as in EVPN): freeze and clear act on the
             agent that detected it, so once the duplicate is gone clear it on each agent that
             raised the alarm (run alarm list against each). A VNI-conflict alarm clears itself when
             the newer network is deleted

examples:
  bumless alarm list
  bumless alarm clear duplicate-mac:acme/web/aa:aa:aa:aa:aa:01`;

type StatusBody = z.infer<typeof Status>;

export const alarmCommand: Command = actionCommand({
  name: 'alarm',
  summary: 'list the registry\'s alarms and clear one by id',
  help: HELP,
  options: {},
  actions: {
    async list({ json, client }) {
      const res = await client.request<StatusBody>('GET', '/v1/status');
      const alarms = res.body.alarms;
      if (json) printJson(alarms);
      else {
        console.log(
          alarms.length
            ? table(['ID', 'RAISED BY', 'SINCE', 'MESSAGE'], alarms.map((a) => [a.id ?? `(${a.kind} ${a.subject}, no id)`, a.raisedBy ?? '-', a.since, a.message]))
            : 'no alarms',
        );
      }
      return 0;
    },
    async clear({ positionals, json, client }) {
      const id = positionals[1];
      if (!id) throw new UsageError('give the alarm id, e.g. bumless alarm clear duplicate-mac:acme/web/aa:aa:aa:aa:aa:01 (bumless alarm list shows the ids)');
      if (positionals.length > 2) throw new UsageError(`clear takes one alarm id, got ${positionals.length - 1}`);
      await client.request('POST', '/v1/alarms/clear', { id });
      if (json) printJson({ cleared: id });
      else console.log(`alarm ${id} cleared`);
      return 0;
    },
  },
});
