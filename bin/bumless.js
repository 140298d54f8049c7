#!/usr/bin/env node
// The bumless command line; the TypeScript sources are compiled to dist/ by `npm run build` (run by npm ci).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
