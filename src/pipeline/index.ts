// The pipeline: table layout as data (tables.ts), cookies (cookie.ts) and the pure function from
// registry state to desired flows (desired.ts). docs/pipeline.md explains the tables.
export * from './tables.js';
export * from './cookie.js';
export * from './desired.js';
export { matchText, FieldError } from './fields.js';
export { PipelineBook } from './incremental.js';
export { formatFlow } from './format.js';
