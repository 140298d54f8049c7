// An in-memory OpenFlow 1.3 switch (in the spirit of Faucet's clib/fakeoftable.py): it holds flow
// tables, applies FLOW_MODs to them, and runs a described frame through them, so unit tests can ask
// behavioural questions ("is this ARP answered out of port 3? does anything reach the tunnel?")
// instead of comparing flow text. Nothing here knows the bumless pipeline: matching, instructions
// and actions follow the specification generically, and flows a real switch would refuse (missing
// prerequisites, bits outside a mask, a goto backwards) are refused here with the reason.
import type { Action, FieldRef, FlowModBody, FlowModFlag, Instruction, Match, Oxm, OxmFieldName, PortNo } from '../pipeline/of.js';
import {
  type FieldError,
  fieldBits,
  fromBits,
  isFieldName,
  matchText,
  oxmBits,
  pinnedFields,
  portNumber,
  RESERVED_PORTS,
  toBits,
  unmetPrerequisite,
} from '../pipeline/fields.js';
import type { Frame } from './frame.js';

/** A flow as the simulator accepts it: the shape of the pipeline's DesiredFlow and of FlowStats. */
export interface SimFlowInput {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
  flags?: FlowModFlag[];
}

/** An installed flow with its counters. */
export interface SimFlow {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  instructions: Instruction[];
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
}

export interface SimOutput {
  /** The port number the frame leaves through, or a reserved name the simulator does not expand. */
  port: number | 'CONTROLLER' | 'NORMAL' | 'LOCAL' | 'FLOOD' | 'ALL' | 'TABLE';
  /** The frame as it leaves, with every modification applied up to this output. */
  frame: Frame;
  /** True when the action was output:IN_PORT. */
  viaInPort: boolean;
  /** Present when `port` is a tunnel port: the tunnel destination and key the frame is sent with. */
  tunnel?: { dst: string | undefined; id: bigint };
}

export interface SimResult {
  tablesVisited: number[];
  matchedFlows: SimFlow[];
  outputs: SimOutput[];
  /** Plain outputs to the ingress port, which OpenFlow does not send (spec 4.5: only IN_PORT does). */
  suppressed: number[];
  dropped: boolean;
  /** When dropped: the last flow that matched (undefined when the frame met an empty table). */
  dropFlow?: SimFlow;
  /** The table in which no flow matched, if the frame ended in a table miss. */
  tableMiss?: number;
  /** Pipeline metadata when processing ended. */
  metadata: bigint;
}

/** A flow or FLOW_MOD the switch would refuse; `code` is the OpenFlow error it corresponds to. */
export class SimFlowError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SimFlowError';
  }
}

/** Two flows of the same priority both match one frame: OpenFlow leaves the result undefined. */
export class SimAmbiguityError extends Error {
  constructor(
    message: string,
    readonly flows: SimFlow[],
  ) {
    super(message);
    this.name = 'SimAmbiguityError';
  }
}

export interface SimOptions {
  /** Ports whose outputs are tunnelled: their outputs report tun_dst and tunnel_id. */
  tunnelPorts?: Iterable<number>;
  /** All switch ports, for expanding FLOOD and ALL. Without it those outputs are reported as is. */
  ports?: Iterable<number>;
  /** Throw SimAmbiguityError on equal-priority overlaps that a frame hits (default true). */
  strict?: boolean;
}

interface Compiled {
  flow: SimFlow;
  key: string;
  tests: { field: OxmFieldName; value: bigint; mask: bigint }[];
  seq: number;
}

const MAX_TABLE = 254;
const FRAME_KEY_TO_FIELD = (k: string): OxmFieldName | undefined => (k === 'tun_id' ? 'tunnel_id' : isFieldName(k) ? k : undefined);
const FIELD_TO_FRAME_KEY = (f: OxmFieldName): string => (f === 'tunnel_id' ? 'tun_id' : f);
const NON_FRAME_FIELDS = new Set<OxmFieldName>(['in_port', 'in_phy_port', 'metadata', 'reg0', 'reg1', 'reg2', 'reg3', 'reg4', 'reg5', 'reg6', 'reg7']);
const INSTRUCTION_ORDER: Instruction['type'][] = ['METER', 'APPLY_ACTIONS', 'CLEAR_ACTIONS', 'WRITE_ACTIONS', 'WRITE_METADATA', 'GOTO_TABLE'];
const SUPPORTED_ACTIONS = new Set<Action['type']>(['OUTPUT', 'SET_FIELD', 'NX_REG_MOVE', 'PUSH_VLAN', 'POP_VLAN']);

