/** The ESP300 simulator against the wire format in the controller's manual, byte for byte. */
import { afterEach, describe, expect, it } from 'vitest';
import { Esp300Simulator } from '../../src/drivers/esp300/simulator.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Asks `check` repeatedly (each ask is a real device round trip) until it holds or time runs out. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function wire(sim: Esp300Simulator) {
  const out: Buffer[] = [];
  sim.onSend((data) => out.push(data));
  return {
    /** Sends raw bytes and returns every byte the device sent back (after its reply tick). */
    async send(bytes: string): Promise<string> {
      sim.receive(Buffer.from(bytes, 'latin1'));
      await tick();
      await tick();
      return Buffer.concat(out.splice(0)).toString('latin1');
    },
  };
}

let sim: Esp300Simulator;
afterEach(() => sim?.dispose());

describe('ESP300 simulator wire format', () => {
  it('answers VE? with the version line, CR LF terminated', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    expect(await w.send('VE?\r\n')).toBe('ESP300 Version 3.04 07/27/01\r\n');
  });

  it('gives no reply to set commands and reports success through TB?', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    expect(await w.send('1MO\r\n')).toBe('');
    expect(await w.send('1VA2.500000\r\n')).toBe('');
    expect(await w.send('1VA?\r\n')).toBe('2.5\r\n');
    expect(await w.send('TB?\r\n')).toMatch(/^0, \d+, NO ERROR DETECTED\r\n$/);
  });

  it('reassembles a command split over several chunks', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    expect(await w.send('1T')).toBe('');
    expect(await w.send('P')).toBe('');
    expect(await w.send('?\r')).toBe('0\r\n');
    expect(await w.send('\n')).toBe('');
  });

  it('queues axis errors with code axis*100+n: moving with the motor off, velocity over the maximum', async () => {
    sim = new Esp300Simulator({ maxVelocity: 25 });
    const w = wire(sim);
    expect(await w.send('2PA5.000000\r\n')).toBe('');
    expect(await w.send('2VA30\r\n')).toBe('');
    expect(await w.send('TB?\r\n')).toMatch(/^213, \d+, AXIS-2 MOTOR NOT ENABLED\r\n$/);
    expect(await w.send('TB?\r\n')).toMatch(/^210, \d+, AXIS-2 MAXIMUM VELOCITY EXCEEDED\r\n$/);
    expect(await w.send('TB?\r\n')).toMatch(/^0, \d+, NO ERROR DETECTED\r\n$/);
    expect(await w.send('2TP?\r\n')).toBe('0\r\n');
  });

  it('reports unknown commands and missing axes as general errors', async () => {
    sim = new Esp300Simulator({ axes: [1] });
    const w = wire(sim);
    await w.send('1XX\r\n');
    await w.send('TP?\r\n');
    await w.send('3TP?\r\n');
    expect(await w.send('TE?\r\n')).toBe('6\r\n');
    expect(await w.send('TE?\r\n')).toBe('37\r\n');
    expect(await w.send('TE?\r\n')).toBe('9\r\n');
  });

  it('completes moves at once with instantMoves (test hook)', async () => {
    sim = new Esp300Simulator({ instantMoves: true });
    const w = wire(sim);
    await w.send('1MO\r\n1PA12.345\r\n');
    expect(await w.send('1MD?\r\n')).toBe('1\r\n');
    expect(await w.send('1TP?\r\n')).toBe('12.345\r\n');
    expect(await w.send('1PR-2.345\r\n1TP?\r\n')).toBe('10\r\n');
  });

  it('runs several commands separated by semicolons on one line', async () => {
    sim = new Esp300Simulator({ instantMoves: true });
    const w = wire(sim);
    expect(await w.send('1MO;1PA3;1TP?;1MD?\r\n')).toBe('3\r\n1\r\n');
  });

  it('stops a move in progress with ST and homes with OR', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    await w.send('1MO\r\n1VA1\r\n1PA50\r\n');
    expect(await w.send('1MD?\r\n')).toBe('0\r\n');
    await w.send('1ST\r\n');
    expect(await w.send('1MD?\r\n')).toBe('1\r\n');
    const stoppedAt = Number((await w.send('1TP?\r\n')).trim());
    expect(stoppedAt).toBeLessThan(1);
    sim.completeMoves();
    await w.send('1OR\r\n');
    sim.completeMoves();
    expect(await w.send('1TP?\r\n')).toBe('0\r\n');
  });

  it('reports and sets the displacement unit with SN (2 = mm as shipped)', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    expect(await w.send('1SN?\r\n')).toBe('2\r\n');
    await w.send('1SN7\r\n');
    expect(await w.send('1SN?\r\n')).toBe('7\r\n');
    expect(await w.send('2SN?\r\n')).toBe('2\r\n');
  });

  it('moves at the configured velocity in real time: MD? reads 0 during the move, then 1 at the target', async () => {
    sim = new Esp300Simulator();
    const w = wire(sim);
    await w.send('1MO\r\n1VA5\r\n');
    const started = Date.now();
    await w.send('1PA1.000000\r\n');
    expect(await w.send('1MD?\r\n')).toBe('0\r\n');
    const mid = Number((await w.send('1TP?\r\n')).trim());
    expect(mid).toBeGreaterThanOrEqual(0);
    expect(mid).toBeLessThan(1);
    await until(async () => (await w.send('1MD?\r\n')) === '1\r\n', 3000, 'the move to finish');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // 1 mm at 5 mm/s = 200 ms
    expect(await w.send('1TP?\r\n')).toBe('1\r\n');
  });
});
