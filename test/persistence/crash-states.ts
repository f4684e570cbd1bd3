/**
 * The sequence of configs the crash test writes: state k is a pure function of k, so after a kill
 * the test can tell exactly which state the file holds. Mixes in-place sets, instrument adds and
 * removes, so every kind of splice is crossed by a kill at some point.
 */
export const CRASH_BASE = `# crash test config
[application]
name = "crash"  # kept across every write

[instruments.pm1]
driver = "sim"
port = "sim://pm1"

[instruments.pm1.params]
counter = 0
gain = 1.0  # stays a float
`;

export type CrashModel = {
  application: { name: string };
  instruments: Record<string, { driver: string; port: string; params?: Record<string, unknown> }>;
};

export function crashState(k: number): CrashModel {
  const instruments: CrashModel['instruments'] = {
    pm1: { driver: 'sim', port: 'sim://pm1', params: { counter: k, gain: 1 + (k % 7) } },
  };
  // An instrument added at every even step and removed two steps later.
  const even = k - (k % 2);
  if (even > 0) instruments[`d${even}`] = { driver: 'sim', port: `sim://d${even}`, params: { step: even } };
  return { application: { name: 'crash' }, instruments };
}

/** Which state a parsed file is in (the counter), or undefined if it does not look like one. */
export function stateOf(model: unknown): number | undefined {
  const counter = (model as CrashModel | undefined)?.instruments?.pm1?.params?.counter;
  return typeof counter === 'number' ? counter : undefined;
}
