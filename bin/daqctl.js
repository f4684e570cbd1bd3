#!/usr/bin/env node
// daqctl: compiled JavaScript from dist/ when it is up to date, else the sources through tsx (bin/launch.js).
import { launch } from './launch.js';
await launch('cli/daqctl-main');
