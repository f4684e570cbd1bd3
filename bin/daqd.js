#!/usr/bin/env node
// SIGHUP first of all: its default action kills, and `systemctl reload` may come while daqd is still
// loading. daqd-main takes over once it runs (see there).
globalThis.__daqdEarlySighup = { listener: () => {} };
process.on('SIGHUP', globalThis.__daqdEarlySighup.listener);
// daqd: compiled JavaScript from dist/ when it is up to date, else the sources through tsx (bin/launch.js),
// so `npm install` stays the only set-up step and a developer's edit is never hidden by a stale build.
import { launch } from './launch.js';
await launch('cli/daqd-main', { sourceMaps: true });
