import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { driverReference } from '../../src/drivers/reference.js';

describe('docs/drivers/reference.md', () => {
  it('is generated from the current driver declarations (run `npm run docs:drivers` after changing a driver)', () => {
    expect(readFileSync(new URL('../../docs/drivers/reference.md', import.meta.url), 'utf8')).toBe(driverReference());
  });

  it('documents every driver, each with its parameters and readings', () => {
    const text = driverReference();
    for (const name of ['newport_1830c', 'scpi', 'esp300', 'maitai', 'ell14', 'modbus_rtu']) expect(text).toContain(`## \`${name}\``);
    expect(text).toMatch(/\| `wavelength_nm` \| integer \| nm \| 400 to 1100 \| live \|/);
  });
});
