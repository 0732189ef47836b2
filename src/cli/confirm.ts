import { createInterface } from 'node:readline';

/** Asks a yes/no question on the terminal; anything but y or yes, Ctrl-C or end of input is no. */
export function confirm(question: string, out: NodeJS.WritableStream): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: out, terminal: true });
    let answered = false;
    const done = (yes: boolean) => {
      if (answered) return;
      answered = true;
      rl.close();
      resolve(yes);
    };
    rl.on('SIGINT', () => {
      out.write('\n');
      done(false);
    });
    rl.on('close', () => done(false));
    rl.question(question, (answer) => done(/^y(es)?$/i.test(answer.trim())));
  });
}
