// Prometheus text exposition format 0.0.4, written by hand: counters, gauges and one histogram are all
// bumless needs, and the format is a few lines (https://prometheus.io/docs/instrumenting/exposition_formats/).
import type { Alarm, PeerInfo, RegistryStats, SwitchStatus } from './ports.js';

export type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds one exposition document; each family is written once with its HELP and TYPE lines. */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #seen = new Set<string>();

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: Array<{ labels?: Labels; value: number }>): this {
    if (this.#seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.#seen.add(name);
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of samples) this.#lines.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
    return this;
  }

  histogram(name: string, help: string, h: Histogram, labels?: Labels): this {
    if (this.#seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.#seen.add(name);
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    let cumulative = 0;
    h.buckets.forEach((le, i) => {
      cumulative += h.counts[i]!;
      this.#lines.push(`${name}_bucket${labelText({ ...labels, le: num(le) })} ${cumulative}`);
    });
    this.#lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`);
    this.#lines.push(`${name}_sum${labelText(labels)} ${num(h.sum)}`, `${name}_count${labelText(labels)} ${h.count}`);
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** Upper bounds, ascending; the +Inf bucket is implicit. */
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const i = this.buckets.findIndex((le) => v <= le);
    if (i >= 0) this.counts[i]!++;
  }
}

/** Counters the API itself owns (the rest of /metrics is read from the ports at scrape time). */
export class ApiMetrics {
  /** Seconds from receiving a registration to its local flows confirmed installed. */
  readonly registrationLatency = new Histogram([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly requests = new Map<string, { method: string; route: string; status: string; n: number }>();
  registrationsNotConfirmed = 0;

  request(method: string, route: string, status: number): void {
    const key = `${method} ${route} ${status}`;
    const r = this.requests.get(key) ?? { method, route, status: String(status), n: 0 };
    r.n++;
    this.requests.set(key, r);
  }
}

/** Buckets of bumless_reconcile_duration_seconds: a one-flow change takes about a millisecond, a full table of 100,000 flows seconds. */
export const RECONCILE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsInput {
  status?: SwitchStatus;
  /** Durations of the reconciliations applied, in seconds. */
  reconcileDurations?: Histogram;
  peers?: PeerInfo[];
  stats: RegistryStats;
  alarms: Alarm[];
  api: ApiMetrics;
}

const PEER_STATES: PeerInfo['state'][] = ['connecting', 'syncing', 'established', 'down'];

export function renderMetrics(m: MetricsInput): string {
  const e = new Exposition();
  const s = m.status;
  if (s) {
    e.family('bumless_openflow_connected', 'gauge', '1 when the OpenFlow session to the bridge is up', [
      { value: s.connection.state === 'connected' ? 1 : 0 },
    ])
      .family('bumless_flows_desired', 'gauge', 'flows the pipeline wants installed', [{ value: s.flows.desired }])
      .family('bumless_flows_installed', 'gauge', 'flows installed on the switch (last read or confirmed)', [{ value: s.flows.installed }])
      .family('bumless_reconciles_total', 'counter', 'reconciliations applied', [{ value: s.reconcile.count }])
      .family('bumless_reconcile_last_duration_seconds', 'gauge', 'duration of the last reconciliation', [
        { value: (s.reconcile.lastDurationMs ?? 0) / 1000 },
      ]);
    if (m.reconcileDurations) e.histogram('bumless_reconcile_duration_seconds', 'duration of each reconciliation (diff, bundles, barrier)', m.reconcileDurations);
    e
      .family('bumless_openflow_errors_total', 'counter', 'OFPT_ERROR messages received from the switch', [{ value: s.openflowErrors.total }])
      .family(
        'bumless_arp_replies_total',
        'counter',
        'ARP requests answered by the switch, per network (ARP responder flow packet counts)',
        s.networks.map((n) => ({ labels: { network: n.network, vni: String(n.vni) }, value: n.arpReplies })),
      )
      .family(
        'bumless_bum_dropped_packets_total',
        'counter',
        'broadcast, unknown-unicast and multicast frames dropped, per network (drop flow packet counts)',
        s.networks.map((n) => ({ labels: { network: n.network, vni: String(n.vni) }, value: n.bumDropPackets })),
      );
  }
  if (m.peers) {
    e.family('bumless_mesh_peers', 'gauge', 'mesh peers by state', PEER_STATES.map((state) => ({
      labels: { state },
      value: m.peers!.filter((p) => p.state === state).length,
    }))).family(
      'bumless_mesh_peer_up',
      'gauge',
      '1 when the session with this peer is established',
      m.peers.map((p) => ({ labels: { peer: p.hostId }, value: p.state === 'established' ? 1 : 0 })),
    );
  }
  e.family('bumless_registry_objects', 'gauge', 'objects in the registry', [
    { labels: { kind: 'tenant' }, value: m.stats.tenants },
    { labels: { kind: 'network' }, value: m.stats.networks },
    { labels: { kind: 'endpoint' }, value: m.stats.endpoints },
    ...(m.stats.localEndpoints === undefined ? [] : [{ labels: { kind: 'local_endpoint' }, value: m.stats.localEndpoints }]),
    ...(m.stats.staleEndpoints === undefined ? [] : [{ labels: { kind: 'stale_endpoint' }, value: m.stats.staleEndpoints }]),
  ])
    .family('bumless_duplicate_mac_alarms', 'gauge', 'endpoints frozen by duplicate-MAC detection', [
      { value: m.alarms.filter((a) => a.kind === 'duplicate-mac').length },
    ])
    .family('bumless_registry_store_failed', 'gauge', '1 when the registry store failed a commit: writes refused until the agent restarts', [
      { value: m.alarms.some((a) => a.kind === 'store-failed') ? 1 : 0 },
    ])
    .family('bumless_alarms', 'gauge', 'active alarms of any kind', [{ value: m.alarms.length }])
    .histogram(
      'bumless_registration_to_installed_seconds',
      'time from an endpoint registration request to its local flows confirmed installed',
      m.api.registrationLatency,
    )
    .family('bumless_registrations_unconfirmed_total', 'counter', 'registrations answered 202: local flows not confirmed (port not on the bridge, or no confirmation in time)', [
      { value: m.api.registrationsNotConfirmed },
    ])
    .family(
      'bumless_api_requests_total',
      'counter',
      'API requests by route and status',
      [...m.api.requests.values()].map((r) => ({ labels: { method: r.method, route: r.route, status: r.status }, value: r.n })),
    );
  return e.text();
}