function refField(ref: FieldRef): OxmFieldName {
  if (typeof ref === 'string') return ref;
  throw new SimFlowError(`NX_REG_MOVE with a raw field reference (class ${ref.oxmClass}, field ${ref.oxmField}) is not modelled`, 'OFPBAC_BAD_SET_ARGUMENT');
}

function flowKey(tableId: number, priority: number, match: Match): string {
  return `${tableId}/${priority}/${matchText(match)}`;
}

export class FlowSim {
  private readonly tables = new Map<number, Compiled[]>();
  private readonly tunnelPorts: Set<number>;
  private readonly ports: number[] | undefined;
  private readonly strict: boolean;
  private seq = 0;

  constructor(opts: SimOptions = {}) {
    this.tunnelPorts = new Set(opts.tunnelPorts ?? []);
    this.ports = opts.ports ? [...opts.ports] : undefined;
    this.strict = opts.strict ?? true;
  }

  /** Adds every flow (FLOW_MOD ADD semantics: an identical (table, priority, match) is replaced). */
  load(flows: Iterable<SimFlowInput>): this {
    for (const f of flows) this.add(f);
    return this;
  }

  add(input: SimFlowInput): SimFlow {
    const compiled = this.compile(input);
    const table = this.tables.get(input.tableId) ?? [];
    const at = table.findIndex((c) => c.key === compiled.key);
    if (at >= 0) {
      const old = table[at]!;
      if (!(input.flags ?? []).includes('RESET_COUNTS')) {
        compiled.flow.packetCount = old.flow.packetCount;
        compiled.flow.byteCount = old.flow.byteCount;
      }
      table[at] = compiled;
    } else {
      if ((input.flags ?? []).includes('CHECK_OVERLAP')) {
        const clash = table.find((c) => c.flow.priority === input.priority && overlaps(c, compiled));
        if (clash) throw new SimFlowError(`flow overlaps ${describe(clash.flow)}`, 'OFPFMFC_OVERLAP');
      }
      table.push(compiled);
    }
    table.sort((a, b) => b.flow.priority - a.flow.priority || a.seq - b.seq);
    this.tables.set(input.tableId, table);
    return compiled.flow;
  }

  /** Applies a FLOW_MOD as an OpenFlow 1.3 switch would (spec 6.4). */
  flowMod(fm: FlowModBody): void {
    if (fm.command === 'ADD') {
      if (fm.tableId === 'ALL') throw new SimFlowError('ADD needs a table id, not ALL', 'OFPFMFC_BAD_TABLE_ID');
      this.add({ tableId: fm.tableId, priority: fm.priority, match: fm.match, instructions: fm.instructions, cookie: fm.cookie, flags: fm.flags });
      return;
    }
    const strict = fm.command === 'MODIFY_STRICT' || fm.command === 'DELETE_STRICT';
    const request = this.compile({ tableId: fm.tableId === 'ALL' ? 0 : fm.tableId, priority: fm.priority, match: fm.match, instructions: [], cookie: 0n }, false);
    const outPort = portNumber(fm.outPort);
    const tables = fm.tableId === 'ALL' ? [...this.tables.keys()] : [fm.tableId];
    if (fm.tableId === 'ALL' && fm.command.startsWith('MODIFY')) throw new SimFlowError('MODIFY needs a table id, not ALL', 'OFPFMFC_BAD_TABLE_ID');
    for (const t of tables) {
      const table = this.tables.get(t) ?? [];
      const selected = table.filter(
        (c) =>
          (c.flow.cookie & fm.cookieMask) === (fm.cookie & fm.cookieMask) &&
          (strict ? c.flow.priority === fm.priority && matchText(c.flow.match) === matchText(fm.match) : covers(request, c)) &&
          (!fm.command.startsWith('DELETE') || outPort === RESERVED_PORTS.ANY || outputsTo(c.flow.instructions, outPort)),
      );
      if (fm.command.startsWith('DELETE')) {
        this.tables.set(
          t,
          table.filter((c) => !selected.includes(c)),
        );
      } else {
        // Spec 6.4: a modify replaces instructions; cookie, counters and duration stay.
        const check = (c: Compiled) => this.compile({ ...c.flow, instructions: fm.instructions });
        for (const c of selected) {
          check(c);
          c.flow.instructions = fm.instructions;
          if (fm.flags.includes('RESET_COUNTS')) {
            c.flow.packetCount = 0n;
            c.flow.byteCount = 0n;
          }
        }
      }
    }
  }

