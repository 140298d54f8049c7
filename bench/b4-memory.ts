import type { Bench } from './lib/context.js';

export const b4: Bench = {
  id: 'B4',
  title: 'not yet written',
  run() {
    return Promise.reject(new Error('not implemented in this build'));
  },
};
