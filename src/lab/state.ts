// The lab's record of itself: <root>/<lab>/state.json (root: BUMLESS_LAB_ROOT or /run/bumless/labs).
// It is written before anything is created, so a crash mid-`up` leaves a record `down` can use; `down`
// does not rely on it either (it also scans namespace names and pidfiles).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Encap } from '../registry/model.js';
import { LabError } from './errors.js';
import { labRoot } from './system.js';

const HostState = z.object({
  id: z.string(),
  index: z.number().int(),
  ns: z.string(),
  underlayIp: z.string(),
  dir: z.string(),
});
export type HostState = z.infer<typeof HostState>;

const ContainerState = z.object({
  name: z.string(),
  host: z.string(),
  ns: z.string(),
  ip: z.string(),
  mac: z.string(),
  mtu: z.number().int(),
  port: z.string(),
});
export type ContainerState = z.infer<typeof ContainerState>;

export const LabState = z.object({
  version: z.literal(1),
  name: z.string(),
  encap: Encap,
  underlay: z.object({ cidr: z.string(), prefixLen: z.number().int(), ns: z.string(), mtu: z.number().int() }),
  hosts: z.array(HostState),
  containers: z.array(ContainerState),
  createdAt: z.string(),
});
export type LabState = z.infer<typeof LabState>;

export function labDir(lab: string): string {
  return join(labRoot(), lab);
}

export function stateFile(lab: string): string {
  return join(labDir(lab), 'state.json');
}

export function readState(lab: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(lab), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = LabState.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new LabError(`lab state ${stateFile(lab)} is unreadable (${parsed.error.issues[0]?.message ?? 'invalid'}); run \`bumless lab down --lab ${lab}\``);
  }
  return parsed.data;
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writeState(state: LabState): void {
  mkdirSync(labDir(state.name), { recursive: true });
  const tmp = `${stateFile(state.name)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(state.name));
}
