import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';

/** Network namespaces on one bridge, standing for machines on one network; `cut` unplugs one. */
export interface NetLab {
  namespaces: string[];
  address(i: number): string;
  cut(i: number): Promise<void>;
  heal(i: number): Promise<void>;
  /** Asks 127.0.0.1:port inside namespace i every `everyMs`; `answering()` is its latest look. */
  poll(i: number, port: number, everyMs: number): { answering(): boolean; stop(): void };
  close(): Promise<void>;
}

const ip = (...args: string[]) => execa('ip', args, { stdin: 'ignore' });

/** A lab of `count` namespaces, or the reason there is none here (not root, no `ip netns`). */
export async function netLab(count: number): Promise<NetLab | string> {
  const tag = `${process.pid % 100_000}`;
  const bridge = `rdb${tag}`;
  const subnet = `10.${200 + Number(process.env.TEST_PORT_SLOT ?? 0)}.${process.pid % 250}`;
  const namespaces = Array.from({ length: count }, (_, i) => `rdns${tag}${i}`);
  const outer = (i: number) => `rdv${tag}${i}`;
  const inner = (i: number) => `rdp${tag}${i}`;
  const pollers = new Set<ChildProcess>();
  const close = async () => {
    for (const p of pollers) p.kill('SIGKILL');
    for (const ns of namespaces) await ip('netns', 'del', ns).catch(() => undefined);
    for (let i = 0; i < count; i++) await ip('link', 'del', outer(i)).catch(() => undefined);
    await ip('link', 'del', bridge).catch(() => undefined);
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${subnet}.254/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (let i = 0; i < count; i++) {
      const ns = namespaces[i]!;
      await ip('netns', 'add', ns);
      await ip('link', 'add', outer(i), 'type', 'veth', 'peer', 'name', inner(i));
      await ip('link', 'set', inner(i), 'netns', ns);
      await ip('link', 'set', outer(i), 'master', bridge);
      await ip('link', 'set', outer(i), 'up');
      await ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${subnet}.${i + 1}/24`, 'dev', inner(i));
      await ip('netns', 'exec', ns, 'ip', 'link', 'set', inner(i), 'up');
      await ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    await close();
    return `network namespaces not available here (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  return {
    namespaces,
    address: (i) => `${subnet}.${i + 1}`,
    cut: async (i) => void (await ip('link', 'set', outer(i), 'down')),
    heal: async (i) => void (await ip('link', 'set', outer(i), 'up')),
    poll(i, port, everyMs) {
      // Inside the namespace: the app listens on that namespace's loopback, which a partition does not cut.
      const script = `const ask=()=>fetch('http://127.0.0.1:${port}/',{signal:AbortSignal.timeout(150)}).then(()=>1,()=>0).then((ok)=>{process.stdout.write(ok+'\\n');setTimeout(ask,${everyMs})});ask();`;
      const child = spawn('ip', ['netns', 'exec', namespaces[i]!, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
      pollers.add(child);
      let last = false;
      let at = 0;
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = chunk.trim().split('\n');
        last = lines.at(-1) === '1';
        at = Date.now();
      });
      return {
        // A poller that stopped saying anything is taken as answering: a blind spot must not pass for zero split brain.
        answering: () => last || Date.now() - at > 500,
        stop: () => child.kill('SIGKILL'),
      };
    },
    close,
  };
}
