/**
 * Finds the line of a key path in TOML text, so validation errors can say "line 12" instead of
 * only "instruments.pm1.params.wavelength_nm". A light line scanner (table headers and key/value
 * rows), not a parser: good enough to point a person at the right line, and cheap.
 */

function splitDotted(key: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of key) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '.') {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  parts.push(cur.trim());
  return parts;
}

interface Row {
  line: number;
  path: string[];
}

function scanRows(text: string): Row[] {
  const rows: Row[] = [];
  let table: string[] = [];
  let inMultiline: string | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (inMultiline) {
      if (line.includes(inMultiline)) inMultiline = null;
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      table = splitDotted(header[1]!);
      rows.push({ line: i + 1, path: table });
      return;
    }
    const kv = /^((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-. \t])+?)\s*=\s*(.*)$/.exec(line);
    if (kv) {
      rows.push({ line: i + 1, path: [...table, ...splitDotted(kv[1]!)] });
      const value = kv[2]!;
      for (const delim of ['"""', "'''"]) {
        const first = value.indexOf(delim);
        if (first >= 0 && value.indexOf(delim, first + 3) < 0) inMultiline = delim;
      }
    }
  });
  return rows;
}

/** The 1-based line of the longest prefix of `path` that appears in the text, or undefined. */
export function locateKeyPath(text: string, path: readonly (string | number)[]): number | undefined {
  const want = path.map(String);
  let best: { line: number; depth: number } | undefined;
  for (const row of scanRows(text)) {
    let depth = 0;
    while (depth < row.path.length && depth < want.length && row.path[depth] === want[depth]) depth++;
    if (depth < row.path.length) continue; // the row is not a prefix of the wanted path
    if (!best || depth > best.depth) best = { line: row.line, depth };
  }
  return best?.line;
}
