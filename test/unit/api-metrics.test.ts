// /metrics: Prometheus text format 0.0.4 that a parser accepts, with the series the issue asks for, and
// values that follow the switch's counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Exposition, Histogram } from '../../src/api/metrics.js';
import { ADMIN, testApi } from '../support/api-fakes.js';

/** A strict reader of the exposition format: every family has HELP and TYPE before its samples. */
function parseExposition(text: string): Map<string, { type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }> {
  const families = new Map<string, { type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>();
  let current: string | undefined;
  assert.ok(text.endsWith('\n'));
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `family ${help[1]} once`);
      current = help[1];
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      assert.equal(type[1], current, 'TYPE follows its HELP');
      families.set(current!, { type: type[2]!, samples: [] });
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    assert.ok(s, `sample line: ${line}`);
    const fam = families.get(current!)!;
    assert.ok(s[1] === current || s[1]!.startsWith(`${current}_`), `${s[1]} belongs to ${current}`);
    const labels: Record<string, string> = {};
    for (const m of (s[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    fam.samples.push({ name: s[1]!, labels, value: s[4] === '+Inf' ? Infinity : Number(s[4]) });
  }
  return families;
}

void test('histogram buckets are cumulative, labels are escaped, a family cannot be written twice', () => {
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.5, 0.5, 5]) h.observe(v);
  const text = new Exposition()
    .histogram('x_seconds', 'x', h)
    .family('y', 'gauge', 'y', [{ labels: { n: 'a"b\\c\nd' }, value: 1 }])
    .text();
  assert.match(text, /^x_seconds_bucket\{le="0.1"\} 1$/m);
  assert.match(text, /^x_seconds_bucket\{le="1"\} 3$/m);
  assert.match(text, /^x_seconds_bucket\{le="\+Inf"\} 4$/m);
  assert.match(text, /^x_seconds_sum 6.05$/m);
  assert.match(text, /^x_seconds_count 4$/m);
  assert.ok(text.includes('y{n="a\\"b\\\\c\\nd"} 1'));
  parseExposition(text);
  assert.throws(() => new Exposition().family('a', 'gauge', 'a', []).family('a', 'gauge', 'a', []), /twice/);
});

void test('/metrics has the issue\'s series and follows BUM drops, peers, registry and registrations', async () => {
  const { api, sw, mesh } = testApi();
  const as = { authorization: `Bearer ${ADMIN}` };
  await api.app.inject({ method: 'POST', url: '/v1/tenants', headers: as, payload: { name: 'acme' } });
  await api.app.inject({ method: 'POST', url: '/v1/networks', headers: as, payload: { tenant: 'acme', name: 'web', cidrs: ['10.0.0.0/24'] } });
  sw.bumDrops.set('acme/web', 5);
  sw.errors = 2;
  const scrape = async () => {
    const r = await api.app.inject({ method: 'GET', url: '/metrics', headers: as });
    assert.equal(r.statusCode, 200);
    return parseExposition(r.body);
  };
  const value = (m: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string> = {}) =>
    [...m.values()].flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  const m1 = await scrape();
  for (const name of [
    'bumless_flows_desired', 'bumless_flows_installed', 'bumless_reconcile_last_duration_seconds', 'bumless_openflow_errors_total',
    'bumless_arp_replies_total', 'bumless_bum_dropped_packets_total', 'bumless_mesh_peers', 'bumless_mesh_peer_up',
    'bumless_registry_objects', 'bumless_registration_to_installed_seconds', 'bumless_duplicate_mac_alarms',
  ]) assert.ok(m1.has(name), name);
  assert.equal(m1.get('bumless_registration_to_installed_seconds')!.type, 'histogram');
  assert.equal(value(m1, 'bumless_bum_dropped_packets_total', { network: 'acme/web', vni: '100' }), 5);
  assert.equal(value(m1, 'bumless_openflow_errors_total'), 2);
  assert.equal(value(m1, 'bumless_mesh_peers', { state: 'established' }), 1);
  assert.equal(value(m1, 'bumless_mesh_peer_up', { peer: 'h3' }), 0);
  assert.equal(value(m1, 'bumless_registry_objects', { kind: 'network' }), 1);
  assert.equal(value(m1, 'bumless_registration_to_installed_seconds_count'), 0);

  // Traffic dropped by the switch shows up at the next scrape; so do registrations and peer changes.
  sw.bumDrops.set('acme/web', 12);
  mesh.list[1]!.state = 'established';
  await api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: as, payload: { network: 'acme/web', mac: 'aa:aa:aa:aa:00:01', ips: ['10.0.0.1'], port: 'p1' } });
  const m2 = await scrape();
  assert.equal(value(m2, 'bumless_bum_dropped_packets_total', { network: 'acme/web' }), 12);
  assert.equal(value(m2, 'bumless_mesh_peers', { state: 'established' }), 2);
  assert.equal(value(m2, 'bumless_registration_to_installed_seconds_count'), 1);
  assert.equal(value(m2, 'bumless_registry_objects', { kind: 'endpoint' }), 1);
  assert.equal(value(m2, 'bumless_api_requests_total', { method: 'POST', route: '/v1/endpoints', status: '201' }), 1);
});

void test('reconcile duration is a histogram with buckets (the last-duration gauge stays)', async () => {
  const { api, sw } = testApi();
  for (const s of [0.0008, 0.004, 0.004, 0.3, 12]) sw.durations.observe(s);
  const r = await api.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  const m = parseExposition(r.body);
  const fam = m.get('bumless_reconcile_duration_seconds');
  assert.equal(fam?.type, 'histogram');
  const bucket = (le: string) => fam.samples.find((x) => x.name === 'bumless_reconcile_duration_seconds_bucket' && x.labels.le === le)?.value;
  assert.equal(bucket('0.001'), 1);
  assert.equal(bucket('0.005'), 3, 'cumulative');
  assert.equal(bucket('0.5'), 4);
  assert.equal(bucket('10'), 4);
  assert.equal(bucket('30'), 5);
  assert.equal(bucket('+Inf'), 5);
  assert.equal(fam.samples.find((x) => x.name === 'bumless_reconcile_duration_seconds_count')?.value, 5);
  assert.ok(Math.abs(fam.samples.find((x) => x.name === 'bumless_reconcile_duration_seconds_sum')!.value - 12.3088) < 1e-9);
  assert.ok(m.has('bumless_reconcile_last_duration_seconds'));
});
