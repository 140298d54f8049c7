// tcpdump inside a lab namespace: started before the traffic, stopped after it, the frames as text
// lines (-e: link-level headers, so broadcast destinations and ARP opcodes are visible).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { DemoError } from './errors.js';

export interface Capture {
  where: string;
  child: ChildProcess;
  stop(): Promise<string[]>;
}

/** Resolves once tcpdump listens; stop() ends it (by its own PID) and returns the captured frames. */
export function startCapture(ns: string, iface: string, where: string, filter: string[] = []): Promise<Capture> {
  return new Promise((resolve, reject) => {
    // `ip netns exec` execs tcpdump, so the child's PID is tcpdump's own.
    const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-e', '-l', '-vv', ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DemoError(`tcpdump on ${where} (namespace ${ns}, ${iface}) did not start within 15 s`));
    }, 15_000);
    const onEarlyExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new DemoError(`tcpdump on ${where} (namespace ${ns}, ${iface}) exited (${code ?? 'signal'}): ${stderr.trim()}`));
    };
    child.once('exit', onEarlyExit);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!stderr.includes('listening on')) return;
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      resolve({
        where,
        child,
        stop: () =>
          new Promise<string[]>((done) => {
            const finish = (): void => done(buf ? [...lines, buf] : lines);
            if (child.exitCode !== null || child.signalCode !== null) return finish();
            child.once('exit', finish);
            // SIGINT lets tcpdump flush what it has buffered.
            child.kill('SIGINT');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }),
      });
    });
  });
}
