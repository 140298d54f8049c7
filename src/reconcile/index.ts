// Reconciliation: flow identity, cookies with generations, the desired/installed diff, the reconcile loop.
export * from './cookie.js';
export * from './identity.js';
export * from './table.js';
export * from './diff.js';
export * from './reconciler.js';