  /** Installed flows, table by table, highest priority first (like dump-flows). */
  flows(): SimFlow[] {
    return [...this.tables.keys()].sort((a, b) => a - b).flatMap((t) => this.tables.get(t)!.map((c) => c.flow));
  }

  /** Runs one frame entering on `inPort` through the tables, counting packets per flow. */
  process(packet: { inPort: number; frame: Frame }): SimResult {
    const fields = new Map<OxmFieldName, bigint>();
    const present = new Set<OxmFieldName>();
    for (const [k, v] of Object.entries(packet.frame)) {
      if (k === 'len' || v === undefined) continue;
      const field = FRAME_KEY_TO_FIELD(k);
      if (!field || NON_FRAME_FIELDS.has(field)) throw new SimFlowError(`frame key "${k}" is not a packet field`, 'BAD_FRAME');
      fields.set(field, toBits(field, v as never));
      present.add(field);
    }
    // Tunnel metadata exists only on frames that arrived through a tunnel port; a test that gives it
    // to a frame from a local port describes something no switch would see.
    if (this.tunnelPorts.size > 0 && !this.tunnelPorts.has(packet.inPort)) {
      const tun = (['tunnel_id', 'tun_src', 'tun_dst'] as const).filter((f) => (fields.get(f) ?? 0n) !== 0n);
      if (tun.length > 0) throw new SimFlowError(`frame from non-tunnel port ${packet.inPort} carries ${tun.join(', ')}`, 'BAD_FRAME');
    }
    fields.set('in_port', BigInt(packet.inPort));
    const len = BigInt(packet.frame.len ?? 64);
    const result: SimResult = { tablesVisited: [], matchedFlows: [], outputs: [], suppressed: [], dropped: true, metadata: 0n };
    const actionSet = new Map<string, Action>();
    const ctx = { fields, present, inPort: packet.inPort, result };

    let tableId: number | undefined = 0;
    while (tableId !== undefined) {
      result.tablesVisited.push(tableId);
      const hit = this.lookup(tableId, fields);
      if (!hit) {
        result.tableMiss = tableId;
        break;
      }
      hit.flow.packetCount += 1n;
      hit.flow.byteCount += len;
      result.matchedFlows.push(hit.flow);
      const byType = new Map(hit.flow.instructions.map((i) => [i.type, i]));
      tableId = undefined;
      for (const type of INSTRUCTION_ORDER) {
        const ins = byType.get(type);
        if (!ins) continue;
        switch (ins.type) {
          case 'APPLY_ACTIONS':
            for (const a of ins.actions) this.execute(a, ctx);
            break;
          case 'CLEAR_ACTIONS':
            actionSet.clear();
            break;
          case 'WRITE_ACTIONS':
            for (const a of ins.actions) actionSet.set(a.type === 'SET_FIELD' ? `SET_FIELD:${setFieldTarget(a.field)}` : a.type, a);
            break;
          case 'WRITE_METADATA': {
            const old = fields.get('metadata') ?? 0n;
            fields.set('metadata', (old & ~ins.metadataMask) | (ins.metadata & ins.metadataMask));
            break;
          }
          case 'GOTO_TABLE':
            tableId = ins.tableId;
            break;
          default:
            break;
        }
      }
    }
    // Spec 5.10: the action set runs when the pipeline ends, in a fixed order, output last.
    const order = ['POP_VLAN', 'PUSH_VLAN', 'SET_FIELD', 'NX_REG_MOVE', 'OUTPUT'];
    const pending = [...actionSet.entries()].sort(([a], [b]) => order.indexOf(a.split(':')[0]!) - order.indexOf(b.split(':')[0]!));
    for (const [, a] of pending) this.execute(a, ctx);

    result.metadata = fields.get('metadata') ?? 0n;
    result.dropped = result.outputs.length === 0;
    if (result.dropped) result.dropFlow = result.matchedFlows.at(-1);
    return result;
  }

