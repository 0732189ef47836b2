import type { SecretRef } from './config-types.js';
import { RedundancyError } from './errors.js';

/**
 * A secret's value, read where it is used. A reference written in the config to an unset variable
 * is a configuration error; the default reference unset means "not configured".
 */
export function resolveSecret(ref: SecretRef, path: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[ref.env];
  if (value !== undefined && value !== '') return value;
  if (ref.given) throw new RedundancyError('CONFIG_INVALID', `${path}: env:${ref.env} is not set in the environment`);
  return undefined;
}
