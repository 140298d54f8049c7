// Agent configuration (issue #4 "Run"): one zod schema, validated at start. Every error names the key
// and what is allowed. The lab and the Vagrant provisioning generate files of this shape.
import { z } from 'zod';
import { Encap, Ipv4, Name } from '../registry/model.js';

const HostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080');

const TlsFiles = z.object({
  ca: z.string().min(1).describe('PEM file of the CA that signs peer certificates'),
  cert: z.string().min(1).describe('PEM certificate file'),
  key: z.string().min(1).describe('PEM private key file'),
});

export const OpenFlowTarget = z
  .string()
  .regex(/^(unix:.+|tcp:[^:]+:\d{1,5}|ssl:[^:]+:\d{1,5})$/, 'unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT');

export const AgentConfig = z
  .object({
    hostId: Name.describe('this host\'s id, unique in the cluster'),
    vtepIp: Ipv4.describe('this host\'s tunnel endpoint (underlay) IPv4 address'),
    bridge: z.string().min(1).max(15).default('br-int'),
    encap: Encap.default('vxlan'),
    tunnelPort: z.string().min(1).max(15).default('tun0'),
    dataDir: z.string().min(1).describe('directory for the registry database and state'),
    ovs: z
      .object({
        db: z.string().default('unix:/var/run/openvswitch/db.sock').describe('ovs-vsctl --db target'),
        datapathType: z.enum(['system', 'netdev']).default('system'),
        rundir: z.string().optional().describe('Open vSwitch run directory (where <bridge>.mgmt lives)'),
      })
      .prefault({}),
    openflow: z
      .object({
        target: OpenFlowTarget.optional().describe('default: unix:<ovs.rundir>/<bridge>.mgmt'),
        tls: TlsFiles.optional().describe('client certificate for ssl: targets'),
        echoIntervalMs: z.number().int().min(100).max(60000).default(5000),
        inactivityTimeoutMs: z.number().int().min(200).max(120000).default(10000),
        reconnectMaxMs: z.number().int().min(100).max(60000).default(8000),
      })
      .prefault({}),
    api: z
      .object({
        listen: HostPort.default('127.0.0.1:8080'),
        tls: z.object({ cert: z.string(), key: z.string() }).optional(),
        adminTokenFile: z.string().optional().describe('file holding the admin token; generated in dataDir if absent'),
        bodyLimit: z.number().int().min(1024).max(10 * 1024 * 1024).default(1024 * 1024),
        rateLimit: z
          .object({
            perSecond: z.number().positive().max(1_000_000).default(50).describe('sustained requests per second per token'),
            burst: z.number().int().min(1).max(1_000_000).default(200).describe('requests a token may send at once'),
          })
          .strict()
          .prefault({}),
        defaultQuota: z
          .object({
            networks: z.number().int().nonnegative().default(64).describe('networks per tenant unless the tenant sets its own'),
            endpoints: z.number().int().nonnegative().default(4096).describe('endpoints per tenant unless the tenant sets its own'),
            tokens: z.number().int().min(1).max(100_000).default(32).describe('live tokens per tenant (each is replicated to every agent)'),
          })
          .strict()
          .prefault({}),
        metricsPublic: z.boolean().default(false).describe('serve /metrics without a token (it names every tenant\'s networks)'),
        installTimeoutMs: z.number().int().min(100).max(120_000).default(5000).describe('how long a registration waits for its flows before answering 202'),
      })
      .prefault({}),
    mesh: z
      .object({
        listen: HostPort.default('0.0.0.0:7471'),
        tls: TlsFiles.optional().describe('required when peers are configured'),
        peers: z.array(z.object({ hostId: Name, url: z.string().url() })).default([]),
        reflector: z.boolean().default(false).describe('relay updates between this agent\'s clients'),
        keepaliveMs: z.number().int().min(100).default(3000),
        holdMs: z.number().int().min(300).default(9000),
        gracefulRestartMs: z.number().int().min(0).default(120000),
        maxPayload: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('largest mesh frame accepted, in bytes; senders cut batches below it'),
        maxQueuedBytes: z.number().int().min(1024 * 1024).max(4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024).describe('updates queued for one slow peer beyond this close its session; it resyncs on reconnect'),
      })
      .prefault({}),
    registry: z
      .object({
        duplicateMoves: z.number().int().min(1).max(1_000_000).default(5).describe('duplicate detection: more than this many moves of one MAC within duplicateWindowMs freezes it'),
        duplicateWindowMs: z.number().int().min(1000).max(86_400_000).default(180_000).describe('duplicate detection window'),
        tombstoneTtlMs: z.number().int().min(60_000).default(86_400_000).describe('how long endpoint deletions are remembered; peers offline longer get a full resync'),
        maxClockSkewMs: z.number().int().min(1000).max(86_400_000).default(60_000).describe('a replicated record whose clock time is more than this ahead of ours is refused and its session closed'),
      })
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .prefault({}),
  })
  .strict();

export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;
