// Child process for the kill -9 durability test: registers endpoints one by one and prints the
// MAC of each registration after it was acknowledged (the promise resolved). The parent kills
// it with SIGKILL mid-stream and checks every printed MAC is in the reopened store.
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';

const [dir, countArg] = process.argv.slice(2);
const store = await Store.open({ path: dir!, hostId: 'a' });
const registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1' });
if (!registry.tenant('acme')) await registry.createTenant({ name: 'acme' });
if (!registry.network('acme', 'web')) await registry.createNetwork({ tenant: 'acme', name: 'web', vni: 100, cidrs: ['10.64.0.0/16'] });
process.stdout.write('ready\n');
for (let i = 0; i < Number(countArg); i++) {
  const mac = `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
  await registry.upsertLocalEndpoint({ network: 'acme/web', mac, ips: [`10.64.${i >> 8}.${i & 0xff}`], port: `p${i}` });
  process.stdout.write(`${mac}\n`);
}
