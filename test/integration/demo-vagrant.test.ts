// The Vagrant demo, checked as far as a machine without Vagrant can: the Vagrantfile parses and, read by a
// stand-in for Vagrant's configuration DSL, defines the three VMs and their provisioning steps in order with
// scripts that exist; every script passes `bash -n` (and shellcheck when installed); the mesh certificates
// vagrant/pki.rb makes pass a mutual-TLS handshake with the mesh's own host-id check; and
// vagrant/demo-containers.sh, run against a three-host lab with agents, makes and registers the containers
// so that pings work in both tenants (idempotently). The host recipe itself (vagrant/lib/ovs-host.sh) runs
// in every lab test.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { Lab } from '../../src/lab/index.js';
import { certHostNames, loadMeshTls } from '../../src/mesh/mesh.js';

const ROOT = join(import.meta.dirname, '..', '..');
const VAGRANT_DIR = join(ROOT, 'vagrant');

/** Evaluates a Vagrantfile with a recording stand-in for Vagrant.configure; prints what it configured as JSON. */
const FAKE_VAGRANT = `
require "json"
class Rec
  attr_reader :data
  def initialize; @data = { "provision" => [], "network" => [], "define" => {}, "provider" => {} }; end
  def vm; self; end
  def box=(v); @data["box"] = v; end
  def hostname=(v); @data["hostname"] = v; end
  def synced_folder(src, dest, **opts); @data["synced"] = { "src" => src, "dest" => dest, "type" => opts[:type].to_s, "exclude" => opts[:rsync__exclude] }; end
  def network(kind, **opts); @data["network"] << { "kind" => kind, "ip" => opts[:ip] }; end
  def provision(name, **opts); @data["provision"] << { "name" => name, "type" => opts[:type].to_s, "path" => opts[:path], "inline" => opts[:inline], "args" => opts[:args], "source" => opts[:source], "destination" => opts[:destination] }; end
  def provider(name); p = Rec.new; yield p; @data["provider"][name] = p.data; end
  def memory=(v); @data["memory"] = v; end
  def cpus=(v); @data["cpus"] = v; end
  def define(name); d = Rec.new; yield d; @data["define"][name] = d.data; end
end
module Vagrant
  def self.configure(_version); rec = Rec.new; yield rec; $config = rec.data; end
end
Dir.chdir(ARGV[0]) { load File.join(ARGV[0], "Vagrantfile") }
puts JSON.generate($config)
`;

interface Provision {
  name: string;
  type: string;
  path: string | null;
  inline: string | null;
  args: string[] | null;
  source: string | null;
  destination: string | null;
}
interface VagrantConfig {
  box: string;
  synced: { src: string; dest: string; type: string; exclude: string[] };
  define: Record<string, { hostname: string; network: Array<{ kind: string; ip: string }>; provision: Provision[] }>;
}

function shellScripts(): string[] {
  return [
    ...readdirSync(VAGRANT_DIR).filter((f) => f.endsWith('.sh')).map((f) => join(VAGRANT_DIR, f)),
    ...readdirSync(join(VAGRANT_DIR, 'lib')).filter((f) => f.endsWith('.sh')).map((f) => join(VAGRANT_DIR, 'lib', f)),
  ];
}

