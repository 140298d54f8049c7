// Data-plane measurements between two namespaces: ping RTT (per-packet, from ping -D output), iperf3
// TCP throughput (JSON), and the wildcard shape of a datapath flow (for counting masks).
import { spawn } from 'node:child_process';
import { Ping } from './ping.js';
import { median } from './stats.js';
import { sh, sleep } from './sys.js';

/** Median RTT (ms) of `count` pings at 10 ms intervals. */
export async function pingRtt(ns: string, dest: string, count: number): Promise<number> {
  const p = new Ping(ns, dest);
  await sleep(count * 10 + 300);
  const r = await p.stop();
  if (r.rttMs.length < count / 2) throw new Error(`ping ${dest} from ${ns}: ${r.received} of ${r.transmitted} answered`);
  return median(r.rttMs);
}

/** TCP throughput in Gbit/s of one iperf3 run of `seconds`, server in serverNs. */
export async function iperf(clientNs: string, serverNs: string, dest: string, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-p', '5201'], { stdio: 'ignore' });
  try {
    await sleep(500);
    const r = await sh('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', dest, '-p', '5201', '-t', String(seconds), '-J'], { timeoutMs: (seconds + 30) * 1000 });
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    const bps = j.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error(`iperf3 ${dest}: ${j.error ?? 'no result'}`);
    return bps / 1e9;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

/** The wildcard shape of a datapath flow key: field names with their masks, values dropped. */
export function maskShape(key: string): string {
  // Bare values first (in_port(2), eth_type(0x0800)): done after the field values were stripped, it
  // would also empty eth(dst) and merge it with eth(src).
  return key
    .replace(/\(([^=(),/]+)\)/g, '()')
    .replace(/=([^,()/]*)(\/[^,()]*)?/g, (_m, _v: string, mask: string | undefined) => mask ?? '');
}
