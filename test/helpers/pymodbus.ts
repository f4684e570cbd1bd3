/**
 * An independent Modbus RTU slave for tests: Debian's python3-pymodbus (3.0) serving on one end
 * of a pty pair. The script prints READY once its serial port is open, and prints the datastore
 * as one JSON line whenever the test writes "dump" to its stdin, so tests wait on events, never
 * on sleeps.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Debian's python sees python3-pymodbus; the python3 first on PATH may not. */
const PYTHON = '/usr/bin/python3';

export interface PymodbusSlave {
  id: number;
  /** Values from address 0 up; addresses past the end are unmapped (exception 2). */
  holding?: number[];
  input?: number[];
  coils?: boolean[];
  discrete?: boolean[];
}

export interface SlaveData {
  holding: number[];
  input: number[];
  coils: boolean[];
  discrete: boolean[];
}

export interface PymodbusServer {
  /** The datastore as pymodbus holds it now, by slave id. */
  dump(): Promise<Record<number, SlaveData>>;
  stop(): Promise<void>;
}

const SCRIPT = String.raw`
import asyncio, json, sys
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
from pymodbus.server.async_io import ModbusSerialServer
from pymodbus.transaction import ModbusRtuFramer

port, config_path = sys.argv[1], sys.argv[2]
with open(config_path) as f:
    config = json.load(f)

def block(values, default):
    # pymodbus 3.0 cannot make an empty block; a one-value block maps only address 0.
    return ModbusSequentialDataBlock(0, values if values else [default])

slaves = {}
for s in config["slaves"]:
    slaves[s["id"]] = ModbusSlaveContext(
        hr=block(s.get("holding"), 0), ir=block(s.get("input"), 0),
        co=block(s.get("coils"), False), di=block(s.get("discrete"), False),
        zero_mode=True)
context = ModbusServerContext(slaves=slaves, single=False)

def dump():
    out = {}
    for sid, ctx in slaves.items():
        out[sid] = {"holding": ctx.store["h"].values, "input": ctx.store["i"].values,
                    "coils": [bool(v) for v in ctx.store["c"].values],
                    "discrete": [bool(v) for v in ctx.store["d"].values]}
    print("DUMP " + json.dumps(out), flush=True)

async def main():
    # Slaves not in the context stay silent, as absent devices on an RS-485 bus do.
    server = ModbusSerialServer(context, ModbusRtuFramer, port=port, baudrate=config["baudrate"],
                                ignore_missing_slaves=True)
    await server.start()
    if server.transport is None:
        print("FAILED to open " + port, flush=True)
        sys.exit(2)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    def on_stdin():
        line = sys.stdin.readline()
        if not line:
            done.set()
        elif line.strip() == "dump":
            dump()
    loop.add_reader(sys.stdin.fileno(), on_stdin)
    serving = asyncio.create_task(server.serve_forever())
    print("READY", flush=True)
    await done.wait()
    serving.cancel()
    await server.shutdown()

asyncio.run(main())
`;

const INSTALL_HINT = 'python3-pymodbus is missing: install it with `apt-get install -y python3-pymodbus`';

/** Throws with the install command if Debian's pymodbus is not importable. */
export function requirePymodbus(python = PYTHON): void {
  const probe = spawnSync(python, ['-c', 'import pymodbus.server.async_io, pymodbus.datastore'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${INSTALL_HINT} (${python}: ${probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)})`);
  }
}

export async function startPymodbusServer(
  port: string,
  slaves: PymodbusSlave[],
  options: { baudRate?: number; startTimeoutMs?: number } = {},
): Promise<PymodbusServer> {
  requirePymodbus();
  const dir = mkdtempSync(join(tmpdir(), 'daqd-pymodbus-'));
  const scriptPath = join(dir, 'server.py');
  const configPath = join(dir, 'config.json');
  writeFileSync(scriptPath, SCRIPT);
  writeFileSync(configPath, JSON.stringify({ baudrate: options.baudRate ?? 9600, slaves }));

  const child: ChildProcess = spawn(PYTHON, [scriptPath, port, configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const waiters: ((line: string) => boolean)[] = [];
  lines.on('line', (line) => {
    const i = waiters.findIndex((w) => w(line));
    if (i >= 0) waiters.splice(i, 1);
  });

  const nextLine = (prefix: string, timeoutMs: number, what: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`pymodbus server: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr.trim()}`)), timeoutMs);
      const onExit = () => fail(new Error(`pymodbus server exited while waiting for ${what}; stderr: ${stderr.trim()}`));
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        reject(err);
      };
      const waiter = (line: string): boolean => {
        if (line.startsWith('FAILED')) {
          fail(new Error(`pymodbus server: ${line}`));
          return true;
        }
        if (!line.startsWith(prefix)) return false;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line.slice(prefix.length));
        return true;
      };
      waiters.push(waiter);
      child.once('exit', onExit);
    });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin!.end();
      // Give it a clean exit first; kill it if it hangs so a test never does.
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await nextLine('READY', options.startTimeoutMs ?? 10_000, 'READY');
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    async dump() {
      const reply = nextLine('DUMP ', 5000, 'a datastore dump');
      child.stdin!.write('dump\n');
      const raw = JSON.parse(await reply) as Record<string, SlaveData>;
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [Number(k), v]));
    },
    stop,
  };
}
