/** The MaiTai simulator against the laser's serial protocol, byte for byte. */
import { afterEach, describe, expect, it } from 'vitest';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { parsePower } from '../../src/drivers/maitai/protocol.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function wire(sim: MaiTaiSimulator) {
  const out: Buffer[] = [];
  sim.onSend((data) => out.push(data));
  return async (bytes: string): Promise<string> => {
    sim.receive(Buffer.from(bytes, 'latin1'));
    await tick();
    await tick();
    return Buffer.concat(out.splice(0)).toString('latin1');
  };
}

let sim: MaiTaiSimulator;
afterEach(() => sim?.dispose());

describe('MaiTai simulator wire format', () => {
  it('identifies itself, replies end with LF only', async () => {
    sim = new MaiTaiSimulator();
    const send = wire(sim);
    const idn = await send('*IDN?\r\n');
    expect(idn).toMatch(/MaiTai/);
    expect(idn.endsWith('\n')).toBe(true);
    expect(idn.endsWith('\r\n')).toBe(false);
  });

  it('sets and reads the wavelength as 820nm; ignores values outside 690-1040 nm', async () => {
    sim = new MaiTaiSimulator();
    const send = wire(sim);
    expect(await send('WAVELENGTH:820\r\n')).toBe('');
    expect(await send('WAVELENGTH?\r\n')).toBe('820nm\n');
    expect(await send('WAVelength:1200\r\n')).toBe('');
    expect(await send('wav?\r\n')).toBe('820nm\n');
    expect(await send('READ:WAVelength?\r\n')).toBe('820nm\n');
  });

  it('opens and closes the shutter (SHUTter short form too)', async () => {
    sim = new MaiTaiSimulator();
    const send = wire(sim);
    expect(await send('SHUTTER?\r\n')).toBe('0\n');
    expect(await send('SHUTter:1\r\n')).toBe('');
    expect(await send('SHUTTER?\r\n')).toBe('1\n');
    expect(await send('SHUT 0\r\n')).toBe('');
    expect(await send('SHUT?\r\n')).toBe('0\n');
  });

  it('reports 0.00W with emission off and about 3.00W at 800 nm with it on', async () => {
    sim = new MaiTaiSimulator();
    const send = wire(sim);
    expect(await send('POWER?\r\n')).toBe('0.00W\n');
    expect(await send('ON\r\n')).toBe('');
    expect(await send('POWER?\r\n')).toBe('3.00W\n');
    await send('OFF\r\n');
    expect(await send('READ:POWer?\r\n')).toBe('0.00W\n');
  });

  it('formats power as mW or percent when asked (test hook), and the parser reads all three', async () => {
    sim = new MaiTaiSimulator({ emission: true, powerFormat: 'mW' });
    const send = wire(sim);
    expect(await send('POWER?\r\n')).toBe('3000mW\n');
    sim.powerFormat = '%';
    expect(await send('POWER?\r\n')).toBe('100%\n');
    expect(parsePower('3.00W')).toEqual({ watts: 3 });
    expect(parsePower('100mW')).toEqual({ watts: 0.1 });
    expect(parsePower('50%')).toEqual({ percent: 50 });
    expect(parsePower('3.00')).toBeUndefined();
  });

  it('counts ON while the shutter is open as an unsafe event (for the safety tests)', async () => {
    sim = new MaiTaiSimulator({ shutterOpen: true });
    const send = wire(sim);
    await send('ON\r\n');
    expect(sim.unsafeEmissionEvents).toBe(1);
  });

  it('stays silent on unknown commands, and on everything when the silent fault is set', async () => {
    sim = new MaiTaiSimulator();
    const send = wire(sim);
    expect(await send('FOO?\r\n')).toBe('');
    sim.fault = 'silent';
    expect(await send('*IDN?\r\n')).toBe('');
    sim.fault = 'garbage';
    expect(await send('SHUTTER?\r\n')).toBe('\u00ff#?\n');
  });
});
