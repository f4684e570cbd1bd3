/**
 * Open transactions and a pending confirmed commit survive a restart: one JSON file per
 * transaction under `<state dir>/transactions/`, written atomically (temp file, fsync, rename,
 * directory fsync: the same writer as the config file), removed when the transaction ends.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { atomicWriteFile } from '../../persistence/atomic-write.js';
import type { TxRecord } from './types.js';

const ID = /^[0-9a-f-]{36}$/;

export class TxStore {
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(stateDir, 'transactions');
  }

  loadAll(): TxRecord[] {
    mkdirSync(this.dir, { recursive: true });
    const out: TxRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json') || !ID.test(name.slice(0, -5))) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as TxRecord);
      } catch (err) {
        this.log.warn({ file: name }, `transactions: cannot read ${name} (${(err as Error).message}); ignored`);
      }
    }
    return out;
  }

  async save(record: TxRecord): Promise<void> {
    await atomicWriteFile(join(this.dir, `${record.id}.json`), JSON.stringify(record));
  }

  async remove(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.json`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
