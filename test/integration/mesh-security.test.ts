// Issue 5, lab tests of the mesh's front door with three real agents. A client inside h1's namespace
// (support/mesh-ns-child.ts, the `ws` library with the given TLS files) connects to h2's mesh port:
// - a certificate from another CA fails the TLS handshake;
// - a certificate of the lab's CA for a host that is not a configured peer is refused (not-authorized),
//   and an OPEN claiming a host id the certificate does not name is refused (host-id-mismatch);
// - an authenticated peer (h1's own certificate, h1's agent stopped) sending malformed JSON, a message
//   that fails the schema, a frame over mesh.maxPayload, or a record forged for another host gets its
//   session closed with the reason (or the record rejected);
// and after each, h2 still runs (same PID), its registry is unchanged and it keeps serving h3.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caFiles } from '../../src/lab/index.js';
import { MESH_PORT, MeshLab, acknowledged, canonical, labName, until } from '../support/mesh-lab.js';
import type { Frame, WsResult } from '../support/mesh-lab.js';

const NET = 'sec/net';
const MAX_PAYLOAD = 65536;
const mac = (host: number, i: number) => `02:5c:00:00:0${host}:${i.toString(16).padStart(2, '0')}`;
// Set once the lab is up: h1's OPEN must announce h1's VTEP, the IP its certificate names.
let OPEN_H1 = '';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** An EC P-256 key and a certificate for `cn` (CN and DNS SAN) signed by the given CA. */
function issue(dir: string, cn: string, ca: { crt: string; key: string }, tag: string): { cert: string; key: string } {
  const key = join(dir, `${tag}.key`);
  const csr = join(dir, `${tag}.csr`);
  const cert = join(dir, `${tag}.crt`);
  const ext = join(dir, `${tag}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', `0x${Date.now().toString(16)}`, '-days', '30', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

void describe('mesh: refused peers and rejected frames (three agents)', () => {
  const name = labName('ms');
  let m: MeshLab | undefined;
  let dir: string | undefined;
  const lab = () => m!;
  let h2Pid: number | undefined;
  let baseline = '';
  const certs: Record<string, { cert: string; key: string }> = {};

  before(async () => {
    // Longer timers than FAST_MESH (hold 1.2 s): every check here expects the real sessions to stay up,
    // and an agent stalled for 0.9 s on a loaded machine lost them to its peers' hold timers. Nothing
    // here waits for a hold to expire (h1's agent is stopped, which closes its sessions at once).
    m = await MeshLab.up(name, { set: { 'mesh.maxPayload': MAX_PAYLOAD, 'mesh.keepaliveMs': 1000, 'mesh.holdMs': 6000 } });
    OPEN_H1 = JSON.stringify({ type: 'open', version: 2, hostId: 'h1', reflector: false, holdMs: 9000, vv: {}, vtep: m.lab.host('h1').underlayIp });
    await m.network('h2', 'sec', 'net', '10.24.0.0/16', 2400);
    // Endpoints on h2 and h3 only: stopping h1 later changes nothing in the registries.
    for (const h of [2, 3]) {
      for (let i = 1; i <= 3; i++) {
        const r = await m.api(`h${h}`, 'POST', '/v1/endpoints', { network: NET, mac: mac(h, i), ips: [`10.24.${h}.${i}`], port: `p${i}` });
        if (!acknowledged(r.status)) throw new Error(`register on h${h}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    }
    baseline = canonical(await m.converged('six endpoints everywhere', (e) => e.length === 6 && e.every((x) => !x.stale)));
    h2Pid = await m.agentPid('h2');

    dir = mkdtempSync(join(tmpdir(), 'bumless-mesh-sec-'));
    const foreignCa = { crt: join(dir, 'foreign-ca.crt'), key: join(dir, 'foreign-ca.key') };
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', foreignCa.key, '-out', foreignCa.crt, '-days', '30',
      '-subj', '/CN=another cluster CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    certs.foreign = issue(dir, 'h1', foreignCa, 'foreign-h1');
    certs.h9 = issue(dir, 'h9', caFiles(m.lab.dir), 'lab-h9');
    const h1Dir = m.lab.hostPaths('h1').dir;
    certs.h1 = { cert: join(h1Dir, 'mesh.crt'), key: join(h1Dir, 'mesh.key') };
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await MeshLab.teardown(name, m);
  });

  /** Connects from h1's namespace to h2's mesh port with the named certificate and sends `frames`. */
  function connect(cert: string, frames: Frame[], waitMs = 3000): Promise<WsResult> {
    const c = certs[cert]!;
    return lab().clients.get('h1')!.ws({
      url: `wss://${lab().lab.host('h2').underlayIp}:${MESH_PORT}`,
      ca: caFiles(lab().lab.dir).crt,
      cert: c.cert,
      key: c.key,
      frames,
      waitMs,
    });
  }

  /** The notification codes h2 sent on a connection. */
  function notifications(r: WsResult): string[] {
    return r.received.flatMap((t) => {
      const msg = JSON.parse(t) as { type: string; code?: string };
      return msg.type === 'notification' && msg.code ? [msg.code] : [];
    });
  }

  /** h2 still runs as the same process, its registry is unchanged and its session with h3 is up. */
  async function h2Unharmed(): Promise<void> {
    assert.equal(await lab().agentPid('h2'), h2Pid, 'h2\'s agent is no longer the same process');
    assert.equal(canonical(await lab().endpoints('h2')), baseline, 'h2\'s registry changed');
    const s = await lab().status('h2');
    assert.equal(s.peers.find((p) => p.hostId === 'h3')?.state, 'established');
  }

  void it('a certificate from another CA fails the TLS handshake', async () => {
    const r = await connect('foreign', [OPEN_H1]);
    assert.equal(r.opened, false, JSON.stringify(r));
    assert.ok(r.error, 'no error reported for a refused handshake');
    // The server's TLS error event can come after the client has seen the refusal: wait for the log line.
    const logPath = lab().lab.hostPaths('h2').agentLog;
    await until('h2 logs the refused TLS handshake', () => Promise.resolve(/TLS handshake refused/.test(readFileSync(logPath, 'utf8')) ? true : undefined), 10000, 100);
    await h2Unharmed();
    assert.equal((await lab().status('h2')).peers.find((p) => p.hostId === 'h1')?.state, 'established', 'the real h1 keeps its session');
  });

  void it('a lab certificate for an unconfigured host, or naming another host than the OPEN claims, is refused', async () => {
    // The lab's CA signed h9's certificate, so TLS passes; h9 is not a peer of h2.
    const notPeer = await connect('h9', [JSON.stringify({ type: 'open', version: 2, hostId: 'h9', reflector: false, holdMs: 9000, vv: {}, vtep: '192.0.2.9' })]);
    assert.equal(notPeer.opened, true, JSON.stringify(notPeer));
    assert.equal(notPeer.closeCode, 1008, JSON.stringify(notPeer));
    assert.match(notPeer.closeReason ?? '', /^not-authorized/);
    assert.deepEqual(notifications(notPeer), ['not-authorized']);
    // h9's certificate claiming to be h1 (a configured peer).
    const claimsH1 = await connect('h9', [OPEN_H1]);
    assert.equal(claimsH1.closeCode, 1008, JSON.stringify(claimsH1));
    assert.match(claimsH1.closeReason ?? '', /^host-id-mismatch/);
    // h1's own certificate claiming to be h3.
    const claimsH3 = await connect('h1', [JSON.stringify({ type: 'open', version: 2, hostId: 'h3', reflector: false, holdMs: 9000, vv: {}, vtep: '192.0.2.3' })]);
    assert.equal(claimsH3.closeCode, 1008, JSON.stringify(claimsH3));
    assert.match(claimsH3.closeReason ?? '', /^host-id-mismatch/);
    assert.deepEqual(notifications(claimsH3), ['host-id-mismatch']);
    await h2Unharmed();
    assert.equal((await lab().status('h2')).peers.find((p) => p.hostId === 'h1')?.state, 'established', 'the real h1 keeps its session');
  });

  void it('malformed, invalid, oversized and forged frames from an authenticated peer are rejected; the agent keeps serving', async () => {
    // h1's agent stops so that its certificate can open a session of its own with h2.
    await lab().lab.stopAgents({ host: 'h1' });
    await until('h2 without a session with h1', async () => ((await lab().status('h2')).peers.find((p) => p.hostId === 'h1')?.state !== 'established' ? true : undefined), 10000, 100);

    const notJson = await connect('h1', ['{not json']);
    assert.equal(notJson.opened, true);
    assert.equal(notJson.closeCode, 1002, JSON.stringify(notJson));
    assert.match(notJson.closeReason ?? '', /^malformed-json/);
    await h2Unharmed();

    const invalid = await connect('h1', [OPEN_H1, JSON.stringify({ type: 'update', records: [{ kind: 'endpoint', key: 'nonsense' }] })]);
    assert.equal(invalid.closeCode, 1002, JSON.stringify(invalid));
    assert.match(invalid.closeReason ?? '', /^invalid-message/);
    // h2 had answered the valid OPEN with its own before refusing the UPDATE.
    assert.equal((JSON.parse(invalid.received[0]!) as { type: string }).type, 'open');
    assert.deepEqual(notifications(invalid), ['invalid-message']);
    await h2Unharmed();

    const oversized = await connect('h1', [OPEN_H1, { bytes: MAX_PAYLOAD * 3 }]);
    assert.equal(oversized.closeCode, 1009, JSON.stringify({ ...oversized, received: oversized.received.length }));
    await h2Unharmed();

    // Well-formed, but an endpoint of h3 sent by h1: endpoint records are only their own host's.
    const now = Date.now();
    const forged = {
      kind: 'endpoint',
      key: `e/sec/net/02:5c:00:00:03:77/h3`,
      origin: 'h1',
      counter: 1,
      hlc: { wall: now, logical: 0, node: 'h1' },
      deleted: false,
      value: {
        network: NET, mac: '02:5c:00:00:03:77', ips: ['10.24.3.77'], hostId: 'h3', vtep: lab().lab.host('h3').underlayIp, port: 'p77', seq: 0,
        createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(),
      },
    };
    const forgedRun = await connect('h1', [OPEN_H1, JSON.stringify({ type: 'update', records: [forged] })]);
    assert.equal(forgedRun.opened, true);
    await h2Unharmed();
    assert.ok(!(await lab().endpoints('h2')).some((e) => e.mac === '02:5c:00:00:03:77'), 'a forged record was applied');

    // Still serving the other peer: a registration on h3 reaches h2.
    const r = await lab().api('h3', 'POST', '/v1/endpoints', { network: NET, mac: mac(3, 9), ips: ['10.24.3.9'], port: 'p9' });
    assert.ok(acknowledged(r.status), JSON.stringify(r.body));
    await until('h3\'s new endpoint on h2', async () => ((await lab().endpoints('h2')).some((e) => e.mac === mac(3, 9)) ? true : undefined), 10000, 100);
    assert.equal(await lab().agentPid('h2'), h2Pid);
    // And the real h1 comes back and resynchronises.
    await lab().startAgent('h1');
    await lab().converged('every registry equal with h1 back', (e) => e.length === 7 && e.every((x) => !x.stale), 30000);
  });
});
