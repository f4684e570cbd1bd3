import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { reading, startInProcess, type InProcess } from './helpers.js';

const CONFIG = `# bench
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm1.params]
wavelength_nm = 800 # HeNe later
attenuator = false
`;

let d: InProcess | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

describe('memory-only changes stay out of the file', () => {
  it('a later persisted command writes only its own change', async () => {
    d = await startInProcess(CONFIG);
    await d.waitFor(reading('pm1'));
    await d.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { wavelength_nm: 633 }, persist: false }, 'test');
    expect(readFileSync(d.configPath, 'utf8')).toBe(CONFIG);
    const r = await d.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { attenuator: true } }, 'test');
    expect(r.persisted).toMatchObject({ written: true });
    const text = readFileSync(d.configPath, 'utf8');
    expect(text).toMatch(/^wavelength_nm = 800 # HeNe later$/m);
    expect(text).toMatch(/^attenuator = true$/m);
    // Running config keeps both; status says the file lacks the memory-only one.
    expect(d.daemon.getInstrument('pm1').params).toMatchObject({ wavelength_nm: 633, attenuator: true });
    expect(d.daemon.status().persistence).toMatchObject({ upToDate: false, reason: expect.stringMatching(/memory only/) });
    // An explicit sync writes the running config, memory-only change included.
    await d.daemon.submit({ type: 'config.sync' }, 'test');
    expect(readFileSync(d.configPath, 'utf8')).toMatch(/^wavelength_nm = 633 # HeNe later$/m);
    expect(d.daemon.status().persistence.upToDate).toBe(true);
  });
});
