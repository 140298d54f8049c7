// `bumless agent --config FILE`: runs the per-host controller until SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { Agent } from './agent.js';
import { ConfigError, configKeys, envName, loadConfig } from './config.js';
import { createLogger } from './log.js';

const HELP = `usage: bumless agent --config FILE [--set KEY=VALUE]... [--log-level LEVEL] [--check] [--json]

Runs the bumless agent of this host: prepares Open vSwitch, programs br-int over OpenFlow 1.3,
syncs the endpoint registry with the mesh peers and serves the REST API.

  --config FILE      the configuration (JSON); see docs/architecture.md and src/config/schema.ts
  --set KEY=VALUE    override one key, e.g. --set api.listen=127.0.0.1:9090 (repeatable)
  --log-level LEVEL  fatal, error, warn, info, debug or trace (same as --set log.level=...)
  --check            validate the configuration, print it and exit
  --json             with --check: print the configuration as JSON

Every key can also come from the environment: BUMLESS_<KEY_PATH>, e.g. ${envName(['api', 'listen'])}
for api.listen. Flags win over the environment, which wins over the file.
Keys: ${configKeys().join(', ')}`;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the per-host controller (bumless agent --config FILE)',
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        set: { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        check: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const sets = [...(values.set ?? [])];
    if (values['log-level'] !== undefined) sets.push(`log.level=${values['log-level']}`);
    let loaded;
    try {
      loaded = loadConfig({ ...(values.config !== undefined ? { file: values.config } : {}), env: process.env, sets });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message, 2);
      throw err;
    }
    const { config, overrides } = loaded;
    if (values.check) {
      console.log(values.json ? JSON.stringify(config, null, 2) : `configuration is valid (host ${config.hostId}, bridge ${config.bridge}, ${config.encap}, API ${config.api.listen})`);
      return 0;
    }
    const log = createLogger({ level: config.log.level, hostId: config.hostId });
    if (Object.keys(overrides).length) log.info({ overrides }, 'configuration overrides');

    let agent: Agent | undefined;
    // Bad input must never take the agent down: what escapes every handler is logged and counted.
    process.on('unhandledRejection', (err) => (agent ? agent.noteInternalError(err, 'unhandled rejection') : log.error({ err }, 'unhandled rejection')));

    try {
      agent = await Agent.start(config, log);
    } catch (err) {
      log.fatal({ err: (err as Error).message }, 'agent could not start');
      throw new UsageError((err as Error).message, 1);
    }
    log.info({ hostId: config.hostId, api: agent.api?.url }, 'agent running');

    const running = agent;
    await new Promise<void>((resolve) => {
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'stopping');
        void running.stop().finally(resolve);
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
    return 0;
  },
};
