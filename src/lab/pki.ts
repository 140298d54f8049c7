// Mesh certificates for a lab: one CA per lab and one certificate per host naming its host id (subject
// CN and DNS name, which the mesh checks against the configured peer) and its underlay IP. Made with
// the openssl command line; EC P-256 keys keep it to milliseconds.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './system.js';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

const DAYS = '3650';

export function caFiles(labDir: string): { dir: string; crt: string; key: string } {
  const dir = join(labDir, 'pki');
  return { dir, crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** Creates the lab's CA once. */
export async function ensureCa(lab: string, labDir: string): Promise<void> {
  const ca = caFiles(labDir);
  if (existsSync(ca.crt) && existsSync(ca.key)) return;
  mkdirSync(ca.dir, { recursive: true, mode: 0o700 });
  await run('pki', [
    'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', ca.key, '-out', ca.crt, '-days', DAYS, '-subj', `/CN=bumless lab ${lab} CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Creates a host's key and certificate (signed by the lab CA) once; returns the files for mesh.tls. */
export async function ensureHostCert(labDir: string, hostDir: string, hostId: string, ip: string): Promise<TlsFiles> {
  const ca = caFiles(labDir);
  const files = { ca: ca.crt, cert: join(hostDir, 'mesh.crt'), key: join(hostDir, 'mesh.key') };
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  const csr = join(hostDir, 'mesh.csr');
  const ext = join(hostDir, 'mesh.ext');
  writeFileSync(ext, `subjectAltName=DNS:${hostId},IP:${ip}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n`);
  await run(hostId, [
    'openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', files.key, '-out', csr, '-subj', `/CN=${hostId}`,
  ]);
  await run(hostId, [
    'openssl', 'x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-days', DAYS, '-extfile', ext, '-out', files.cert,
  ]);
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  return files;
}
