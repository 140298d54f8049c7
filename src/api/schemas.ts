// Request and response schemas of the REST API. Objects come from the registry's model (src/registry/model.ts);
// this file adds what only the API has (request bodies, status, flows, errors). The OpenAPI document is
// generated from these with z.toJSONSchema, so the document and the validation cannot disagree.
import { z } from 'zod';
import { Cidr, Encap, Endpoint, IpAddr, Mac, Name, Network, Tenant, TenantCidr, Vni, duplicateIps, hostAddressProblem, ipValue } from '../registry/model.js';

export const NetworkRef = z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, '"<tenant>/<network>"');

const Quota = z
  .object({
    networks: z.number().int().nonnegative().describe('most networks this tenant may have'),
    endpoints: z.number().int().nonnegative().describe('most endpoints this tenant may have'),
  })
  .partial()
  .strict();

export const TenantCreate = z
  .object({ name: Name, displayName: z.string().max(200).optional(), quota: Quota.optional() })
  .strict();

export const TokenCreate = z
  .object({
    description: z.string().max(200).optional(),
    token: z
      .string()
      .regex(/^bl\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/, 'a tenant token "bl.<16 hex digits>.<43 characters>"')
      .optional()
      .describe('admin only: install this existing token instead of creating a new one (tokens replicate, so this is for tokens the cluster does not know yet)'),
  })
  .strict();

export const TokenInfo = z.object({
  id: z.string(),
  role: z.enum(['admin', 'tenant']),
  tenant: z.string().optional(),
  createdAt: z.string(),
  description: z.string().optional(),
});

export const TokenCreated = z.object({
  token: z.string().optional().describe('the new bearer token; shown only in this response (absent for an installed token)'),
  info: TokenInfo,
});

export const TenantCreated = z.object({
  tenant: Tenant,
  token: z.string().describe('a bearer token for this tenant; shown only in this response'),
  tokenId: z.string(),
});

export const NetworkCreate = z
  .object({
    tenant: Name.optional().describe('required with the admin token; a tenant token implies its own tenant'),
    name: Name,
    cidrs: z.array(TenantCidr).min(1).max(8).describe('canonical prefixes (no host bits), /8 or longer for IPv4, /16 or longer for IPv6'),
    gateway: IpAddr.optional().describe('inside one of the prefixes; not an IPv4 network or broadcast address'),
    encap: Encap.optional(),
    vni: Vni.optional().describe('admin only; assigned by the server when absent'),
  })
  .strict()
  .superRefine((n, ctx) => {
    // A malformed gateway or prefix has its own issue already.
    if (n.gateway === undefined || !ipValue(n.gateway) || n.cidrs.some((c) => !Cidr.safeParse(c).success)) return;
    const why = hostAddressProblem(n.gateway, n.cidrs);
    if (why) ctx.addIssue({ code: 'custom', path: ['gateway'], message: why });
  });

/** Each address once; that they are host addresses of the network is checked against its prefixes. */
const EndpointIps = z
  .array(IpAddr)
  .min(1)
  .max(16)
  .superRefine((ips, ctx) => {
    for (const d of duplicateIps(ips)) ctx.addIssue({ code: 'custom', path: [d.index], message: d.message });
  })
  .describe('each address once, inside the network\'s prefixes, not an IPv4 network or broadcast address');

export const EndpointCreate = z
  .object({
    network: NetworkRef,
    mac: Mac,
    ips: EndpointIps,
    port: z.string().min(1).max(15).describe('the endpoint\'s port on this host\'s integration bridge'),
  })
  .strict();

export const EndpointReplace = EndpointCreate.omit({ network: true, mac: true });

export const EndpointRegistered = z.object({
  endpoint: Endpoint,
  installed: z.boolean().describe('true when this endpoint\'s local flows are confirmed installed (barrier)'),
  reason: z.string().optional().describe('when installed is false: why, e.g. "port c-h4 is not on br-int" (the flows follow when the port appears)'),
  announcedTo: z.array(z.string()).describe('host ids of the mesh peers the registration was announced to'),
});

export const Alarm = z.object({
  id: z.string().optional().describe('what to give POST /v1/alarms/clear'),
  kind: z.string(),
  subject: z.string(),
  message: z.string(),
  since: z.string(),
  raisedBy: z.string().optional().describe('host id of the agent that raised the alarm; a duplicate-MAC freeze and its clearing act on that agent only'),
});
export const AlarmClear = z.object({ id: z.string().min(1).max(300) }).strict();

export const RegistryStats = z.object({
  tenants: z.number().int(),
  networks: z.number().int(),
  endpoints: z.number().int(),
  localEndpoints: z.number().int().optional(),
  staleEndpoints: z.number().int().optional(),
});

export const PeerInfo = z.object({
  hostId: z.string(),
  url: z.string().optional(),
  state: z.enum(['connecting', 'syncing', 'established', 'down']),
  since: z.string().optional(),
  vtep: z.string().optional(),
  reflector: z.boolean().optional(),
});

