// Cluster PKI for the mesh: one CA per cluster and one certificate per host, made with the openssl
// CLI (node:crypto creates keys but not X.509 certificates). A host certificate names the host id
// as subject CN and as a DNS subjectAltName (the mesh binds a peer's claimed host id to these), plus
// optional IP SANs; it is valid for both TLS server and client auth because every agent is both.
// Keys are EC P-256, written with mode 0600.
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Name } from '../registry/model.js';

export class CertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertError';
  }
}

export interface CertFiles {
  cert: string;
  key: string;
}

export interface CertOptions {
  days?: number;
  /** Replace existing files instead of refusing. */
  force?: boolean;
}

async function openssl(args: string[]): Promise<string> {
  try {
    const r = await execa('openssl', args, { stdin: 'ignore' });
    return r.stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; shortMessage?: string };
    if (e.code === 'ENOENT') throw new CertError('openssl is not installed; install it (apt-get install openssl) and retry');
    throw new CertError(`openssl ${args[0]} failed: ${(e.stderr || e.shortMessage || String(err)).trim().split('\n').slice(-3).join(' ')}`);
  }
}

function refuseOverwrite(paths: string[], force: boolean | undefined): void {
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length && !force) throw new CertError(`${existing.join(' and ')} already exist; use --force to replace them (peers holding certificates from an old CA will be refused)`);
}

export function caFiles(dir: string): CertFiles {
  return { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

export function hostFiles(dir: string, hostId: string): CertFiles {
  return { cert: join(dir, `${hostId}.crt`), key: join(dir, `${hostId}.key`) };
}

/** Creates the cluster CA (ca.crt, ca.key) in `dir`. */
export async function createCa(dir: string, opts: CertOptions & { name?: string } = {}): Promise<CertFiles> {
  mkdirSync(dir, { recursive: true });
  const files = caFiles(dir);
  refuseOverwrite([files.cert, files.key], opts.force);
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', files.key, '-out', files.cert,
    '-days', String(opts.days ?? 3650),
    '-subj', `/CN=${(opts.name ?? 'bumless cluster CA').replace(/[/=]/g, ' ')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(files.key, 0o600);
  return files;
}

/** Creates `<hostId>.crt` and `<hostId>.key` in `dir`, signed by the CA in `dir` (or `caDir`). */
export async function createHostCert(
  dir: string,
  hostId: string,
  opts: CertOptions & { ips?: string[]; caDir?: string } = {},
): Promise<CertFiles> {
  const id = Name.safeParse(hostId);
  if (!id.success) throw new CertError(`invalid host id "${hostId}": lower-case letters, digits and "-", 1-63 characters`);
  const bad = (opts.ips ?? []).filter((ip) => isIP(ip) === 0);
  if (bad.length) throw new CertError(`not an IP address: ${bad.join(', ')}`);
  const ca = caFiles(opts.caDir ?? dir);
  if (!existsSync(ca.cert) || !existsSync(ca.key)) throw new CertError(`no CA in ${opts.caDir ?? dir}; create it first: bumless cert ca --dir ${opts.caDir ?? dir}`);
  mkdirSync(dir, { recursive: true });
  const files = hostFiles(dir, hostId);
  refuseOverwrite([files.cert, files.key], opts.force);
  const csr = join(dir, `.${hostId}.${process.pid}.csr`);
  const ext = join(dir, `.${hostId}.${process.pid}.ext`);
  const san = [`DNS:${hostId}`, ...(opts.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(
    ext,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`,
  );
  try {
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', csr, '-subj', `/CN=${hostId}`]);
    chmodSync(files.key, 0o600);
    await openssl([
      'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key,
      '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(opts.days ?? 825), '-sha256', '-extfile', ext, '-out', files.cert,
    ]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return files;
}

/** Subject, SANs and validity of a certificate, for the CLI's output. */
export async function describeCert(path: string): Promise<{ subject: string; san: string; notAfter: string }> {
  const out = await openssl(['x509', '-in', path, '-noout', '-subject', '-enddate', '-ext', 'subjectAltName']);
  const subject = /subject=\s*(.*)/.exec(out)?.[1]?.trim() ?? '';
  const notAfter = /notAfter=(.*)/.exec(out)?.[1]?.trim() ?? '';
  const san = /Subject Alternative Name:\s*\n\s*(.*)/.exec(out)?.[1]?.trim() ?? '';
  return { subject, san, notAfter };
}
