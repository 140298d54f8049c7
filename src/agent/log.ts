// The agent's logger: pino JSON lines (for journald, files and log shippers), pretty-printed when a
// person watches the terminal. pino-pretty runs in-process as a stream: a worker-thread transport
// would lose the last lines when the agent is killed.
import { pino } from 'pino';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  level: string;
  /** Default: pretty when stdout is a terminal. */
  pretty?: boolean;
  hostId?: string;
}

export function createLogger(opts: LogOptions): Logger {
  const base = { level: opts.level, base: opts.hostId ? { host: opts.hostId } : null };
  if (opts.pretty ?? process.stdout.isTTY === true) {
    return pino(base, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
  }
  return pino(base);
}
