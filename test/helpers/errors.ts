import { isDaqError, type DaqError } from '../../src/errors.js';

/** Awaits a promise that must fail with a DaqError and returns it (anything else fails the test). */
export async function failure(promise: Promise<unknown>): Promise<DaqError> {
  try {
    await promise;
  } catch (err) {
    if (isDaqError(err)) return err;
    throw err;
  }
  throw new Error('expected a DaqError, but the call succeeded');
}
