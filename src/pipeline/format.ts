// Flows as one line of ovs-ofctl-like text, for logs, `--explain` style output and docs/pipeline.md.
// Field names are those ovs-ofctl accepts, so a line can be pasted into `ovs-ofctl add-flow`: the OXM
// name where ovs-ofctl knows it, otherwise its own name (OXM ipv4_src is nw_src, tunnel_id is tun_id).
import type { Action, Instruction } from './of.js';
import { matchText } from './fields.js';
import type { DesiredFlow } from './desired.js';

const hex = (v: bigint) => `0x${v.toString(16)}`;
const OFCTL_NAMES: Record<string, string> = {
  tunnel_id: 'tun_id',
  ipv4_src: 'nw_src',
  ipv4_dst: 'nw_dst',
  ip_proto: 'nw_proto',
  icmpv4_type: 'icmp_type',
  icmpv4_code: 'icmp_code',
};
const name = (f: string) => OFCTL_NAMES[f] ?? f;

function formatAction(a: Action): string {
  switch (a.type) {
    case 'OUTPUT':
      return `output:${String(a.port)}`;
    case 'SET_FIELD': {
      // A raw field (one the codec does not name) shows its bytes and where they go.
      if (a.field.field === 'raw') {
        const f = a.field;
        return `set_field:0x${Buffer.from(f.payload).toString('hex')}->raw(${f.oxmClass}:${f.oxmField}${f.experimenter === undefined ? '' : `:${f.experimenter}`})`;
      }
      const v = a.field.value;
      return `set_field:${typeof v === 'bigint' ? hex(v) : String(v)}->${name(a.field.field)}`;
    }
    case 'NX_REG_MOVE': {
      const ref = (r: typeof a.src, ofs: number) => `${typeof r === 'string' ? name(r) : `${r.oxmClass}:${r.oxmField}`}[${ofs}..${ofs + a.nBits - 1}]`;
      return `move:${ref(a.src, a.srcOfs)}->${ref(a.dst, a.dstOfs)}`;
    }
    default:
      return a.type.toLowerCase();
  }
}

function formatInstruction(i: Instruction): string {
  switch (i.type) {
    case 'APPLY_ACTIONS':
      return i.actions.map(formatAction).join(',');
    case 'WRITE_ACTIONS':
      return `write_actions(${i.actions.map(formatAction).join(',')})`;
    case 'WRITE_METADATA':
      return `write_metadata:${hex(i.metadata)}/${hex(i.metadataMask)}`;
    case 'GOTO_TABLE':
      return `goto_table:${i.tableId}`;
    case 'CLEAR_ACTIONS':
      return 'clear_actions';
    case 'METER':
      return `meter:${i.meterId}`;
    case 'EXPERIMENTER':
      return `experimenter:${i.experimenter}`;
  }
}

export function formatFlow(f: DesiredFlow): string {
  const match = matchText(f.match)
    .split(',')
    .filter((x) => x !== '')
    .map((x) => {
      const [field = '', value = ''] = x.split('=');
      return `${name(field)}=${field === 'eth_type' ? `0x${Number(value).toString(16).padStart(4, '0')}` : value}`;
    })
    .join(',');
  const actions = f.instructions.length === 0 ? 'drop' : f.instructions.map(formatInstruction).join(',');
  return `cookie=${hex(f.cookie)}, table=${f.tableId}, priority=${f.priority}${match ? ',' + match : ''} actions=${actions}`;
}
