// How the session reaches the switch: a byte stream behind a small interface, so unit tests can put an
// in-memory switch on the other end. Real targets: unix:PATH (the bridge's management socket, as OVN's
// controller connects), tcp:HOST:PORT and ssl:HOST:PORT (client certificate, TLS 1.2 or later).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { SwitchError } from './errors.js';

/** The part of a socket the session uses. net.Socket and tls.TLSSocket satisfy it. */
export interface ByteStream {
  write(chunk: Uint8Array): boolean;
  destroy(): void;
  on(event: 'data', cb: (chunk: Buffer) => void): unknown;
  on(event: 'drain' | 'close', cb: () => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
}

export type Connector = (target: OpenFlowTarget) => Promise<ByteStream>;

export type OpenFlowTarget =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssl'; host: string; port: number; tls: TlsFiles };

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The default target: the bridge's management socket in the Open vSwitch run directory. */
export function defaultTarget(bridge: string, rundir = '/var/run/openvswitch'): string {
  return `unix:${rundir.replace(/\/$/, '')}/${bridge}.mgmt`;
}

export function parseTarget(spec: string, tlsFiles?: TlsFiles): OpenFlowTarget {
  if (spec.startsWith('unix:') && spec.length > 5) return { kind: 'unix', path: spec.slice(5) };
  const m = /^(tcp|ssl):(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(spec);
  if (m) {
    const host = (m[2] ?? '').replace(/^\[|\]$/g, '');
    const port = Number(m[3]);
    if (port < 1 || port > 65535) {
      throw new SwitchError('SWITCH_BAD_TARGET', `OpenFlow target ${spec}: port ${port} is outside 1-65535`);
    }
    if (m[1] === 'tcp') return { kind: 'tcp', host, port };
    if (!tlsFiles) {
      throw new SwitchError('SWITCH_BAD_TARGET', `OpenFlow target ${spec} needs a client certificate; set openflow.tls.{ca,cert,key} in the config`);
    }
    return { kind: 'ssl', host, port, tls: tlsFiles };
  }
  throw new SwitchError('SWITCH_BAD_TARGET', `OpenFlow target "${spec}" is not unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT`);
}

export function describeTarget(t: OpenFlowTarget): string {
  return t.kind === 'unix' ? `unix:${t.path}` : `${t.kind}:${t.host}:${t.port}`;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SwitchError('SWITCH_TLS_FILES', `cannot read the ${what} ${path} (${(err as Error).message}); check openflow.tls in the config`);
  }
}

/** Connects for real; resolves once the stream is usable (after the TLS handshake for ssl:). */
export const netConnector: Connector = (target) =>
  new Promise<ByteStream>((resolve, reject) => {
    let sock: net.Socket;
    const onError = (err: Error): void => reject(err);
    if (target.kind === 'unix') {
      sock = net.createConnection({ path: target.path }, () => done());
    } else if (target.kind === 'tcp') {
      sock = net.createConnection({ host: target.host, port: target.port }, () => done());
    } else {
      const opts: tls.ConnectionOptions = {
        host: target.host,
        port: target.port,
        ca: readPem(target.tls.ca, 'CA certificate'),
        cert: readPem(target.tls.cert, 'client certificate'),
        key: readPem(target.tls.key, 'client key'),
        minVersion: 'TLSv1.2',
      };
      // Switch certificates are commonly issued for a datapath, not a DNS name; the CA pins trust.
      if (net.isIP(target.host)) opts.checkServerIdentity = () => undefined;
      sock = tls.connect(opts, () => done());
    }
    const done = (): void => {
      sock.off('error', onError);
      sock.setNoDelay(true);
      resolve(sock);
    };
    sock.once('error', onError);
  });
