#!/usr/bin/env node
/**
 * `--verbose`: runs a job's command with each line of its output prefixed by `[stage/job] `. It
 * stays in the job's process group (a timeout or an interrupt stops both) and ends as the command
 * did: the same exit code, or killed by the same signal. Arguments: the prefix, then the command.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const [prefix = '', file = '', ...args] = process.argv.slice(2);
const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'] });
const pipe = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream) => createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${prefix} ${line}\n`));
pipe(child.stdout, process.stdout);
pipe(child.stderr, process.stderr);
child.on('error', (error) => {
  process.stderr.write(`${prefix} could not run ${file}: ${error.message}\n`);
  process.exitCode = 127;
});
child.on('close', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal);
  else process.exitCode = code ?? 1;
});
