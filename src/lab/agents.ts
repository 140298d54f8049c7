// Starting and stopping the bumless agent of each lab host: a generated configuration file, then
// `node bin/bumless.js agent --config FILE` inside the host's namespace with a pidfile and a log file.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LabError } from './errors.js';
import { AGENT_API_PORT, agentConfig, hostPaths } from './plan.js';
import { ensureCa, ensureHostCert } from './pki.js';
import type { HostPaths } from './plan.js';
import type { HostState, LabState } from './state.js';
import { BUMLESS_BIN, CHILD_PATH, REPO_ROOT, livePid, processAlive, sleep, stopProcess } from './system.js';

export interface AgentStatus {
  pid: number;
  apiUrl: string;
  /** The admin token the agent wrote to <dataDir>/admin.token, once it has. */
  adminToken: string | null;
  config: string;
  log: string;
}

export interface AgentStartOptions {
  /** Only this host (default: every host). */
  host?: string;
  /** Wait until each agent serves its API and has written its admin token (default true). */
  wait?: boolean;
  readyTimeoutMs?: number;
  /** Configuration overrides passed as `--set KEY=VALUE`, e.g. { 'mesh.holdMs': 1500 } (tests shorten timers). */
  set?: Record<string, string | number | boolean>;
  progress?: (line: string) => void;
}

export interface AgentStopOptions {
  host?: string;
  /** TERM (default) lets the agent shut down cleanly; KILL simulates a crash. */
  signal?: 'TERM' | 'KILL' | 'INT';
  progress?: (line: string) => void;
}

export const NO_AGENT_MESSAGE = 'no agent to start: this build of bumless has no `agent` command (nothing registers it in src/cli/commands.ts yet)';

/**
 * Whether the build that `node bin/bumless.js` runs (dist/) registers an `agent` command: the command
 * list is the truth, not a flag that could disagree with it. The list holds names and loaders only
 * (commands are loaded when they run), so reading it does not load the agent.
 */
export async function hasAgentCommand(): Promise<boolean> {
  const file = join(REPO_ROOT, 'dist', 'cli', 'commands.js');
  if (!existsSync(file)) throw new LabError(`bumless is not built (${file} is missing): run \`npm run build\``);
  const mod = (await import(pathToFileURL(file).href)) as { commands?: unknown };
  return Array.isArray(mod.commands) && mod.commands.some((c) => {
    const entry = c as { name?: unknown; load?: unknown } | null;
    return entry?.name === 'agent' && typeof entry.load === 'function';
  });
}

function readToken(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function agentStatus(h: HostState, paths: HostPaths): AgentStatus | null {
  const pid = livePid(paths.agentPid, paths.agentConfig);
  if (pid === undefined) return null;
  return {
    pid,
    apiUrl: `http://${h.underlayIp}:${AGENT_API_PORT}`,
    adminToken: readToken(join(paths.agentData, 'admin.token')),
    config: paths.agentConfig,
    log: paths.agentLog,
  };
}

function selectHosts(state: LabState, host: string | undefined): HostState[] {
  if (host === undefined) return state.hosts;
  const h = state.hosts.find((x) => x.id === host);
  if (!h) throw new LabError(`lab "${state.name}" has no host "${host}" (hosts: ${state.hosts.map((x) => x.id).join(', ')})`);
  return [h];
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

export async function startAgents(state: LabState, labDir: string, opts: AgentStartOptions = {}): Promise<void> {
  const hosts = selectHosts(state, opts.host);
  if (!(await hasAgentCommand())) throw new LabError(NO_AGENT_MESSAGE);
  await ensureCa(state.name, labDir);
  const peers = state.hosts.map((h) => ({ id: h.id, underlayIp: h.underlayIp, paths: hostPaths(labDir, h.id) }));
  const started: Array<{ h: HostState; paths: HostPaths; pid: number }> = [];
  for (const h of hosts) {
    const paths = hostPaths(labDir, h.id);
    const running = livePid(paths.agentPid, paths.agentConfig);
    if (running !== undefined) {
      opts.progress?.(`lab ${state.name}: ${h.id}: agent already running (pid ${running})`);
      continue;
    }
    const tls = await ensureHostCert(labDir, paths.dir, h.id, h.underlayIp);
    const config = agentConfig(state.encap, { id: h.id, underlayIp: h.underlayIp, paths }, peers, tls);
    mkdirSync(paths.agentData, { recursive: true });
    writeFileSync(paths.agentConfig, `${JSON.stringify(config, null, 2)}\n`);
    const log = openSync(paths.agentLog, 'a');
    // `ip netns exec` execs the command, so the child's PID is the agent's own.
    const sets = Object.entries(opts.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`]);
    const child = spawn('ip', ['netns', 'exec', h.ns, process.execPath, BUMLESS_BIN, 'agent', '--config', paths.agentConfig, ...sets], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, PATH: CHILD_PATH },
    });
    closeSync(log);
    const pid = child.pid;
    child.unref();
    if (pid === undefined) throw new LabError(`${h.id}: could not start the agent (ip netns exec ${h.ns} node ${BUMLESS_BIN} agent)`);
    writeFileSync(paths.agentPid, `${pid}\n`);
    started.push({ h, paths, pid });
  }
  if (opts.wait === false) return;
  // Started together, awaited together: the agents come up in parallel.
  await Promise.all(
    started.map(async ({ h, paths, pid }) => {
      await waitReady(h, paths, pid, opts.readyTimeoutMs ?? 30_000);
      opts.progress?.(`lab ${state.name}: ${h.id}: agent ready (pid ${pid}, API http://${h.underlayIp}:${AGENT_API_PORT})`);
    }),
  );
}

/** Whether a process (in its own network namespace) has a TCP socket listening on `port`. */
function listening(pid: number, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // "sl local_address rem_address st ...": state 0A is LISTEN.
    if (text.split('\n').some((line) => { const f = line.trim().split(/\s+/); return f[1]?.endsWith(`:${hex}`) === true && f[3] === '0A'; })) return true;
  }
  return false;
}

/** Ready: alive, the admin token written, the API port listening. An agent that exits says why (its log). */
async function waitReady(h: HostState, paths: HostPaths, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!processAlive(pid)) {
      rmSync(paths.agentPid, { force: true });
      throw new LabError(`${h.id}: the agent exited while starting; its log ${paths.agentLog} ends with:\n${logTail(paths.agentLog)}`);
    }
    if (existsSync(join(paths.agentData, 'admin.token')) && listening(pid, AGENT_API_PORT)) return;
    if (Date.now() > deadline) {
      throw new LabError(`${h.id}: the agent (pid ${pid}) is not serving its API on port ${AGENT_API_PORT} after ${timeoutMs / 1000} s; see ${paths.agentLog}`);
    }
    await sleep(50);
  }
}

export async function stopAgents(state: LabState, labDir: string, opts: AgentStopOptions = {}): Promise<void> {
  const signal: NodeJS.Signals = `SIG${opts.signal ?? 'TERM'}`;
  for (const h of selectHosts(state, opts.host)) {
    const paths = hostPaths(labDir, h.id);
    const pid = livePid(paths.agentPid, paths.agentConfig);
    if (pid === undefined) {
      rmSync(paths.agentPid, { force: true });
      continue;
    }
    await stopProcess(pid, signal, 10_000);
    rmSync(paths.agentPid, { force: true });
    opts.progress?.(`lab ${state.name}: ${h.id}: agent stopped (pid ${pid}, ${signal})`);
  }
}
