// Flow identity and flow data as strings (OVN's struct ovn_flow: the key is table, priority and match;
// actions and cookie are the data). The keys must be equal for a flow we send and for the same flow as
// Open vSwitch dumps it back (fields reordered, all-ones masks dropped, value & mask stored,
// instructions in execution order), so both sides go through the codec's canonical forms, which
// normalise through the wire encoding.
//
// One difference the codec's forms do not cover: Open vSwitch reports the fields of a Nicira move
// (NXAST_REG_MOVE) by their NXM headers (NXM_OF_ETH_SRC) whatever we sent (the OXM eth_src), and the codec
// decodes those as raw field references. Both forms are mapped to the field name before keying.
import { flowKey, instructionsKey as codecInstructionsKey, matchKey } from 'node-openflow';
import type { Action, FieldRef, Instruction, OxmFieldName } from './oftypes.js';

export { flowKey, matchKey };

/** NXM class 0 (NXM_OF_*) and class 1 (NXM_NX_*) fields that have an OpenFlow 1.3 or codec name. */
const NXM_NAMES = new Map<string, OxmFieldName>([
  ['0:0', 'in_port'], ['0:1', 'eth_dst'], ['0:2', 'eth_src'], ['0:3', 'eth_type'], ['0:6', 'ip_proto'],
  ['0:7', 'ipv4_src'], ['0:8', 'ipv4_dst'], ['0:9', 'tcp_src'], ['0:10', 'tcp_dst'], ['0:11', 'udp_src'],
  ['0:12', 'udp_dst'], ['0:13', 'icmpv4_type'], ['0:14', 'icmpv4_code'], ['0:15', 'arp_op'], ['0:16', 'arp_spa'],
  ['0:17', 'arp_tpa'],
  ['1:0', 'reg0'], ['1:1', 'reg1'], ['1:2', 'reg2'], ['1:3', 'reg3'], ['1:4', 'reg4'], ['1:5', 'reg5'], ['1:6', 'reg6'],
  ['1:7', 'reg7'], ['1:16', 'tunnel_id'], ['1:17', 'arp_sha'], ['1:18', 'arp_tha'], ['1:19', 'ipv6_src'],
  ['1:20', 'ipv6_dst'], ['1:21', 'icmpv6_type'], ['1:22', 'icmpv6_code'], ['1:23', 'ipv6_nd_target'],
  ['1:24', 'ipv6_nd_sll'], ['1:25', 'ipv6_nd_tll'], ['1:31', 'tun_src'], ['1:32', 'tun_dst'],
]);

function fieldName(f: FieldRef): FieldRef {
  if (typeof f === 'string') return f;
  return NXM_NAMES.get(`${f.oxmClass}:${f.oxmField}`) ?? f;
}

function normalizeAction(a: Action): Action {
  if (a.type !== 'NX_REG_MOVE') return a;
  const src = fieldName(a.src);
  const dst = fieldName(a.dst);
  return src === a.src && dst === a.dst ? a : { ...a, src, dst };
}

function normalizeInstruction(i: Instruction): Instruction {
  if (i.type !== 'APPLY_ACTIONS' && i.type !== 'WRITE_ACTIONS') return i;
  if (!i.actions.some((a) => a.type === 'NX_REG_MOVE')) return i;
  return { ...i, actions: i.actions.map(normalizeAction) };
}

/** Canonical string of an instruction list: what decides whether an installed flow is still right. */
export function instructionsKey(instructions: readonly Instruction[]): string {
  return codecInstructionsKey(instructions.map(normalizeInstruction));
}
