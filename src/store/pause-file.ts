import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { noPauses, type Pause, type Pauses } from '../core/pause.js';
import { writeFileAtomic } from './atomic-file.js';

export function pauseFile(stateDir: string): string {
  return join(stateDir, 'pauses.json');
}

/** The pauses in force; none when the file is missing. A file that does not read is said once and counts as none. */
export async function readPauses(stateDir: string, warn?: (line: string) => void): Promise<Pauses> {
  const file = pauseFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn?.(`${file}: ${errorMessage(error)}; no unit counts as paused`);
    return noPauses;
  }
  try {
    const raw = JSON.parse(text) as { version?: number; all?: unknown; units?: Record<string, unknown> };
    const units = Object.fromEntries(Object.entries(raw.units ?? {}).filter(([, p]) => isPause(p))) as Record<string, Pause>;
    return { ...(isPause(raw.all) && { all: raw.all }), units };
  } catch (error) {
    warn?.(`${file}: ${errorMessage(error)}; no unit counts as paused`);
    return noPauses;
  }
}

export async function writePauses(stateDir: string, pauses: Pauses): Promise<void> {
  await writeFileAtomic(pauseFile(stateDir), `${JSON.stringify({ version: 1, ...pauses }, null, 2)}\n`);
}

function isPause(value: unknown): value is Pause {
  const p = value as Pause | undefined;
  return typeof p === 'object' && p !== null && typeof p.since === 'number' && (p.until === null || typeof p.until === 'number');
}
