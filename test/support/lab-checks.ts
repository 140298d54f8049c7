// Helpers for tests that run on a lab: hand-written static flows (the lab's self-test runs before any
// agent exists), pings that allow for the userspace tunnel's first-packet ARP, and a record of what
// a lab left on the machine.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Lab } from '../../src/lab/index.js';

/**
 * One tenant (tun_id = vni) across hosts: frames from a container get the VNI, go to the local container
 * or through tun0 to the host of the destination MAC; everything else is dropped. Containers get static
 * neighbour entries, so no ARP is needed.
 */
export async function installStaticFlows(lab: Lab, vni: number): Promise<void> {
  const status = await lab.status();
  const containers = status.containers;
  for (const host of status.hosts) {
    const tun = host.ofports.tun0;
    if (tun === undefined) throw new Error(`${host.id}: no tun0 ofport in ${JSON.stringify(host.ofports)}`);
    const flows: string[] = [`table=0,priority=100,in_port=${tun},actions=goto_table:1`, 'table=1,priority=0,actions=drop'];
    for (const c of containers) {
      const mac = c.mac;
      if (c.host === host.id) {
        const port = host.ofports[c.port];
        if (port === undefined) throw new Error(`${host.id}: no ofport for ${c.port}`);
        flows.push(`table=0,priority=100,in_port=${port},actions=set_field:${vni}->tun_id,goto_table:1`);
        flows.push(`table=1,priority=100,tun_id=${vni},dl_dst=${mac},actions=output:${port}`);
      } else {
        const remote = status.hosts.find((h) => h.id === c.host);
        if (!remote) throw new Error(`no host ${c.host}`);
        flows.push(`table=1,priority=100,tun_id=${vni},dl_dst=${mac},actions=set_field:${remote.underlayIp}->tun_dst,output:${tun}`);
      }
    }
    for (const flow of flows) await lab.ofctl(host.id, 'add-flow', [flow]);
  }
  for (const c of containers) {
    for (const other of containers) {
      if (other.name === c.name) continue;
      await lab.exec({ container: c.name }, ['ip', 'neigh', 'replace', other.ip.split('/')[0] ?? '', 'lladdr', other.mac, 'dev', 'eth0']);
    }
  }
}

/** Pings until one reply: the userspace tunnel drops the first packet to a new peer while it resolves ARP. */
export async function ping(lab: Lab, from: Parameters<Lab['exec']>[0], ip: string, tries = 5): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await lab.exec(from, ['ping', '-c', '1', '-W', '1', ip], { check: false, timeoutMs: 5000 });
    if (r.exitCode === 0) return true;
  }
  return false;
}

export interface MachineRecord {
  namespaces: string[];
  rootLinks: string[];
  dirExists: boolean;
}

export function namespacesOf(lab: string): string[] {
  try {
    return readdirSync('/run/netns').filter((ns) => ns.startsWith(`${lab}-`));
  } catch {
    return [];
  }
}

export function rootLinks(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.split(':')[1] ?? '').trim().split('@')[0] ?? '')
    .sort();
}

export function record(lab: string, dir: string): MachineRecord {
  return { namespaces: namespacesOf(lab), rootLinks: rootLinks(), dirExists: existsSync(dir) };
}

/** A PID that runs (zombies count as gone: this machine's init does not always reap orphans). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