  private lookup(tableId: number, fields: Map<OxmFieldName, bigint>): Compiled | undefined {
    const table = this.tables.get(tableId);
    if (!table) return undefined;
    let best: Compiled | undefined;
    for (const c of table) {
      if (best && c.flow.priority < best.flow.priority) break;
      if (!c.tests.every((t) => ((fields.get(t.field) ?? 0n) & t.mask) === t.value)) continue;
      if (!best) {
        best = c;
        if (!this.strict) break;
      } else {
        throw new SimAmbiguityError(
          `table ${tableId}: two priority-${c.flow.priority} flows match the same frame (${matchText(best.flow.match)} and ${matchText(c.flow.match)})`,
          [best.flow, c.flow],
        );
      }
    }
    return best;
  }

  private execute(a: Action, ctx: { fields: Map<OxmFieldName, bigint>; present: Set<OxmFieldName>; inPort: number; result: SimResult }): void {
    const { fields, present } = ctx;
    switch (a.type) {
      case 'SET_FIELD': {
        if (a.field.field === 'raw') throw new SimFlowError(`set_field of raw field ${setFieldTarget(a.field)} is not modelled`, 'OFPBAC_BAD_SET_TYPE');
        const miss = unmetPrerequisite(a.field.field, fields);
        if (miss) throw new SimFlowError(`set_field on a frame without the field: ${miss}`, 'OFPBAC_MATCH_INCONSISTENT');
        fields.set(a.field.field, toBits(a.field.field, a.field.value));
        present.add(a.field.field);
        break;
      }
      case 'NX_REG_MOVE': {
        const src = refField(a.src);
        const dst = refField(a.dst);
        const bits = ((fields.get(src) ?? 0n) >> BigInt(a.srcOfs)) & ((1n << BigInt(a.nBits)) - 1n);
        const dmask = ((1n << BigInt(a.nBits)) - 1n) << BigInt(a.dstOfs);
        fields.set(dst, ((fields.get(dst) ?? 0n) & ~dmask) | (bits << BigInt(a.dstOfs)));
        present.add(dst);
        break;
      }
      case 'PUSH_VLAN':
        if ((fields.get('vlan_vid') ?? 0n) !== 0n) throw new SimFlowError('pushing a second VLAN tag is not modelled', 'UNSUPPORTED');
        fields.set('vlan_vid', 0x1000n);
        present.add('vlan_vid');
        break;
      case 'POP_VLAN':
        fields.set('vlan_vid', 0n);
        fields.delete('vlan_pcp');
        break;
      case 'OUTPUT':
        this.output(a.port, ctx);
        break;
      default:
        throw new SimFlowError(`action ${a.type} is not modelled by the simulator`, 'UNSUPPORTED');
    }
  }

