/**
 * Child process for the crash test: continues the state sequence from whatever the file holds,
 * writing each next state through ConfigFile and printing "ack <k>" only after write() returned.
 * Usage: node --import tsx test/persistence/crash-writer.ts <config path> <last state>
 */
import { parse } from 'smol-toml';
import { ConfigFile } from '../../src/persistence/config-file.js';
import { crashState, stateOf } from './crash-states.js';

const [path, lastArg] = process.argv.slice(2);
if (!path || !lastArg) {
  process.stderr.write('usage: crash-writer.ts <config path> <last state>\n');
  process.exit(2);
}
const last = Number(lastArg);
const file = new ConfigFile(path);
let model: unknown = parse(await file.load());
const from = stateOf(model);
if (from === undefined) {
  process.stderr.write(`crash-writer: ${path} holds no crash-test state\n`);
  process.exit(3);
}
process.stdout.write(`start ${from}\n`);
for (let k = from + 1; k <= last; k++) {
  const next = crashState(k);
  await file.write(model, next);
  process.stdout.write(`ack ${k}\n`);
  model = next;
}
process.stdout.write('done\n');
