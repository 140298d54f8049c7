// Typed registry errors with stable codes; the REST API maps them to status codes
// (validation -> 400, not-found -> 404, conflict/frozen -> 409, quota -> 403/429 as it decides,
// store-failed -> 503).
import type { Endpoint } from './model.js';

export type RegistryErrorCode = 'validation' | 'not-found' | 'conflict' | 'frozen' | 'quota' | 'clock-skew' | 'store-failed';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class ValidationError extends RegistryError {
  constructor(
    message: string,
    /** Field paths and messages, e.g. [{ path: 'ips.0', message: 'not inside 10.0.0.0/24' }]. */
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super('validation', message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends RegistryError {
  constructor(
    readonly kind: 'tenant' | 'network' | 'endpoint' | 'alarm' | 'token',
    readonly id: string,
  ) {
    super('not-found', `${kind} "${id}" does not exist`);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends RegistryError {
  constructor(
    message: string,
    /** The endpoint that holds the contested address, when the conflict is about an IP. */
    readonly holder?: Endpoint,
  ) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

/** The (network, MAC) is frozen by duplicate detection until an operator clears the alarm. */
export class FrozenError extends RegistryError {
  constructor(
    readonly key: string,
    readonly alarmId: string,
  ) {
    super('frozen', `MAC ${key} moved too often and is frozen by duplicate detection; find the duplicate MAC, then clear alarm "${alarmId}"`);
    this.name = 'FrozenError';
  }
}

export class QuotaError extends RegistryError {
  constructor(message: string) {
    super('quota', message);
    this.name = 'QuotaError';
  }
}

/**
 * A replicated record carries a hybrid-clock time too far ahead of this agent's wall clock. Adopting
 * it would drag every later local timestamp (and every agent that observes them) into the future for
 * good, so the whole batch is refused and the session that carried it is closed.
 */
export class ClockSkewError extends RegistryError {
  constructor(
    readonly peer: string,
    readonly origin: string,
    readonly key: string,
    /** How far the record's HLC wall time is ahead of local physical time, in ms. */
    readonly aheadMs: number,
    readonly maxSkewMs: number,
  ) {
    super(
      'clock-skew',
      `record ${key} from origin "${origin}" (via "${peer}") is ${aheadMs} ms ahead of this agent's clock, more than registry.maxClockSkewMs (${maxSkewMs} ms); synchronise the hosts' clocks (NTP) and the peer reconnects`,
    );
    this.name = 'ClockSkewError';
  }
}

/**
 * A durable write of the registry failed (disk full, I/O error). After that the registry is failed
 * for good until the agent restarts (docs/mesh-protocol.md, section 13): what is in memory may hold
 * writes that never reached the disk, so nothing more is committed or announced. The write that
 * failed and every later one reject with this error; reads keep answering from memory.
 */
export class RegistryStoreFailedError extends RegistryError {
  constructor(
    /** The store's own error text (lmdb's), as first seen. */
    readonly storeError: string,
    /** The registry's data directory. */
    readonly dataDir: string,
    /** When the failure was first seen (ISO 8601). */
    readonly since: string,
  ) {
    super(
      'store-failed',
      `the registry store in ${dataDir} failed to commit a write (${storeError}) and refuses every write since ${since}; free space or fix the disk, then restart the agent (it reloads what is durable and resyncs the rest from its peers)`,
    );
    this.name = 'RegistryStoreFailedError';
  }
}
