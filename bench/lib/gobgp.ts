// GoBGP 3.10 as B3's peer: two gobgpd speakers in namespaces "bbgp1" and "bbgp2" joined by a veth
// (10.99.0.1/30, .2/30), eBGP with l2vpn-evpn (recipe from /work/shared/notes/peers.md, in the
// project's code). Speaker A is loaded through the CLI (one EVPN type-2 route per call: 3.10's mrt
// inject takes no EVPN), then a freshly started speaker B receives the full table.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, ensurePeer, nowMs, rssBytes, sh, sleep, stopPid } from './sys.js';

const NS = ['bbgp1', 'bbgp2'] as const;
const IP = ['10.99.0.1', '10.99.0.2'] as const;
const API = ['127.0.0.1:50061', '127.0.0.1:50062'] as const;

function toml(i: 0 | 1): string {
  const o = 1 - i;
  return `[global.config]
  as = ${65001 + i}
  router-id = "${IP[i]}"
  local-address-list = ["${IP[i]}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${IP[o]}"
    peer-as = ${65001 + o}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l2vpn-evpn"
`;
}

export interface GobgpResult {
  routes: number;
  loadMs: number;
  /** Full-table receive times of the fresh speaker, from Established to all routes in its RIB. */
  receiveMs: number[];
  rssIdle: number | null;
  rssLoaded: number | null;
}

export class GobgpPeer {
  readonly dir = mkdtempSync('/tmp/bumless-gobgp-');
  pids: [number | null, number | null] = [null, null];

  async up(): Promise<void> {
    await this.down();
    for (const n of NS) await sh('ip', ['netns', 'add', n]);
    await sh('ip', ['link', 'add', 'name', 'v', 'netns', NS[0], 'type', 'veth', 'peer', 'name', 'v', 'netns', NS[1]]);
    for (const [i, n] of NS.entries()) {
      await sh('ip', ['-n', n, 'addr', 'add', `${IP[i]}/30`, 'dev', 'v']);
      await sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
      await sh('ip', ['-n', n, 'link', 'set', 'v', 'up']);
      writeFileSync(join(this.dir, `gobgp${i}.toml`), toml(i as 0 | 1));
    }
    await this.start(0);
    await this.start(1);
    await this.established();
  }

  async start(i: 0 | 1): Promise<void> {
    const log = openSync(join(this.dir, `gobgpd${i}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', NS[i], 'gobgpd', '-f', join(this.dir, `gobgp${i}.toml`), '-p', '--api-hosts', API[i], '--pprof-disable'], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    this.pids[i] = child.pid ?? null;
    // The gRPC API answers once gobgpd is up.
    const t0 = Date.now();
    while ((await this.cli(i, ['global'], false)).exitCode !== 0) {
      if (Date.now() - t0 > 30000) throw new Error(`gobgpd ${i} did not answer on ${API[i]} within 30 s (log ${this.dir}/gobgpd${i}.log)`);
      await sleep(100);
    }
  }

  cli(i: 0 | 1, args: string[], check = true) {
    const [host, port] = API[i].split(':');
    return sh('ip', ['netns', 'exec', NS[i], 'gobgp', '-u', host!, '-p', port!, ...args], { check, timeoutMs: 60000 });
  }

  async established(timeoutMs = 60000): Promise<number> {
    const t0 = nowMs();
    while (!/Establ/.test((await this.cli(1, ['neighbor'], false)).stdout)) {
      if (nowMs() - t0 > timeoutMs) throw new Error('GoBGP session not established within 60 s');
      await sleep(50);
    }
    return nowMs();
  }

  async ribCount(i: 0 | 1): Promise<number> {
    const out = (await this.cli(i, ['global', 'rib', 'summary', '-a', 'evpn'], false)).stdout;
    const m = /Destination:\s*(\d+)/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  /** Loads n EVPN type-2 routes into speaker A, `parallel` CLI calls at a time. */
  async load(n: number, parallel: number, progress: (s: string) => void): Promise<number> {
    const t0 = nowMs();
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const m = `02:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`;
        await this.cli(0, ['global', 'rib', '-a', 'evpn', 'add', 'macadv', m, `10.${100 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`, 'etag', '0', 'label', '100', 'rd', '10.99.0.1:100', 'rt', '65001:100', 'encap', 'vxlan', 'nexthop', '10.99.0.1']);
        if ((i + 1) % 1000 === 0) progress(`GoBGP: ${i + 1}/${n} routes added to speaker A`);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return nowMs() - t0;
  }

  /** Restarts speaker B and times Established -> n routes in its RIB. */
  async resync(n: number): Promise<number> {
    if (this.pids[1]) await stopPid(this.pids[1]);
    await this.start(1);
    const te = await this.established();
    for (;;) {
      if ((await this.ribCount(1)) >= n) return nowMs() - te;
      if (nowMs() - te > 600000) throw new Error(`speaker B holds fewer than ${n} routes after 600 s`);
      await sleep(50);
    }
  }

  rss(i: 0 | 1): number | null {
    const p = this.pids[i];
    if (!p) return null;
    // `ip netns exec` execs gobgpd, so the pid is gobgpd's own.
    return rssBytes(p);
  }

  async down(): Promise<void> {
    for (const p of this.pids) if (p && alive(p)) await stopPid(p);
    this.pids = [null, null];
    for (const n of NS) await sh('ip', ['netns', 'del', n], { check: false });
  }

  async remove(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function gobgpAvailable(log: (s: string) => void): Promise<string | null> {
  return ensurePeer(['gobgpd', 'gobgp'], ['gobgpd'], log);
}

export async function runGobgp(n: number, resyncs: number, log: (s: string) => void, defer: (what: string, fn: () => Promise<void>) => void): Promise<GobgpResult> {
  const g = new GobgpPeer();
  defer('GoBGP speakers', () => g.remove());
  await g.up();
  await sleep(500);
  const rssIdle = g.rss(0);
  log(`GoBGP: loading ${n} EVPN type-2 routes into speaker A through the CLI (2 at a time)`);
  const loadMs = await g.load(n, 2, log);
  const have = await g.ribCount(0);
  if (have < n) throw new Error(`speaker A holds ${have} of ${n} routes after loading`);
  const receiveMs: number[] = [];
  for (let k = 0; k < resyncs; k++) {
    receiveMs.push(await g.resync(n));
    log(`GoBGP: fresh speaker B received ${n} routes in ${receiveMs.at(-1)!.toFixed(0)} ms`);
  }
  return { routes: n, loadMs, receiveMs, rssIdle, rssLoaded: g.rss(0) };
}
