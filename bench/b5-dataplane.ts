import type { Bench } from './lib/context.js';

export const b5: Bench = {
  id: 'B5',
  title: 'not yet written',
  run() {
    return Promise.reject(new Error('not implemented in this build'));
  },
};
