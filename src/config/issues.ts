import { DaqError } from '../errors.js';

/** One problem found in a config: where it is and what was expected. */
export interface ConfigIssue {
  /** Dotted key path, e.g. "instruments.pm1.params.wavelength_nm" ("" for the whole file). */
  path: string;
  line?: number;
  message: string;
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}` : file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A config that failed validation, as an error value: every issue, each with its line. */
export function configInvalid(file: string, issues: ConfigIssue[]): DaqError {
  const head = issues.slice(0, 3).map((i) => formatIssue(file, i)).join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return new DaqError('validation_failed', `${head}${more}`, { details: { file, issues } });
}
