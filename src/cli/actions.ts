// The shape every resource command shares (`bumless <resource> <action> [options]`): parse the options,
// take the action from the first positional, refuse a missing or unknown one with the list of valid ones,
// and run the action with an API client. Each command then only says what its actions do.
import type { Command } from './command.js';
import { UsageError } from './command.js';
import type { ApiClient, OptionSpec } from './client.js';
import { parseCommand } from './client.js';

export interface ActionContext {
  values: Record<string, string | boolean | string[] | undefined>;
  /** positionals[0] is the action itself. */
  positionals: string[];
  json: boolean;
  readonly client: ApiClient;
}

export type Action = (ctx: ActionContext) => Promise<number>;

export interface ActionCommandSpec {
  name: string;
  summary: string;
  help: string;
  options: OptionSpec;
  /** In the order the unknown-action error lists them. */
  actions: Record<string, Action>;
}

/** "a, b or c" */
function choices(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

export function actionCommand(spec: ActionCommandSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    async run(argv) {
      const p = parseCommand(argv, spec.options, spec.help);
      if (!p) return 0;
      const action = p.positionals[0];
      if (action === undefined) throw new UsageError(`missing action\n\n${spec.help}`);
      // Own properties only: "toString" or "constructor" is an unknown action, not Object.prototype's.
      const run = Object.hasOwn(spec.actions, action) ? spec.actions[action] : undefined;
      if (!run) throw new UsageError(`unknown action "${action}"; use ${choices(Object.keys(spec.actions))}`);
      // Made on first use, so an action refuses bad input before the connection settings are read.
      let client: ApiClient | undefined;
      return run({
        values: p.values,
        positionals: p.positionals,
        json: p.json,
        get client() {
          return (client ??= p.client());
        },
      });
    },
  };
}
