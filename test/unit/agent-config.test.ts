// The agent's configuration loader: file, BUMLESS_* environment and --set flags, in that order of
// precedence, and errors that name the key, where the value came from and what is allowed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configKeys, envName, loadConfig } from '../../src/agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'bumless-config-'));
function file(content: unknown): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}
const minimal = { hostId: 'h1', vtepIp: '192.168.100.11', dataDir: '/var/lib/bumless' };

void describe('agent config loader', () => {
  void it('reads a file and fills the defaults', () => {
    const { config, overrides } = loadConfig({ file: file(minimal) });
    assert.equal(config.hostId, 'h1');
    assert.equal(config.bridge, 'br-int');
    assert.equal(config.encap, 'vxlan');
    assert.equal(config.api.listen, '127.0.0.1:8080');
    assert.equal(config.openflow.echoIntervalMs, 5000);
    assert.deepEqual(config.mesh.peers, []);
    assert.deepEqual(config.registry, { duplicateMoves: 5, duplicateWindowMs: 180_000, tombstoneTtlMs: 86_400_000, maxClockSkewMs: 60_000 });
    assert.deepEqual(overrides, {});
  });

  void it('takes the registry\'s duplicate-detection thresholds and tombstone lifetime from flags', () => {
    const { config } = loadConfig({ file: file(minimal), sets: ['registry.duplicateMoves=3', 'registry.duplicateWindowMs=60000'], env: { BUMLESS_REGISTRY_TOMBSTONE_TTL_MS: '3600000' } });
    assert.deepEqual(config.registry, { duplicateMoves: 3, duplicateWindowMs: 60_000, tombstoneTtlMs: 3_600_000, maxClockSkewMs: 60_000 });
    assert.throws(() => loadConfig({ file: file(minimal), sets: ['registry.duplicateMoves=0'] }), (e: unknown) => e instanceof ConfigError && /registry\.duplicateMoves/.test(e.message));
  });

  void it('has the API\'s rate limit, default quotas, metrics access and install timeout, with today\'s defaults', () => {
    const { config } = loadConfig({ file: file(minimal) });
    assert.deepEqual(config.api.rateLimit, { perSecond: 50, burst: 200 });
    assert.deepEqual(config.api.defaultQuota, { networks: 64, endpoints: 4096, tokens: 32 });
    assert.equal(config.api.metricsPublic, false);
    assert.equal(config.api.installTimeoutMs, 5000);
    const set = loadConfig({
      file: file(minimal),
      sets: ['api.rateLimit.perSecond=5', 'api.defaultQuota.tokens=4', 'api.metricsPublic=true'],
      env: { BUMLESS_API_INSTALL_TIMEOUT_MS: '900' },
    }).config;
    assert.deepEqual(set.api.rateLimit, { perSecond: 5, burst: 200 });
    assert.deepEqual(set.api.defaultQuota, { networks: 64, endpoints: 4096, tokens: 4 });
    assert.equal(set.api.metricsPublic, true);
    assert.equal(set.api.installTimeoutMs, 900);
    assert.throws(() => loadConfig({ file: file({ ...minimal, api: { defaultQuota: { token: 3 } } }) }), (e: unknown) => e instanceof ConfigError && /api\.defaultQuota/.test(e.message));
  });

  void it('names environment variables after the key path', () => {
    assert.equal(envName(['api', 'listen']), 'BUMLESS_API_LISTEN');
    assert.equal(envName(['openflow', 'echoIntervalMs']), 'BUMLESS_OPENFLOW_ECHO_INTERVAL_MS');
    assert.equal(envName(['hostId']), 'BUMLESS_HOST_ID');
    assert.ok(configKeys().includes('mesh.gracefulRestartMs'));
  });

  void it('environment overrides the file, flags override both, with typed values', () => {
    const { config, overrides } = loadConfig({
      file: file({ ...minimal, api: { listen: '127.0.0.1:1' } }),
      env: { BUMLESS_API_LISTEN: '10.0.0.1:9090', BUMLESS_OPENFLOW_ECHO_INTERVAL_MS: '700', BUMLESS_MESH_REFLECTOR: 'true', BUMLESS_LAB_ROOT: '/x' },
      sets: ['api.listen=[::1]:8081', 'mesh.peers=[{"hostId":"h2","url":"wss://10.0.0.2:7471"}]', 'mesh.tls={"ca":"a","cert":"b","key":"c"}'],
    });
    assert.equal(config.api.listen, '[::1]:8081');
    assert.equal(config.openflow.echoIntervalMs, 700);
    assert.equal(config.mesh.reflector, true);
    assert.deepEqual(config.mesh.peers, [{ hostId: 'h2', url: 'wss://10.0.0.2:7471' }]);
    assert.equal(overrides['api.listen'], '--set api.listen');
    assert.equal(overrides['openflow.echoIntervalMs'], 'BUMLESS_OPENFLOW_ECHO_INTERVAL_MS');
  });

  void it('works without a file when every required key comes from the environment', () => {
    const { config } = loadConfig({ env: { BUMLESS_HOST_ID: 'h9', BUMLESS_VTEP_IP: '10.1.1.1', BUMLESS_DATA_DIR: '/d' } });
    assert.equal(config.hostId, 'h9');
  });

  void it('every error names the key, the source of the value and what is allowed', () => {
    const bad = file({ ...minimal, hostId: 'H_1', encap: 'ipip', api: { listen: 'nowhere' }, extra: 1 });
    const err = (() => {
      try {
        loadConfig({ file: bad });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /config key hostId \(from file .*\): lower-case letters.*\(got "H_1"\)/);
    assert.match(err.message, /config key encap .*vxlan.*geneve.*gre.*\(got "ipip"\)/);
    assert.match(err.message, /config key api\.listen .*HOST:PORT/);
    assert.match(err.message, /unknown config key extra .*allowed here: hostId, vtepIp/);

    assert.throws(() => loadConfig({ env: { BUMLESS_VTEP_IP: '1.1.1.1', BUMLESS_DATA_DIR: '/d' } }), /config key hostId is missing; set it in the config file, with BUMLESS_HOST_ID or with --set hostId=/);
    assert.throws(() => loadConfig({ file: file(minimal), env: { BUMLESS_API_BODY_LIMIT: 'lots' } }), /config key api\.bodyLimit \(from BUMLESS_API_BODY_LIMIT\): "lots" is not a number/);
    assert.throws(() => loadConfig({ file: file(minimal), sets: ['api.bodyLimit=5'] }), /config key api\.bodyLimit \(from --set api\.bodyLimit\): .*1024/);
    assert.throws(() => loadConfig({ file: file(minimal), sets: ['mesh.reflector=maybe'] }), /not a boolean; use true or false/);
    assert.throws(() => loadConfig({ file: file(minimal), sets: ['nope.key=1'] }), /--set nope\.key: unknown config key; allowed keys: hostId, vtepIp/);
    assert.throws(() => loadConfig({ file: file(minimal), sets: ['api.listen'] }), /is not KEY=VALUE/);
    assert.throws(() => loadConfig({ file: join(dir, 'missing.json') }), /cannot read the config file .*ENOENT/);
    assert.throws(() => loadConfig({ file: file('{ not json') }), /is not valid JSON/);
    assert.throws(() => loadConfig({ file: file([1, 2]) }), /must hold a JSON object/);
    assert.throws(
      () => loadConfig({ file: file({ ...minimal, mesh: { peers: [{ hostId: 'h2', url: 'wss://10.0.0.2:7471' }] } }) }),
      /config key mesh\.tls is missing/,
    );
    assert.throws(() => loadConfig({ file: file({ ...minimal, openflow: { target: 'ssl:10.0.0.1:6653' } }) }), /config key openflow\.tls is missing/);
  });
});