export const NetworkCounters = z.object({
  network: z.string(),
  vni: z.number().int(),
  bumDropPackets: z.number(),
  arpReplies: z.number(),
});

export const SwitchStatus = z.object({
  connection: z.object({
    state: z.enum(['connected', 'connecting', 'disconnected']),
    target: z.string(),
    datapathId: z.string().optional(),
    since: z.string().optional(),
  }),
  flows: z.object({ desired: z.number().int(), installed: z.number().int() }),
  reconcile: z.object({
    count: z.number().int(),
    /** Flow mods sent to the switch since the agent started, over all runs (a run with nothing to change sends none and is not counted). */
    flowModsSent: z.number().int().optional(),
    lastAt: z.string().optional(),
    lastDurationMs: z.number().optional(),
    lastAdded: z.number().int().optional(),
    lastModified: z.number().int().optional(),
    lastDeleted: z.number().int().optional(),
  }),
  openflowErrors: z.object({
    total: z.number().int(),
    recent: z.array(z.object({ at: z.string(), type: z.string(), xid: z.number().int(), flow: z.string().optional() })),
  }),
  networks: z.array(NetworkCounters),
});

export const Status = z.object({
  hostId: z.string().optional(),
  ready: z.boolean(),
  switch: SwitchStatus.nullable(),
  peers: z.array(PeerInfo),
  registry: RegistryStats,
  alarms: z.array(Alarm),
});

export const FlowView = z.object({
  table: z.number().int(),
  priority: z.number().int(),
  cookie: z.string(),
  match: z.string(),
  actions: z.string(),
  packets: z.number().optional(),
  bytes: z.number().optional(),
  durationSec: z.number().optional(),
});

export const FlowDiff = z.object({
  missing: z.array(FlowView).describe('desired but not installed'),
  extra: z.array(FlowView).describe('installed but not desired'),
  changed: z.array(z.object({ desired: FlowView, installed: FlowView })).describe('same identity, other actions or cookie'),
});

export const Flows = z.object({ desired: z.array(FlowView), installed: z.array(FlowView), diff: FlowDiff });

export const TraceRequest = z
  .object({
    network: NetworkRef,
    source: z.string().min(1).max(64).describe('MAC or IP of a local endpoint of the network'),
    destination: z.string().min(1).max(64).describe('an IP or MAC, or "broadcast"'),
    protocol: z.enum(['arp', 'icmp', 'udp', 'tcp']).default('icmp'),
    destinationMac: Mac.optional().describe('overrides the MAC the registry gives the destination (e.g. to trace unknown unicast)'),
    dstPort: z.number().int().min(0).max(65535).optional(),
  })
  .strict();

export const TraceResult = z.object({
  flow: z.string().describe('the frame in ovs microflow syntax, as given to ofproto/trace'),
  tables: z.array(
    z.object({
      bridge: z.string().optional().describe('the bridge of this table: the traced one, or one the frame continued into (e.g. br-phy after a tunnel)'),
      table: z.number().int(),
      match: z.string(),
      actions: z.array(z.string()),
    }),
  ),
  datapathActions: z.string(),
  fate: z.string(),
  output: z.string().describe('the full ofproto/trace output'),
});

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
    holder: z.unknown().optional().describe('for a conflict: the object holding what was asked for, e.g. the endpoint holding the IP'),
  }),
});

export const Unconfirmed = z.object({ installed: z.literal(false), reason: z.string().optional() });
export const Health = z.object({ status: z.literal('ok') });
export const Ready = z.object({ ready: z.boolean(), reason: z.string().optional() });
export const WhoAmI = z.object({ role: z.enum(['admin', 'tenant']), tenant: z.string().optional(), tokenId: z.string() });

export const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

// Path and query parameters.
export const TenantParams = z.object({ tenant: Name }).strict();
export const TokenParams = z.object({ tenant: Name, id: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits') }).strict();
export const NetworkParams = z.object({ tenant: Name, network: Name }).strict();
export const EndpointParams = z.object({ tenant: Name, network: Name, mac: Mac }).strict();
export const NetworkListQuery = z.object({ tenant: Name.optional() }).strict();
export const EndpointListQuery = z
  .object({ tenant: Name.optional(), network: NetworkRef.optional(), host: Name.optional() })
  .strict();
export const FlowsQuery = z.object({ diff: z.enum(['true', 'false', '1', '0']).optional() }).strict();

/** Networks as the registry shows them: flagged when they lost a VNI conflict. */
export const NetworkView = Network.extend({ vniConflictWith: z.string().optional().describe('the older network holding this VNI; this one is not forwarded') });
/** Endpoints as the registry shows them: stale while their host is unreachable (graceful restart). */
export const EndpointView = Endpoint.extend({ stale: z.boolean().optional() });

export { Endpoint, Network, Tenant };
