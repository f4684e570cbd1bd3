#!/usr/bin/env node
// SIGHUP first of all: its default action kills, and `systemctl reload` may come while daqd is still
// loading. daqd-main takes over once it runs (see there).
globalThis.__daqdEarlySighup = { listener: () => {} };
process.on('SIGHUP', globalThis.__daqdEarlySighup.listener);
// Runs the TypeScript sources directly through tsx, so `npm install` needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/daqd-main.ts');
