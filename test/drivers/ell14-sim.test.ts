/** The ELL14 simulator against the Elliptec protocol, byte for byte, including bus behaviour. */
import { afterEach, describe, expect, it } from 'vitest';
import { Ell14Simulator } from '../../src/drivers/ell14/simulator.js';
import { decodePulses, encodePulses, parseInfo } from '../../src/drivers/ell14/protocol.js';
import { ell14OptionsSchema } from '../../src/drivers/ell14/options.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Several simulators on one bus: every byte reaches all of them; their replies merge. */
function bus(...sims: Ell14Simulator[]) {
  const out: Buffer[] = [];
  for (const sim of sims) sim.onSend((data) => out.push(data));
  return {
    /** Delivers bytes without collecting anything: the replies are left for lines(). */
    post(bytes: string): void {
      for (const sim of sims) sim.receive(Buffer.from(bytes, 'latin1'));
    },
    async send(bytes: string): Promise<string> {
      for (const sim of sims) sim.receive(Buffer.from(bytes, 'latin1'));
      await tick();
      await tick();
      return Buffer.concat(out.splice(0)).toString('latin1');
    },
    /** Waits until the bus carries `count` complete lines (a move answers when it is done). */
    async lines(count: number, timeoutMs = 3000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while ((Buffer.concat(out).toString('latin1').match(/\r\n/g)?.length ?? 0) < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} reply lines`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return Buffer.concat(out.splice(0)).toString('latin1');
    },
  };
}

const sims: Ell14Simulator[] = [];
function make(options: ConstructorParameters<typeof Ell14Simulator>[0]): Ell14Simulator {
  const sim = new Ell14Simulator(options);
  sims.push(sim);
  return sim;
}
afterEach(() => sims.splice(0).forEach((s) => s.dispose()));

describe('ELL14 simulator wire format', () => {
  it('encodes positions as 8 hex digits of signed 32-bit two\'s complement', () => {
    expect(encodePulses(0x4650)).toBe('00004650');
    expect(encodePulses(-1)).toBe('FFFFFFFF');
    expect(encodePulses(143360)).toBe('00023000');
    expect(decodePulses('FFFFFFFF')).toBe(-1);
    expect(decodePulses('80000000')).toBe(-2147483648);
    expect(decodePulses('0000465')).toBeUndefined();
  });

  it('answers gp, gs and in with its address and CR LF, commands need no terminator', async () => {
    const sim = make({ address: '2' });
    const b = bus(sim);
    expect(await b.send('2gp')).toBe('2PO00000000\r\n');
    expect(await b.send('2gs')).toBe('2GS00\r\n');
    const info = await b.send('2in');
    expect(info).toMatch(/^2IN0E[0-9A-Za-z]{8}\d{4}[0-9A-F]{4}016800023000\r\n$/);
    expect(parseInfo(info.slice(3, -2))).toMatchObject({ motorType: 14, travel: 360, pulsesPerUnit: 143360 });
  });

  it('moves absolute and relative and replies with the position once arrived; gs reads 09 while busy', async () => {
    const sim = make({ address: '2', timeScale: 4 });
    const b = bus(sim);
    expect(await b.send(`2ma${encodePulses(17920)}`)).toBe(''); // 45 deg: ~190 ms at 240 deg/s, /4
    expect(sim.isMoving).toBe(true);
    expect(await b.send('2gs')).toBe('2GS09\r\n');
    expect(await b.lines(1)).toBe('2PO00004600\r\n');
    expect(await b.send(`2mr${encodePulses(-17920 * 2)}`)).toBe('');
    expect(await b.lines(1)).toBe('2POFFFFBA00\r\n');
    expect(sim.positionDeg).toBe(-45);
  });

  it('stops a move on st where the rotor is, answering the interrupted move with that position; idle st gets GS00', async () => {
    const sim = make({ address: '2', speedDegPerS: 90 });
    const b = bus(sim);
    expect(await b.send(`2ma${encodePulses(71680)}`)).toBe(''); // 180 deg: 2 s at 90 deg/s
    // gp follows the rotor during the move: wait until it has left 0.
    const deadline = Date.now() + 2000;
    while (decodePulses((await b.send('2gp')).slice(3, 11))! === 0) {
      if (Date.now() > deadline) throw new Error('the rotor never left 0');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stop = await b.send('2st');
    expect(stop).toMatch(/^2PO[0-9A-F]{8}\r\n$/);
    const stoppedAt = decodePulses(stop.slice(3, 11))!;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(71680);
    expect(sim.isMoving).toBe(false);
    expect(await b.send('2gs')).toBe('2GS00\r\n');
    expect(await b.send('2gp')).toBe(`2PO${encodePulses(stoppedAt)}\r\n`);
    // No second reply arrives for the stopped move.
    expect(await b.send('2st')).toBe('2GS00\r\n');
    expect(sim.received).toEqual(expect.arrayContaining(['2st']));
  });

  it('homes with ho0', async () => {
    const sim = make({ address: 'A', instantMoves: true });
    const b = bus(sim);
    // An instant move answers after a timer: post, then wait for its line (send's two ticks could
    // take the reply or not, depending on how busy the machine is).
    b.post(`Ama${encodePulses(1000)}`);
    await b.lines(1);
    b.post('Aho0');
    expect(await b.lines(1)).toBe('APO00000000\r\n');
  });

  it('reports a mechanical time out (GS02) instead of a position when a move stalls', async () => {
    const sim = make({ address: '3', instantMoves: true });
    sim.failNextMoveWith = 2;
    const b = bus(sim);
    b.post(`3ma${encodePulses(20000)}`);
    expect(await b.lines(1)).toBe('3GS02\r\n');
    expect(await b.send('3gp')).toBe('3PO00002710\r\n'); // stopped half way
  });

  it('answers an unknown command with GS03 and a malformed position with GS04', async () => {
    const sim = make({ address: '2' });
    const b = bus(sim);
    expect(await b.send('2zz')).toBe('2GS03\r\n');
    expect(await b.send('2maXYZ12345')).toBe('2GS04\r\n');
  });

  it('on a shared bus only the addressed mount answers, even when frames arrive split and back to back', async () => {
    const two = make({ address: '2', instantMoves: true });
    const three = make({ address: '3', instantMoves: true });
    const b = bus(two, three);
    expect(await b.send('3g')).toBe('');
    expect(await b.send('p2')).toBe('3PO00000000\r\n');
    b.post(`ma${encodePulses(100)}`);
    expect(await b.lines(1)).toBe('2PO00000064\r\n');
    expect(await b.send('5gp')).toBe(''); // nobody at 5
    expect(two.received).toEqual(['2ma00000064']);
    expect(three.received).toEqual(['3gp']);
  });

  it('drops a truncated command after a quiet period so the next one is understood', async () => {
    const sim = make({ address: '2' });
    const b = bus(sim);
    expect(await b.send('2ma0000')).toBe('');
    expect(sim.hasPartialCommand).toBe(true);
    const deadline = Date.now() + 2000;
    while (sim.hasPartialCommand) {
      if (Date.now() > deadline) throw new Error('the fragment was never dropped');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const reply = await b.send('2gp');
    expect(reply).toBe('2PO00000000\r\n');
  });
});

describe('ELL14 options', () => {
  it('accepts one hex digit and normalises it to upper case', () => {
    expect(ell14OptionsSchema.parse({ address: 'b' }).address).toBe('B');
    expect(ell14OptionsSchema.parse({ address: '2' })).toMatchObject({ address: '2', move_timeout_ms: 8000 });
  });

  it('rejects a missing or invalid address at validation time with a message naming it', () => {
    for (const bad of [{}, { address: 'G' }, { address: '10' }, { address: 2 }]) {
      const result = ell14OptionsSchema.safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]!.message).toMatch(/address/);
    }
  });
});
