// `bumless cert`: creates the mesh's cluster CA and per-host certificates (src/mesh/cert.ts).
import { parseArgs } from 'node:util';
import type { Command } from '../cli/command.js';
import { UsageError } from '../cli/command.js';
import { CertError, createCa, createHostCert, describeCert } from './cert.js';

const HELP = `usage: bumless cert <subcommand> --dir DIR [options]

  ca   --dir DIR [--days N] [--force] [--json]
         create the cluster CA: DIR/ca.crt and DIR/ca.key (mode 0600)
  host --dir DIR --host-id H [--ip A]... [--ca-dir DIR] [--days N] [--force] [--json]
         create DIR/H.crt and DIR/H.key for agent H, signed by the CA in --ca-dir (default DIR);
         the certificate names H as CN and DNS name (the mesh checks it against the host id
         a peer claims) and each --ip as an IP address

Configure an agent with mesh.tls = { ca: DIR/ca.crt, cert: DIR/H.crt, key: DIR/H.key }.`;

export const certCommand: Command = {
  name: 'cert',
  summary: 'create the mesh CA and per-host certificates (openssl)',
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log(HELP);
      return sub === undefined ? 2 : 0;
    }
    let values: Record<string, string | boolean | string[] | undefined>;
    try {
      ({ values } = parseArgs({
        args: rest,
        options: {
          dir: { type: 'string' },
          'host-id': { type: 'string' },
          ip: { type: 'string', multiple: true },
          'ca-dir': { type: 'string' },
          days: { type: 'string' },
          force: { type: 'boolean' },
          json: { type: 'boolean' },
        },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
    }
    const dir = values.dir;
    if (typeof dir !== 'string') throw new UsageError(`--dir is required\n\n${HELP}`);
    const daysRaw = values.days;
    if (daysRaw !== undefined && (typeof daysRaw !== 'string' || !/^\d{1,5}$/.test(daysRaw) || Number(daysRaw) < 1)) {
      throw new UsageError('--days must be a whole number of days (1-99999)');
    }
    const common = { force: values.force === true, ...(typeof daysRaw === 'string' ? { days: Number(daysRaw) } : {}) };
    try {
      let files;
      if (sub === 'ca') files = await createCa(dir, common);
      else if (sub === 'host') {
        const hostId = values['host-id'];
        if (typeof hostId !== 'string') throw new UsageError('cert host: --host-id is required');
        const caDir = values['ca-dir'];
        files = await createHostCert(dir, hostId, {
          ...common,
          ips: Array.isArray(values.ip) ? values.ip : [],
          ...(typeof caDir === 'string' ? { caDir } : {}),
        });
      } else throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
      const info = await describeCert(files.cert);
      if (values.json === true) console.log(JSON.stringify({ ...files, ...info }, null, 2));
      else console.log(`wrote ${files.cert} (${info.subject}${info.san ? `; ${info.san}` : ''}; valid until ${info.notAfter})\nwrote ${files.key} (mode 0600)`);
      return 0;
    } catch (err) {
      if (err instanceof CertError) throw new UsageError(err.message, 1);
      throw err;
    }
  },
};
