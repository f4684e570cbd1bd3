/**
 * Which instruments may share a port, as a pure function so config validation can refuse a whole
 * config (every conflict at once) before anything is opened. PortHub applies the same rules at
 * acquire time.
 */
import type { SerialSettings } from './types.js';
import { describeSerial, sameSerialSettings } from './serial-settings.js';

export interface PortClaim {
  instrumentId: string;
  /** The port spec from the config: "sim", "sim:<bus>", "tcp://host:port", or a device path. */
  port: string;
  serial: SerialSettings;
  multidrop: boolean;
  busAddress?: string;
}

export interface PortConflict {
  port: string;
  instruments: string[];
  reason: 'not_multidrop' | 'same_address' | 'serial_mismatch';
  message: string;
}

/** "sim" is a private simulator per instrument; anything else names a shared resource. */
export function portKey(port: string, instrumentId: string): string {
  return port === 'sim' ? `sim (private to ${instrumentId})` : port;
}

export function checkPortClaims(claims: readonly PortClaim[]): PortConflict[] {
  const byPort = new Map<string, PortClaim[]>();
  for (const claim of claims) {
    const key = portKey(claim.port, claim.instrumentId);
    const group = byPort.get(key) ?? [];
    group.push(claim);
    byPort.set(key, group);
  }
  const conflicts: PortConflict[] = [];
  for (const [port, group] of byPort) {
    if (group.length < 2) continue;
    const ids = group.map((c) => c.instrumentId);
    const loners = group.filter((c) => !c.multidrop);
    if (loners.length > 0) {
      conflicts.push({
        port,
        instruments: ids,
        reason: 'not_multidrop',
        message:
          `port ${port} is claimed by ${list(ids)}; ${list(loners.map((c) => c.instrumentId))} ` +
          `cannot share a port (only multidrop instruments, each at its own bus address, can)`,
      });
      continue;
    }
    const byAddress = new Map<string, string[]>();
    for (const c of group) {
      const address = c.busAddress ?? '(none)';
      byAddress.set(address, [...(byAddress.get(address) ?? []), c.instrumentId]);
    }
    for (const [address, sharing] of byAddress) {
      if (sharing.length < 2) continue;
      conflicts.push({
        port,
        instruments: sharing,
        reason: 'same_address',
        message: `${list(sharing)} both use bus address ${address} on port ${port}; give each its own address`,
      });
    }
    // A TCP bus (a device server's RS-485 line): its serial settings are the server's, not ours.
    if (port.startsWith('tcp://')) continue;
    const first = group[0]!;
    const odd = group.filter((c) => !sameSerialSettings(c.serial, first.serial));
    if (odd.length > 0) {
      const settings = group.map((c) => `${c.instrumentId} ${describeSerial(c.serial)}`).join(', ');
      conflicts.push({
        port,
        instruments: ids,
        reason: 'serial_mismatch',
        message: `instruments on port ${port} must use the same serial settings (${settings})`,
      });
    }
  }
  return conflicts;
}

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