  private output(port: PortNo, ctx: { fields: Map<OxmFieldName, bigint>; present: Set<OxmFieldName>; inPort: number; result: SimResult }): void {
    const emit = (p: SimOutput['port'], viaInPort: boolean) => {
      const frame = {} as Record<string, unknown>;
      for (const f of ctx.present) frame[FIELD_TO_FRAME_KEY(f)] = fromBits(f, ctx.fields.get(f) ?? 0n);
      const out: SimOutput = { port: p, frame: frame as Frame, viaInPort };
      if (typeof p === 'number' && this.tunnelPorts.has(p)) {
        const dst = ctx.fields.get('tun_dst');
        out.tunnel = { dst: dst !== undefined && dst !== 0n ? fromBits('tun_dst', dst) : undefined, id: ctx.fields.get('tunnel_id') ?? 0n };
      }
      ctx.result.outputs.push(out);
    };
    const n = portNumber(port);
    if (n === RESERVED_PORTS.IN_PORT) return emit(ctx.inPort, true);
    if ((n === RESERVED_PORTS.FLOOD || n === RESERVED_PORTS.ALL) && this.ports) {
      for (const p of this.ports) if (p !== ctx.inPort) emit(p, false);
      return;
    }
    const reserved = Object.entries(RESERVED_PORTS).find(([, v]) => v === n)?.[0];
    if (reserved) return emit(reserved as SimOutput['port'], false);
    if (n === ctx.inPort) {
      ctx.result.suppressed.push(n);
      return;
    }
    emit(n, false);
  }

  /** Validates a flow the way a switch would and prepares its match for lookup. */
  private compile(input: SimFlowInput, checkInstructions = true): Compiled {
    const fail = (msg: string, code: string): never => {
      throw new SimFlowError(`flow table=${input.tableId} priority=${input.priority} ${safeMatchText(input.match)}: ${msg}`, code);
    };
    if (!Number.isInteger(input.tableId) || input.tableId < 0 || input.tableId > MAX_TABLE) fail('table id outside 0..254', 'OFPFMFC_BAD_TABLE_ID');
    if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 0xffff) fail('priority outside 0..65535', 'OFPFMFC_BAD_PRIORITY');
    const tests: Compiled['tests'] = [];
    const seen = new Set<string>();
    for (const oxm of input.match) {
      if (oxm.field === 'raw') return fail('raw OXM fields are not modelled', 'OFPBMC_BAD_FIELD');
      if (seen.has(oxm.field)) fail(`${oxm.field} appears twice`, 'OFPBMC_DUP_FIELD');
      seen.add(oxm.field);
      let bits: { value: bigint; mask: bigint };
      try {
        bits = oxmBits(oxm);
      } catch (e) {
        return fail((e as FieldError).message, 'OFPBMC_BAD_VALUE');
      }
      if ((bits.value & ~bits.mask) !== 0n) fail(`${oxm.field} has value bits outside its mask`, 'OFPBMC_BAD_WILDCARDS');
      tests.push({ field: oxm.field, value: bits.value, mask: bits.mask });
    }
    const pinned = pinnedFields(input.match);
    for (const t of tests) {
      const miss = unmetPrerequisite(t.field, pinned);
      if (miss) fail(miss, 'OFPBMC_BAD_PREREQ');
    }
    if (checkInstructions) this.checkInstructions(input, pinned, fail);
    const flow: SimFlow = {
      tableId: input.tableId,
      priority: input.priority,
      match: input.match,
      instructions: input.instructions,
      cookie: input.cookie,
      packetCount: 0n,
      byteCount: 0n,
    };
    return { flow, key: flowKey(input.tableId, input.priority, input.match), tests, seq: this.seq++ };
  }

  private checkInstructions(input: SimFlowInput, pinned: Map<OxmFieldName, bigint>, fail: (msg: string, code: string) => never): void {
    const types = new Set<string>();
    for (const ins of input.instructions) {
      if (types.has(ins.type)) fail(`instruction ${ins.type} appears twice`, 'OFPBIC_DUP_INST');
      types.add(ins.type);
      if (ins.type === 'GOTO_TABLE' && (ins.tableId <= input.tableId || ins.tableId > MAX_TABLE)) {
        fail(`goto_table:${ins.tableId} must go forward (after ${input.tableId}, at most ${MAX_TABLE})`, 'OFPBIC_BAD_TABLE_ID');
      }
      if (ins.type === 'METER' || ins.type === 'EXPERIMENTER') fail(`instruction ${ins.type} is not modelled`, 'OFPBIC_UNSUP_INST');
      if (ins.type !== 'APPLY_ACTIONS' && ins.type !== 'WRITE_ACTIONS') continue;
      for (const a of ins.actions) {
        if (!SUPPORTED_ACTIONS.has(a.type)) fail(`action ${a.type} is not modelled by the simulator`, 'OFPBAC_BAD_TYPE');
        if (a.type === 'OUTPUT' && portNumber(a.port) === RESERVED_PORTS.ANY) fail('output to ANY', 'OFPBAC_BAD_OUT_PORT');
        if (a.type === 'SET_FIELD') {
          // A field the codec keeps raw (pkt_mark, reg8+...) belongs to a foreign flow: refused like a raw match.
          if (a.field.field === 'raw') fail(`set_field of raw field ${setFieldTarget(a.field)} is not modelled`, 'OFPBAC_BAD_SET_TYPE');
          if (a.field.mask !== undefined) fail(`set_field ${a.field.field} with a mask`, 'OFPBAC_BAD_SET_ARGUMENT');
          if (a.field.field === 'in_port' || a.field.field === 'in_phy_port') fail(`set_field ${a.field.field} is not allowed`, 'OFPBAC_BAD_SET_TYPE');
          try {
            toBits(a.field.field, a.field.value);
          } catch (e) {
            fail((e as FieldError).message, 'OFPBAC_BAD_SET_ARGUMENT');
          }
          const miss = unmetPrerequisite(a.field.field, pinned);
          if (miss) fail(`set_field ${a.field.field}: ${miss}`, 'OFPBAC_MATCH_INCONSISTENT');
        }
        if (a.type === 'NX_REG_MOVE') {
          if (ins.type === 'WRITE_ACTIONS') fail('NX_REG_MOVE in write_actions is not modelled', 'OFPBAC_BAD_TYPE');
          for (const [ref, ofs] of [
            [a.src, a.srcOfs],
            [a.dst, a.dstOfs],
          ] as const) {
            const f = refField(ref);
            if (a.nBits < 1 || ofs < 0 || ofs + a.nBits > fieldBits(f)) fail(`move ${f}[${ofs}..+${a.nBits}] is outside the field`, 'OFPBAC_BAD_SET_ARGUMENT');
            const miss = unmetPrerequisite(f, pinned);
            if (miss) fail(`move ${f}: ${miss}`, 'OFPBAC_MATCH_INCONSISTENT');
          }
        }
      }
    }
  }
}

