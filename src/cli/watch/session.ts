/**
 * `daqctl watch`: subscribes to daqd's events and shows them until stopped.
 *
 * On a terminal (and without --events/--json): a table redrawn in place (board.ts, screen.ts).
 * Keys are read raw so a stray key does not echo into the table; q, Ctrl-C and Ctrl-D stop it.
 * Otherwise: one JSON object per event per line, for pipes.
 *
 * Every way out - a key, SIGINT, SIGTERM, SIGHUP, daqd closing the socket, an unexpected error -
 * goes through finish(), which stops the timers, shows the cursor, puts the keyboard back in line
 * mode and exits: exit 0 when a person or a signal stopped it, 1 when daqd went away.
 */
import { writeSync } from 'node:fs';
import { RpcError } from '../../client/client.js';
import type { InstrumentView, ModuleView } from '../../client/types.js';
import type { Ctl } from '../ctl.js';
import { EXIT } from '../exit.js';
import { Board, type Applied } from './board.js';
import { eventSelected, parseTypes, type Selection } from './filter.js';
import { LiveRegion, SHOW_CURSOR } from './screen.js';

export interface WatchOptions {
  ids: string[];
  module?: string[];
  type?: string[];
  events?: boolean;
}

/** How often the table is redrawn at most, and how often module status (last values) is read again. */
const REDRAW_MS = 100;
const MODULE_REFRESH_MS = 1000;
const KEY_CTRL_C = 0x03;
const KEY_CTRL_D = 0x04;

/** Unknown ids are an error at once (exit 1): waiting for events about them would wait forever. */
function checkIds(kind: 'instrument' | 'module', wanted: ReadonlySet<string> | null, known: readonly string[]): void {
  if (!wanted) return;
  const missing = [...wanted].filter((id) => !known.includes(id));
  if (missing.length === 0) return;
  const list = known.length ? known.join(', ') : 'none';
  const what = missing.map((id) => `"${id}"`).join(', ');
  throw new RpcError(`no ${kind}${missing.length > 1 ? 's' : ''} ${what} (${kind}s: ${list})`, -32001, { kind: 'not_found' });
}

export async function runWatch(ctl: Ctl, o: WatchOptions): Promise<void> {
  const moduleIds = (o.module ?? []).flatMap((m) => m.split(',')).filter(Boolean);
  const selection: Selection = {
    instruments: o.ids.length ? new Set(o.ids) : null,
    modules: moduleIds.length ? new Set(moduleIds) : null,
    types: parseTypes(o.type), // a usage error before connecting
  };
  const asTable = process.stdout.isTTY === true && !ctl.json && !o.events;

  const client = await ctl.connect();
  const [list, mods] = await Promise.all([client.call<{ instruments: InstrumentView[] }>('instrument.list'), client.call<{ modules: ModuleView[] }>('module.list')]);
  try {
    checkIds('instrument', selection.instruments, list.instruments.map((i) => i.id));
    checkIds('module', selection.modules, mods.modules.map((m) => m.id));
  } catch (err) {
    client.close();
    throw err;
  }

  const rawKeys = asTable && process.stdin.isTTY === true;
  const board = new Board(selection, rawKeys);
  board.loadInstruments(list.instruments);
  board.loadModules(mods.modules);
  const view = asTable ? tableView(board) : jsonView(board, selection);

  const timers: NodeJS.Timeout[] = [];
  let finished = false;
  const stdin = process.stdin;
  const finish = (code: number, message?: string): void => {
    if (finished) return;
    finished = true;
    for (const t of timers) clearInterval(t);
    view.restore();
    if (rawKeys) {
      stdin.setRawMode(false);
      stdin.pause();
    }
    client.close();
    if (message) process.stderr.write(`daqctl: ${message}\n`);
    process.exit(code);
  };
  // The last resort for an exit nobody planned (an exception): the cursor must come back.
  process.on('exit', () => view.restoreSync());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => finish(EXIT.ok));
  client.onClose((err) => finish(EXIT.failed, `daqd closed the connection (${err.message}); watch stopped`));

  let refreshing = false;
  const refreshModules = () => {
    if (refreshing || finished) return;
    refreshing = true;
    client
      .call<{ modules: ModuleView[] }>('module.list')
      .then((r) => {
        board.loadModules(r.modules);
        view.changed();
      })
      .catch(() => {}) // a closed connection ends the watch through onClose
      .finally(() => (refreshing = false));
  };

  client.onNotification((type, params) => {
    const applied = board.apply(type, params ?? {});
    if (applied === 'refresh-modules') refreshModules();
    view.event(type, params ?? {}, applied);
  });
  await client.call('events.subscribe', {
    ...(selection.types ? { types: [...selection.types] } : {}),
    // daqd passes events about no instrument (modules, config) through this filter; watch filters those.
    ...(selection.instruments ? { instruments: [...selection.instruments] } : {}),
  });

  if (asTable) {
    view.changed();
    view.flush();
    timers.push(setInterval(() => view.flush(), REDRAW_MS));
    if (board.showModules) timers.push(setInterval(refreshModules, MODULE_REFRESH_MS));
    process.stdout.on('resize', () => {
      view.changed();
      view.flush();
    });
  }
  if (rawKeys) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', (key: Buffer) => {
      if (key.includes(KEY_CTRL_C) || key.includes(KEY_CTRL_D) || key.includes(0x71 /* q */) || key.includes(0x51 /* Q */)) finish(EXIT.ok);
    });
  }
  // Runs until finish() exits the process.
  await new Promise<never>(() => {});
}

interface View {
  event(type: string, params: Record<string, unknown>, applied: Applied): void;
  changed(): void;
  flush(): void;
  restore(): void;
  restoreSync(): void;
}

/** The live table: events mark it changed; a timer redraws at most every REDRAW_MS. */
function tableView(board: Board): View {
  const region = new LiveRegion(process.stdout);
  let dirty = true;
  return {
    event: (_type, _params, applied) => {
      if (applied !== 'none') dirty = true;
    },
    changed: () => {
      dirty = true;
    },
    flush: () => {
      if (!dirty) return;
      dirty = false;
      region.draw(board.render(region.width));
    },
    restore: () => region.restore(),
    restoreSync: () => {
      if (region.cursorHidden) writeSync(1, SHOW_CURSOR);
    },
  };
}

/** One JSON object per selected event per line: `{"event": TYPE, ...params}`. */
function jsonView(board: Board, selection: Selection): View {
  const none = () => {};
  return {
    event: (type, params) => {
      if (eventSelected(selection, type, params, board.roles)) process.stdout.write(JSON.stringify({ event: type, ...params }) + '\n');
    },
    changed: none,
    flush: none,
    restore: none,
    restoreSync: none,
  };
}
