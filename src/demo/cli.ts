// `bumless demo` (also `npm run demo`): the seed demo on a lab, with a progress line per step, the
// checks' results, an excerpt of h1's flows, and how to go on. See src/demo/demo.ts for what it does.
import { parseArgs } from 'node:util';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { LabError } from '../lab/index.js';
import { checkLabName } from '../lab/plan.js';
import { preflight } from '../lab/system.js';
import { DemoError } from './errors.js';
import { downDemo, runDemo } from './demo.js';
import type { DemoSummary } from './demo.js';

const HELP = `usage: bumless demo [--keep] [--down] [--lab NAME] [--json]     (npm run demo -- [options])

Builds a lab of three Open vSwitch hosts with bumless agents and their mesh, creates two tenants and
registers six containers through the REST API (h1-h3 in tenant-a, j1-j3 in tenant-b: the same IPs
10.10.10.1-3 and MACs aa:aa:aa:aa:aa:01-03 in both), then checks on the data plane that pings work
inside each tenant, nothing crosses tenants, and no ARP, broadcast or unknown-unicast frame reaches
another container or the underlay. Needs root. Exit code 0 only when every check passed.

  --keep       leave the lab running at the end (default: remove it) and print how to explore it
  --down       only remove the demo's lab (agents, Open vSwitch daemons, namespaces, files)
  --lab NAME   lab name (default "default"; 1-12 lower-case letters and digits)
  --json       print a summary as JSON on stdout (progress goes to stderr): hosts, tenants,
               containers, every check's result`;

/** The commands a newcomer can paste to look around a kept lab; exact for this lab. */
export function exploreLines(s: DemoSummary): string[] {
  const h1 = s.hosts.find((h) => h.id === 'h1');
  if (!h1) return [];
  const c = (name: string): string => s.containers.find((x) => x.name === name)?.namespace ?? `${s.lab}-c-${name}`;
  const labFlag = s.lab === 'default' ? '' : ` --lab ${s.lab}`;
  const conn = `--api ${h1.apiUrl} --token-file ${h1.adminTokenFile}`;
  const tenantA = s.tenants[0];
  return [
    `ip netns exec ${c('h1')} ping -c 3 10.10.10.3                  # tenant-a: h1 -> h3 (host h1 -> host h3)`,
    `ip netns exec ${c('j1')} ping -c 3 10.10.10.3                  # tenant-b: j1 -> j3, the same address`,
    `ip netns exec ${c('j2')} tcpdump -n -e -i eth0                 # j2 stays silent while h1 pings 10.10.10.2`,
    `ip netns exec ${c('h1')} ip neigh                              # h1 learned the MACs from the switch's ARP replies`,
    `ovs-ofctl -O OpenFlow13 dump-flows ${h1.ovs.openflow}   # h1's switch; see docs/pipeline.md`,
    `ip netns exec ${h1.namespace} npx bumless status ${conn}`,
    `ip netns exec ${h1.namespace} npx bumless flows --ovs ${conn}`,
    ...(tenantA ? [`ip netns exec ${h1.namespace} npx bumless trace ${tenantA.network} --src 10.10.10.1 --dst 10.10.10.3 --proto arp ${conn}`] : []),
    `npx bumless lab status${labFlag}                             # namespaces, sockets, agent PIDs and tokens`,
  ];
}

export function formatReport(s: DemoSummary): string {
  const passed = s.checks.filter((c) => c.ok).length;
  const down = `npm run demo -- --down${s.lab === 'default' ? '' : ` --lab ${s.lab}`}`;
  const out = [
    '',
    `${s.ok ? 'PASSED' : 'FAILED'}: ${passed} of ${s.checks.length} checks in ${s.seconds} s`,
    ...s.checks.map((c) => `  ${c.ok ? '[ok]  ' : '[FAIL]'} ${c.title}`),
    '',
    `ovs-ofctl -O OpenFlow13 dump-flows on h1, tenant-a (VNI ${s.tenants[0]?.vni ?? '?'}): ARP-responder and unicast flows (${s.flowsExcerpt.length} of ${s.flowsOnH1}):`,
    ...s.flowsExcerpt.map((l) => `  ${l}`),
    '  (cookie 0xb1e5<generation><VNI><kind>: kind 05 answers ARP in the switch, 07 delivers to a local port, 08 tunnels to the host of the MAC; docs/pipeline.md)',
    '',
  ];
  if (s.kept) {
    out.push(
      `The lab "${s.lab}" is still running. Explore it (as root, from this directory):`,
      ...exploreLines(s).map((l) => `  ${l}`),
      '',
      `Remove it: ${down}`,
    );
  } else {
    out.push(
      `The lab "${s.lab}" has been removed. To explore it, run \`npm run demo -- --keep\`: the lab stays up and the demo prints`,
      'commands like these (host h1\'s API listens on its underlay address, inside its namespace):',
      ...exploreLines(s).slice(0, 6).map((l) => `  ${l}`),
      `and \`${down}\` removes it.`,
    );
  }
  return out.join('\n');
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the seed demo: 3 hosts, 2 tenants with the same IPs and MACs, pings and captures that prove no flooding',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          keep: { type: 'boolean', default: false },
          down: { type: 'boolean', default: false },
          lab: { type: 'string', default: 'default' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.keep && values.down) throw new UsageError('--keep and --down exclude each other: --down removes the lab, --keep leaves it running');
    try {
      checkLabName(values.lab);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    try {
      // Root and Open vSwitch first: the message names what is missing and the Debian packages.
      preflight();
    } catch (err) {
      throw new UsageError((err as Error).message, 1);
    }
    const json = values.json;
    // With --json, stdout carries only the summary; progress goes to stderr.
    const say = (line: string, level = 0): void => {
      const text = level === 0 ? `==> ${line}` : `    ${line}`;
      if (json) process.stderr.write(`${text}\n`);
      else console.log(text);
    };
    try {
      if (values.down) {
        const removed = await downDemo(values.lab, (l) => say(l, 1));
        if (json) console.log(JSON.stringify({ lab: values.lab, removed }, null, 2));
        else say(removed.length ? `lab "${values.lab}" removed` : `lab "${values.lab}" was not up; nothing to remove`);
        return 0;
      }
      if (!json) {
        console.log('bumless demo: two tenants with the same IPs and MACs on three Open vSwitch hosts, and proof that nothing floods\n');
      }
      // Ctrl-C: remove the half-built lab (unless --keep) rather than leave daemons and namespaces behind.
      process.once('SIGINT', () => {
        say(values.keep ? 'interrupted; the lab stays (--keep)' : `interrupted; removing lab "${values.lab}"`);
        const exit = (): never => process.exit(130);
        if (values.keep) exit();
        downDemo(values.lab).then(exit, exit);
      });
      const summary = await runDemo({ lab: values.lab, keep: values.keep, progress: say });
      if (json) console.log(JSON.stringify(summary, null, 2));
      else console.log(formatReport(summary));
      return summary.ok ? 0 : 1;
    } catch (err) {
      if (err instanceof DemoError || err instanceof LabError) {
        const hint = values.keep
          ? `the lab "${values.lab}" was left as it is for a look (--keep); remove it with: npm run demo -- --down${values.lab === 'default' ? '' : ` --lab ${values.lab}`}`
          : `the lab "${values.lab}" has been removed`;
        throw new UsageError(`${err.message}\n${hint}`, 1);
      }
      throw err;
    }
  },
};
