/**
 * Static files: the dashboard (web/) and the few browser modules it imports from node_modules
 * (preact, htm, uplot) through the page's import map, with no build step. Only those directories,
 * only known file types; a path that leaves them is not found.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/services/http and dist/services/http are both three levels down. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIR = join(PACKAGE_ROOT, 'web');

const VENDOR: Record<string, string> = {
  preact: join(PACKAGE_ROOT, 'node_modules', 'preact'),
  htm: join(PACKAGE_ROOT, 'node_modules', 'htm'),
  uplot: join(PACKAGE_ROOT, 'node_modules', 'uplot'),
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

function inside(base: string, rel: string): string | null {
  const full = normalize(join(base, rel));
  return full === base || full.startsWith(base.endsWith(sep) ? base : base + sep) ? full : null;
}

/** Map a URL path to a file, or null (not ours). */
export function resolveStatic(pathname: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (p.includes('\0') || p.split('/').includes('..')) return null;
  if (p === '/' || p === '') return join(WEB_DIR, 'index.html');
  const vendor = /^\/vendor\/([a-z]+)\/(.+)$/.exec(p);
  if (vendor) {
    const base = VENDOR[vendor[1]!];
    return base ? inside(base, vendor[2]!) : null;
  }
  return inside(WEB_DIR, p.slice(1));
}

/** Serve a file; `transform` may rewrite text (the page's token). False when there is no such file. */
export async function serveFile(res: ServerResponse, file: string, head: boolean, transform?: (text: string) => string): Promise<boolean> {
  const type = TYPES[extname(file)];
  if (!type) return false;
  try {
    if (!(await stat(file)).isFile()) return false;
  } catch {
    return false;
  }
  let body: Buffer | string = await readFile(file);
  if (transform && type.startsWith('text/html')) body = transform(body.toString('utf8'));
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(head ? undefined : body);
  return true;
}