/** The field a set_field writes: its name, or class:field (and experimenter) for a raw one. */
function setFieldTarget(o: Oxm): string {
  return o.field === 'raw' ? `raw(${o.oxmClass}:${o.oxmField}${o.experimenter === undefined ? '' : `:${o.experimenter}`})` : o.field;
}

function outputsTo(instructions: Instruction[], port: number): boolean {
  return instructions.some(
    (i) => (i.type === 'APPLY_ACTIONS' || i.type === 'WRITE_ACTIONS') && i.actions.some((a) => a.type === 'OUTPUT' && portNumber(a.port) === port),
  );
}

/** Non-strict FLOW_MOD selection: the flow is at least as specific as the request on every field. */
function covers(request: Compiled, flow: Compiled): boolean {
  return request.tests.every((r) => {
    const t = flow.tests.find((x) => x.field === r.field);
    return t !== undefined && (t.mask & r.mask) === r.mask && (t.value & r.mask) === r.value;
  });
}

/** Some frame can match both: every field they share agrees on the bits both masks care about. */
function overlaps(a: Compiled, b: Compiled): boolean {
  return a.tests.every((x) => {
    const y = b.tests.find((t) => t.field === x.field);
    if (!y) return true;
    const common = x.mask & y.mask;
    return (x.value & common) === (y.value & common);
  });
}

/** Match text for error messages, also for a match whose values do not parse. */
function safeMatchText(match: Match): string {
  try {
    return matchText(match);
  } catch {
    return match.map((o) => (o.field === 'raw' ? 'raw' : `${o.field}=${String(o.value)}`)).join(',');
  }
}

function describe(flow: SimFlow): string {
  return `table=${flow.tableId} priority=${flow.priority} ${matchText(flow.match)}`;
}