void describe('Vagrant demo files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bumless-vagrant-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  void it('ruby -c Vagrantfile and bash -n on every script (shellcheck too when installed)', async () => {
    const ruby = await execa('ruby', ['-c', join(ROOT, 'Vagrantfile')], { reject: false });
    assert.equal(ruby.exitCode, 0, ruby.stderr);
    assert.match(ruby.stdout, /Syntax OK/);
    const scripts = shellScripts();
    assert.ok(scripts.length >= 7, scripts.join(' '));
    for (const s of scripts) {
      const r = await execa('bash', ['-n', s], { reject: false });
      assert.equal(r.exitCode, 0, `${s}: ${r.stderr}`);
    }
    const which = await execa('sh', ['-c', 'command -v shellcheck'], { reject: false });
    if (which.exitCode === 0) {
      const sc = await execa('shellcheck', scripts, { reject: false });
      assert.equal(sc.exitCode, 0, sc.stdout);
    }
  });

  void it('defines vm1-vm3 on 192.168.56.11-13 with the lab recipe, Node.js, bumless, the agent and the containers, in that order', async () => {
    // A copy, so the certificates the Vagrantfile makes at load time land in the copy, not in the checkout.
    const copy = join(tmp, 'checkout');
    cpSync(join(ROOT, 'Vagrantfile'), join(copy, 'Vagrantfile'));
    cpSync(VAGRANT_DIR, join(copy, 'vagrant'), { recursive: true, filter: (src) => !src.includes('.pki') });
    const r = await execa('ruby', ['-e', FAKE_VAGRANT, copy], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as VagrantConfig;
    assert.equal(cfg.box, 'debian/bookworm64');
    assert.equal(cfg.synced.dest, '/vagrant');
    assert.equal(cfg.synced.type, 'rsync');
    assert.ok(cfg.synced.exclude.includes('node_modules/'));
    // The synced folder carries the checkout to every VM, so the certificates must not travel with it.
    assert.ok(cfg.synced.exclude.includes('vagrant/.pki/'), cfg.synced.exclude.join(' '));
    assert.deepEqual(Object.keys(cfg.define), ['vm1', 'vm2', 'vm3']);
    for (const [n, id] of ['vm1', 'vm2', 'vm3'].entries()) {
      const vm = cfg.define[id]!;
      const ip = `192.168.56.${11 + n}`;
      assert.equal(vm.hostname, id);
      assert.deepEqual(vm.network, [{ kind: 'private_network', ip }]);
      const stage = '/home/vagrant/.bumless-pki';
      const pkiFiles = ['ca.crt', `${id}.crt`, `${id}.key`];
      assert.deepEqual(vm.provision.map((p) => p.name), ['ovs', 'node', 'bumless', 'pki-dir', ...pkiFiles.map((f) => `pki-${f}`), 'agent', 'containers']);
      const byName = (n: string) => vm.provision.find((p) => p.name === n)!;
      const [ovs, node, bumless, agent, containers] = ['ovs', 'node', 'bumless', 'agent', 'containers'].map(byName) as [Provision, Provision, Provision, Provision, Provision];
      // Mesh credentials: this VM gets the CA certificate and its own certificate and key, nothing more,
      // into a directory made 0700 before the upload; ca.key and the other hosts' keys stay on the Vagrant host.
      const uploads = vm.provision.filter((p) => p.type === 'file');
      assert.deepEqual(uploads.map((p) => p.source), pkiFiles.map((f) => join(copy, 'vagrant', '.pki', f)));
      assert.deepEqual(uploads.map((p) => p.destination), pkiFiles.map((f) => `${stage}/${f}`));
      const everything = JSON.stringify(vm.provision);
      assert.doesNotMatch(everything, /ca\.key/, `${id} receives no ca.key`);
      for (const other of ['vm1', 'vm2', 'vm3'].filter((x) => x !== id)) assert.doesNotMatch(everything, new RegExp(`${other}\\.key`), `${id} receives no ${other}.key`);
      const pkiDir = byName('pki-dir');
      assert.match(pkiDir.inline ?? '', /chmod 700 "\$1"/);
      assert.deepEqual(pkiDir.args, [stage]);
      // The lab's own host recipe, through provision-host.sh.
      assert.match(ovs.inline ?? '', /bash \/vagrant\/vagrant\/provision-host\.sh --ip "\$1\/24"/);
      assert.match(ovs.inline ?? '', /underlay-nic\.sh/);
      assert.deepEqual(ovs.args, [ip, 'vxlan']);
      for (const p of [node, bumless]) {
        assert.equal(p.type, 'shell');
        assert.ok(p.path && existsSync(join(ROOT, p.path)), `${id} ${p.name}: ${p.path} exists`);
        // Vagrant uploads a path: script alone to /tmp/vagrant-shell: it must not look for files beside itself.
        assert.doesNotMatch(readFileSync(join(ROOT, p.path), 'utf8'), /dirname "\$0"/, `${p.path} runs uploaded alone`);
      }
      // Scripts that use their neighbours run from the synced folder, with the provisioner's args.
      for (const [p, script] of [[agent, 'start-agent.sh'], [containers, 'demo-containers.sh']] as const) {
        assert.equal(p.type, 'shell');
        assert.equal(p.path, null, `${id} ${p.name} is not uploaded alone`);
        assert.equal(p.inline, `bash "/vagrant/vagrant/${script}" "$@"`);
        assert.ok(existsSync(join(VAGRANT_DIR, script)), script);
      }
      assert.deepEqual(node.args, ['20']);
      const peers = ['vm1', 'vm2', 'vm3'].filter((x) => x !== id);
      assert.deepEqual(agent.args?.slice(0, 6), ['--host-id', id, '--ip', ip, '--encap', 'vxlan']);
      for (const p of peers) assert.ok(agent.args?.includes(`${p}=192.168.56.${10 + Number(p.slice(2))}`), `${id} peers with ${p}`);
      const argAfter = (flag: string) => agent.args?.[agent.args.indexOf(flag) + 1];
      assert.equal(argAfter('--pki'), stage);
      assert.equal(argAfter('--remove-pki'), 'yes');
      assert.deepEqual(containers.args, ['--index', String(n + 1), '--api', `http://${ip}:8080`, '--encap', 'vxlan', '--create-tenants', n === 0 ? 'yes' : 'no']);
    }
    // Loading it made the mesh PKI (once: a second load keeps the CA).
    for (const f of ['ca.crt', 'ca.key', 'vm1.crt', 'vm1.key', 'vm2.crt', 'vm3.key']) assert.ok(existsSync(join(copy, 'vagrant', '.pki', f)), f);
    const again = await execa('ruby', ['-r', join(copy, 'vagrant', 'pki.rb'), '-e', `p BumlessPki.ensure("${join(copy, 'vagrant', '.pki')}", { "vm1" => "192.168.56.11" })`]);
    assert.equal(again.stdout.trim(), '[]');
  });

  void it('bumless-agent.service is sandboxed and may write exactly the data directory and the Open vSwitch run directory start-agent.sh configures', () => {
    const unit = readFileSync(join(VAGRANT_DIR, 'bumless-agent.service'), 'utf8');
    const directive = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes']]) {
      assert.deepEqual(directive(key!), [value], key);
    }
    const script = readFileSync(join(VAGRANT_DIR, 'start-agent.sh'), 'utf8');
    const dataDir = /"dataDir": "([^"]+)"/.exec(script)?.[1];
    const rundir = /"rundir": "([^"]+)"/.exec(script)?.[1];
    const db = /"db": "unix:([^"]+)"/.exec(script)?.[1];
    assert.ok(dataDir && rundir && db, 'start-agent.sh sets dataDir, ovs.rundir and ovs.db');
    // /var/run is a symlink to /run on Debian 12; systemd resolves ReadWritePaths= on the real path.
    const real = (p: string) => p.replace(/^\/var\/run\//, '/run/');
    const writable = directive('ReadWritePaths').flatMap((v) => v.split(/\s+/)).map(real);
    assert.deepEqual(writable.sort(), [real(dataDir), real(rundir)].sort());
    assert.equal(dirname(real(db)), real(rundir), 'the OVSDB socket is in the writable run directory');
  });

  void it('certificates from vagrant/pki.rb pass a mutual-TLS handshake and name their host ids; a foreign CA is refused', async () => {
    const pki = join(tmp, 'pki');
    const other = join(tmp, 'other');
    const make = (dir: string) =>
      execa('ruby', ['-r', join(VAGRANT_DIR, 'pki.rb'), '-e', `BumlessPki.ensure("${dir}", { "vm1" => "192.168.56.11", "vm2" => "192.168.56.12" })`]);
    await make(pki);
    await make(other);
    const vm1 = loadMeshTls({ ca: join(pki, 'ca.crt'), cert: join(pki, 'vm1.crt'), key: join(pki, 'vm1.key') });
    const vm2 = loadMeshTls({ ca: join(pki, 'ca.crt'), cert: join(pki, 'vm2.crt'), key: join(pki, 'vm2.key') });
    const stranger = loadMeshTls({ ca: join(other, 'ca.crt'), cert: join(other, 'vm2.crt'), key: join(other, 'vm2.key') });

    const seen: string[][] = [];
    const server = tls.createServer({ ...vm1, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (sock) => {
      seen.push(certHostNames(sock.getPeerCertificate()));
      sock.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const connect = (creds: typeof vm2) =>
      new Promise<{ ok: boolean; serverNames: string[]; error?: string }>((resolve) => {
        const s = tls.connect({ ...creds, host: '127.0.0.1', port, servername: 'vm1', checkServerIdentity: () => undefined }, () => {
          const names = certHostNames(s.getPeerCertificate());
          s.once('data', () => {
            s.end();
            resolve({ ok: true, serverNames: names });
          });
        });
        s.once('error', (e: Error) => resolve({ ok: false, serverNames: [], error: e.message }));
      });
    try {
      const good = await connect(vm2);
      assert.equal(good.ok, true, good.error);
      assert.ok(good.serverNames.includes('vm1'), good.serverNames.join(','));
      assert.ok(seen[0]?.includes('vm2'), JSON.stringify(seen));
      const bad = await connect(stranger);
      assert.equal(bad.ok, false, 'a certificate from another CA is refused');
      assert.equal(seen.length, 1);
    } finally {
      server.close();
    }
  });
});

void describe('vagrant/demo-containers.sh against a three-host lab', () => {
  const name = `dv${process.pid % 100000}`;
  let lab: Lab;

  before(async () => {
    await Lab.down(name);
    lab = await Lab.up({ lab: name, hosts: 3 });
    await lab.startAgents();
  });
  after(async () => {
    await Lab.down(name);
  });

  const runScript = (i: number, create: boolean) => {
    const h = lab.state.hosts[i - 1]!;
    return execa('bash', [
      join(VAGRANT_DIR, 'demo-containers.sh'), '--index', String(i), '--api', `http://${h.underlayIp}:8080`,
      '--create-tenants', create ? 'yes' : 'no', '--netns', h.ns, '--db', lab.hostPaths(h.id).db,
      '--token-file', join(lab.hostPaths(h.id).agentData, 'admin.token'), '--tokens-dir', join(h.dir, 'tokens'),
      // Named like the lab's containers, so `lab down` removes them with the lab.
      '--ns-prefix', `${name}-c-`, '--wait-seconds', '60',
    ], { reject: false });
  };

  void it('makes and registers h<N> and j<N> on every host; pings work in both tenants; a second run changes nothing', { timeout: 120_000 }, async () => {
    for (const i of [1, 2, 3]) {
      const r = await runScript(i, i === 1);
      assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`container h${i}: tenant-a/net 10\\.10\\.10\\.${i} aa:aa:aa:aa:aa:0${i} on port c-h${i}, registered \\(HTTP 201\\)`));
      assert.match(r.stdout, new RegExp(`container j${i}: tenant-b/net 10\\.10\\.10\\.${i} aa:aa:aa:aa:aa:0${i} on port c-j${i}, registered \\(HTTP 201\\)`));
      if (i === 1) assert.match(r.stdout, /tenant tenant-a created/);
    }
    const ping = async (container: string, ip: string): Promise<boolean> => {
      for (let k = 0; k < 5; k++) {
        const r = await execa('ip', ['netns', 'exec', `${name}-c-${container}`, 'ping', '-c', '1', '-W', '1', ip], { reject: false });
        if (r.exitCode === 0) return true;
      }
      return false;
    };
    assert.ok(await ping('h1', '10.10.10.3'), 'tenant-a h1 -> h3');
    assert.ok(await ping('j1', '10.10.10.2'), 'tenant-b j1 -> j2');
    assert.ok(await ping('h3', '10.10.10.2'), 'tenant-a h3 -> h2');

    const again = await runScript(2, false);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /container h2: .* registered \(HTTP 200\)/);
    assert.doesNotMatch(again.stdout, /created/);
  });
});
