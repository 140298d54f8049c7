// A throwaway Open vSwitch host for switch/reconcile integration tests (recipe from
// /work/shared/notes/ovs-userspace-lab.md): a network namespace, its own ovsdb-server and ovs-vswitchd
// (userspace datapath) in a temp dir. Only processes started here are stopped, by their pids.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000, maxBuffer: 512 * 1024 * 1024 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class OvsHost {
  readonly dir: string;
  readonly ns: string;
  readonly db: string;
  readonly bridge = 'br-int';
  #pids = new Set<number>();

  private constructor(dir: string, ns: string) {
    this.dir = dir;
    this.ns = ns;
    this.db = `unix:${join(dir, 'db.sock')}`;
  }

  get mgmt(): string {
    return `unix:${join(this.dir, `${this.bridge}.mgmt`)}`;
  }

  /**
   * With `dummy`, ovs-vswitchd runs in the root namespace with --enable-dummy: bridges of
   * datapath_type=dummy create no kernel device, and OpenFlow listeners on 127.0.0.1 are reachable from
   * the test process (tcp: and ssl: targets) without any traffic leaving loopback.
   */
  static start(opts: { dummy?: boolean } = {}): OvsHost {
    const dir = mkdtempSync('/tmp/bsw-');
    const ns = opts.dummy ? '' : `bsw${process.pid}${Math.floor(Math.random() * 1e4)}`;
    const h = new OvsHost(dir, ns);
    try {
      if (ns) sh('ip', ['netns', 'add', ns]);
      sh('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA]);
      sh(...h.#inNs(['ovsdb-server', join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`,
        `--pidfile=${join(dir, 'ovsdb.pid')}`, '--detach', `--log-file=${join(dir, 'ovsdb.log')}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`]));
      h.#pids.add(h.#pid('ovsdb'));
      sh('ovs-vsctl', [`--db=${h.db}`, '--no-wait', 'init']);
      h.startVswitchd();
    } catch (err) {
      h.stop();
      throw err;
    }
    return h;
  }

  #pid(name: string): number {
    const file = join(this.dir, `${name}.pid`);
    const pid = Number(readFileSync(file, 'utf8').trim());
    // 0 or a negative number would make process.kill signal a process group (ours): refuse anything but a real PID.
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${file} holds no valid PID`);
    return pid;
  }

  #inNs(cmd: string[]): [string, string[]] {
    const [bin = '', ...args] = this.ns ? ['ip', 'netns', 'exec', this.ns, ...cmd] : cmd;
    return [bin, args];
  }

  startVswitchd(): void {
    sh(...this.#inNs(['env', `OVS_RUNDIR=${this.dir}`, 'ovs-vswitchd', this.db, ...(this.ns ? [] : ['--enable-dummy']),
      `--pidfile=${join(this.dir, 'vswitchd.pid')}`, '--detach', `--log-file=${join(this.dir, 'vswitchd.log')}`,
      `--unixctl=${join(this.dir, 'vswitchd.ctl')}`]));
    this.#pids.add(this.#pid('vswitchd'));
  }

  /** Runs openssl in the host's directory (test certificates). */
  openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore', timeout: 30000 });
  }

  /** kill -9 ovs-vswitchd (a crash); returns once the process is gone. */
  async killVswitchd(): Promise<void> {
    const pid = this.#pid('vswitchd');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    this.#pids.delete(pid);
  }

  vsctl(...args: string[]): string {
    return sh('ovs-vsctl', [`--db=${this.db}`, '--timeout=10', ...args]).trim();
  }

  ofctl(...args: string[]): string {
    const [cmd, ...rest] = args;
    return sh('ovs-ofctl', ['-O', 'OpenFlow13', cmd ?? 'show', this.mgmt, ...rest]);
  }

  /** `ovs-ofctl dump-flows` lines without the header, stats stripped unless keepStats. */
  dumpFlows(keepStats = false): string[] {
    const lines = this.ofctl('dump-flows', ...(keepStats ? [] : ['--no-stats'])).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('OFPST_FLOW'));
    return lines;
  }

  stop(): void {
    for (const pid of this.#pids) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    const deadline = Date.now() + 3000;
    for (const pid of this.#pids) {
      while (alive(pid) && Date.now() < deadline) execFileSync('sleep', ['0.05']);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    this.#pids.clear();
    if (this.ns) sh('ip', ['netns', 'del', this.ns], { allowFail: true });
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
