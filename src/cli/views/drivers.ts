/** `daqctl drivers`, `drivers show NAME`, `ports`: what daqd can drive and where it can plug in. */
import type { DriverDescription, DriverParameter, DriverSummary, PortView } from '../../client/types.js';
import { formatSetting } from '../numbers.js';
import { outputWidth, table } from '../format.js';

function serialText(s: DriverSummary['serial']): string {
  const framing = `${s.dataBits ?? 8}${(s.parity ?? 'none').charAt(0).toUpperCase()}${s.stopBits ?? 1}`;
  const flow = s.flowControl && s.flowControl !== 'none' ? ` ${s.flowControl}` : '';
  return `${s.baudRate ?? '?'} ${framing}${flow}`;
}

export function formatDriverList(drivers: readonly DriverSummary[], width = outputWidth()): string {
  return table(
    ['DRIVER', 'SERIAL', 'BUS', 'DESCRIPTION'],
    drivers.map((d) => [d.name, serialText(d.serial), d.multidrop ? 'shared' : 'own', d.description]),
    width,
  );
}

/** "400..1100", "slow|medium|fast", "≥ 10", or "-". */
function rangeText(p: DriverParameter): string {
  if (p.values?.length) return p.values.map(String).join('|');
  if (p.min !== undefined && p.max !== undefined) return `${formatSetting(p.min)}..${formatSetting(p.max)}`;
  if (p.min !== undefined) return `≥ ${formatSetting(p.min)}`;
  if (p.max !== undefined) return `≤ ${formatSetting(p.max)}`;
  return '-';
}

/** setpoint / action, and when it can be changed (read-only, or only by reconnecting). */
function kindText(p: DriverParameter): string {
  if (p.settable === 'never') return 'read-only';
  return p.settable === 'stopped' ? `${p.kind} (reconnects)` : p.kind;
}

export function formatDriver(d: DriverDescription, width = outputWidth()): string {
  const lines = [`${d.name}: ${d.description}`, `serial:  ${serialText(d.serial)}${d.multidrop ? ' (several instruments may share one bus)' : ''}`];
  if (d.fromConfig) lines.push(`note:    ${d.fromConfig}`);
  lines.push('');
  lines.push(
    d.parameters.length === 0
      ? 'no parameters'
      : table(
          ['PARAMETER', 'KIND', 'TYPE', 'UNIT', 'RANGE', 'READ BACK'],
          d.parameters.map((p) => [p.name, kindText(p), p.type, p.unit ?? '-', rangeText(p), p.readBack ? 'yes' : 'no']),
          width,
        ),
  );
  lines.push('');
  lines.push(d.readings.length === 0 ? 'no readings' : table(['READING', 'TYPE', 'UNIT', 'DESCRIPTION'], d.readings.map((r) => [r.name, r.type, r.unit ?? '-', r.description ?? '']), width));
  return lines.join('\n');
}

/**
 * `daqctl ports`: a table, then the /dev/serial/by-id names in full (cutting them would make them
 * useless: they are what a person copies into `port = "..."`, and they survive re-plugging).
 */
export function formatPorts(ports: readonly PortView[], width = outputWidth()): string {
  if (ports.length === 0) return 'no serial ports found';
  const rows = ports.map((p) => [
    p.path,
    p.vendorId ? `${p.vendorId}:${p.productId ?? '?'}` : '-',
    p.serialNumber ?? '-',
    p.manufacturer ?? p.product ?? p.driver ?? '-',
    p.usedBy.length > 0 ? p.usedBy.join(', ') + (p.exists ? '' : ' (missing)') : '-',
  ]);
  const lines = [table(['PATH', 'VID:PID', 'SERIAL', 'MANUFACTURER', 'USED BY'], rows, width)];
  const named = ports.filter((p) => p.byId);
  if (named.length > 0) {
    lines.push('', 'by-id names (stable across re-plugging; use them as port = "..."):');
    for (const p of named) lines.push(`  ${p.path}  ${p.byId}`);
  }
  return lines.join('\n');
}
