/**
 * The running config is immutable once committed (freezeModel), and commands build the next one
 * by copying only the tables they change. The config file's writer relies on both: after its first
 * write it diffs from the frozen model it last wrote, skipping shared tables by identity.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isFrozenModel } from '../../src/config/model.js';
import { renderStats } from '../../src/persistence/toml-writer.js';
import { reading, startInProcess, type InProcess } from './helpers.js';

const CONFIG = `# bench
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm1.params]
wavelength_nm = 800 # HeNe later
attenuator = false

[instruments.pm2]
driver = "newport_1830c"
port = "sim"
`;

let d: InProcess | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

describe('the running config is frozen and shared', () => {
  it('is frozen all the way down; an edit in place throws instead of silently changing it', async () => {
    d = await startInProcess(CONFIG);
    const config = d.daemon.config as Record<string, any>;
    expect(isFrozenModel(config)).toBe(true);
    expect(() => {
      config.instruments.pm1.params.wavelength_nm = 1;
    }).toThrow(TypeError);
    expect(d.daemon.getInstrument('pm1').params.wavelength_nm).toBe(800);
  });

  it('a set copies only its instrument; persisted sets and adds after the first are diffed from the shared model', async () => {
    d = await startInProcess(CONFIG);
    await d.waitFor(reading('pm1'));
    const before = d.daemon.config;
    const shared = renderStats.diffedFromShared;
    await d.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { wavelength_nm: 633 } }, 'test');
    const after = d.daemon.config;
    expect(after).not.toBe(before);
    expect(after.instruments!.pm2).toBe(before.instruments!.pm2);
    expect(isFrozenModel(after)).toBe(true);
    await d.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { wavelength_nm: 1064 } }, 'test');
    await d.daemon.submit({ type: 'instrument.add', id: 'pm3', config: { driver: 'newport_1830c', port: 'sim' } }, 'test');
    expect(d.daemon.config.instruments!.pm2).toBe(before.instruments!.pm2);
    // The first write after loading diffs from the writer's own copy; the two after it from the shared model.
    expect(renderStats.diffedFromShared - shared).toBe(2);
    const text = readFileSync(d.configPath, 'utf8');
    expect(text).toMatch(/^wavelength_nm = 1064 # HeNe later$/m);
    expect(text).toMatch(/^\[instruments\.pm3\]$/m);
  });
});
