/**
 * daqctl http-token, daqctl http: the dashboard's address and, when daqd listens off loopback (or
 * require_token is set), the token to give a browser or a script (docs/http.md).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { Failure } from '../exit.js';

interface HttpStatus {
  enabled: boolean;
  url?: string | null;
  tokenRequired?: boolean;
  tokenFile?: string;
}

export function registerHttpCommands(program: Command, ctl: Ctl): void {
  program
    .command('http')
    .description("the dashboard's address (open it in a browser)")
    .action(() =>
      ctl.session(
        async (c) => ((await c.call('daemon.status')) as { http?: HttpStatus }).http ?? { enabled: false },
        (h) => (h.enabled ? `${h.url}${h.tokenRequired ? '\n(a token is required: daqctl http-token)' : ''}` : 'HTTP is off ([application.http] enabled = false)'),
      ),
    );
  program
    .command('http-token')
    .description('print the HTTP token (needed when daqd listens off loopback); --url prints the dashboard address with it')
    .option('--url', 'print the dashboard URL with ?token=')
    .action((o: { url?: boolean }) =>
      ctl.session(
        async (c) => {
          const h = ((await c.call('daemon.status')) as { http?: HttpStatus }).http ?? { enabled: false };
          if (!h.enabled) throw new Failure('HTTP is off ([application.http] enabled = false)');
          if (!h.tokenRequired || !h.tokenFile) throw new Failure(`no token: daqd listens on loopback only (${h.url}), where none is needed; set [application.http] require_token = true to require one`);
          const token = (await readFile(h.tokenFile, 'utf8')).trim();
          return { token, url: `${h.url}?token=${encodeURIComponent(token)}` };
        },
        (r) => (o.url ? r.url : r.token),
      ),
    );
}
