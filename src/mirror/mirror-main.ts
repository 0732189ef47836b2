#!/usr/bin/env node
/**
 * A mirror job as its own process, so it runs like every other job: in its own process group with
 * the stage's timeout, recorded in the ledger by `runRecorded`. Argument: the job's MirrorSpec as
 * JSON. Progress lines on stdout; a failure is one line on stderr (the job's reason) and exit 1.
 */
import type { MirrorSpec } from '../core/config-orchestrate.js';
import { errorMessage } from '../core/errors.js';
import { runMirror } from './mirror.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const spec = JSON.parse(process.argv[2] ?? 'null') as MirrorSpec | null;
  if (spec === null || typeof spec.from !== 'string') {
    process.stderr.write('usage: mirror-main.js <mirror spec as JSON>\n');
    return 64;
  }
  try {
    const result = await runMirror(spec, { log: say });
    say(`snapshot ${result.snapshot} complete${result.verified ? ', verified' : ''}`);
    return 0;
  } catch (error) {
    process.stderr.write(`${errorMessage(error).replace(/\s+/g, ' ')}\n`);
    return 1;
  }
}

const code = await main();
process.stdout.write('', () => process.exit(code));
