import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Unix socket paths are limited to about 104 bytes; a deep project dir falls back to a hashed name in the temp dir. */
export function controlSocketPath(stateDir: string): string {
  const preferred = join(stateDir, 'manager.sock');
  if (Buffer.byteLength(preferred) <= 100) return preferred;
  const digest = createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `redundancy-${digest}.sock`);
}
