// The API's error model: every error response is { error: { code, message, details? } } with a status that
// says who must act (4xx: the client, with a message that says how; 5xx: the operator, see the log).
import type { z } from 'zod';

export interface ErrorDetail {
  path: (string | number)[];
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
    /** For a conflict: the object that holds what was asked for (e.g. the endpoint holding an IP). */
    readonly holder?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { code: string; message: string; details?: ErrorDetail[]; holder?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
        ...(this.holder === undefined ? {} : { holder: this.holder }),
      },
    };
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

export function validationError(where: string, error: z.ZodError): ApiError {
  const details = error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
  const first = details[0];
  const at = first && first.path.length ? `${first.path.join('.')}: ` : '';
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new ApiError(400, 'invalid_request', `invalid ${where}: ${at}${first?.message ?? 'invalid'}${more}`, details);
}

/**
 * Errors from the registry and other ports, recognised by name so the API needs no import of their classes:
 * ConflictError -> 409 (with `holder` when given), FrozenError -> 409, NotFoundError -> 404,
 * ValidationError -> 400 (with its issues' field paths), QuotaError -> 403, RegistryStoreFailedError -> 503
 * (store_failed). Anything else is not the client's fault.
 */
export function fromPortError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { holder?: unknown; path?: unknown; issues?: unknown };
  switch (e.name) {
    case 'ConflictError':
      return new ApiError(409, 'conflict', e.message, undefined, undefined, e.holder);
    case 'FrozenError':
      return new ApiError(409, 'frozen', e.message);
    case 'NotFoundError':
      return new ApiError(404, 'not_found', e.message);
    case 'ValidationError': {
      const issues = Array.isArray(e.issues) ? (e.issues as Array<{ path?: unknown; message?: unknown }>) : [];
      const details = issues.map((i) => ({
        path: typeof i.path === 'string' ? i.path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : Array.isArray(i.path) ? (i.path as (string | number)[]) : [],
        message: typeof i.message === 'string' ? i.message : e.message,
      }));
      if (!details.length) details.push({ path: Array.isArray(e.path) ? (e.path as (string | number)[]) : [], message: e.message });
      return new ApiError(400, 'invalid_request', e.message, details);
    }
    case 'QuotaError':
      return new ApiError(403, 'quota_exceeded', e.message);
    case 'RegistryStoreFailedError':
      // The agent's disk failed a commit: no write is taken until the operator fixes it and restarts.
      return new ApiError(503, 'store_failed', e.message);
    default:
      return undefined;
  }
}
