import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_FILE_NAME, createLogger, flushLogger, redactEnv, silentLogger } from './logger.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redundancy-logger-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function loggedLines(logsDir: string): Promise<Array<Record<string, unknown>>> {
  const text = await fs.readFile(path.join(logsDir, LOG_FILE_NAME), 'utf8');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('rotates the log by size, keeping the configured number of old files, losing no line', async () => {
    const logsDir = path.join(dir, 'logs');
    const logger = createLogger({ logsDir, rotate: { maxBytes: 4_000, keep: 2 } });
    for (let i = 0; i < 60; i++) {
      logger.info({ i, padding: 'x'.repeat(100) }, 'line');
      // Rotation follows writes: give the asynchronous writer its turn, as a manager between rounds does.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await flushLogger(logger);
    const names = (await fs.readdir(logsDir)).sort();
    expect(names).toEqual([LOG_FILE_NAME, `${LOG_FILE_NAME}.1`, `${LOG_FILE_NAME}.2`]);
    for (const name of names) expect((await fs.stat(path.join(logsDir, name))).size).toBeLessThan(8_000);
    const current = await loggedLines(logsDir);
    expect(current.at(-1)).toMatchObject({ i: 59 });
  });

  it('writes JSON lines to logs/redundancy.log with secrets redacted', async () => {
    const logsDir = path.join(dir, 'logs');
    const logger = createLogger({ logsDir, level: 'debug' });
    const secrets = {
      token: 'tok-1',
      password: 'pw-1',
      request: { headers: { authorization: 'Bearer tok-2', cookie: 'sid=tok-3' }, apiKey: 'key-1' },
      app: { name: 'api', env: { API_KEY: 'key-2', GITHUB_TOKEN: 'tok-4', db_password: 'pw-2', PORT: '3000' } },
      env: { MY_SECRET: 'sec-1', NODE_ENV: 'production' },
    };
    logger.info(secrets, 'starting');
    logger.child({ unit: 'pm2:api', env: { SESSION_SECRET: 'sec-2', HOME: '/home/app' } }).debug('child');
    await flushLogger(logger);

    const text = await fs.readFile(path.join(logsDir, LOG_FILE_NAME), 'utf8');
    for (const secret of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'pw-1', 'pw-2', 'key-1', 'key-2', 'sec-1', 'sec-2']) {
      expect(text).not.toContain(secret);
    }
    const [first, second] = await loggedLines(logsDir);
    expect(first).toMatchObject({
      msg: 'starting',
      token: '[Redacted]',
      password: '[Redacted]',
      request: { headers: { authorization: '[Redacted]', cookie: '[Redacted]' }, apiKey: '[Redacted]' },
      app: { name: 'api', env: { API_KEY: '[Redacted]', GITHUB_TOKEN: '[Redacted]', db_password: '[Redacted]', PORT: '3000' } },
      env: { MY_SECRET: '[Redacted]', NODE_ENV: 'production' },
    });
    expect(second).toMatchObject({ msg: 'child', unit: 'pm2:api', env: { SESSION_SECRET: '[Redacted]', HOME: '/home/app' } });
    // The caller's object is left alone.
    expect(secrets.app.env.API_KEY).toBe('key-2');
  });

  it('throws IO when the log file cannot be opened', () => {
    const logsDir = path.join(dir, 'logs');
    return fs.writeFile(logsDir, 'a file, not a directory').then(() => {
      expect(() => createLogger({ logsDir })).toThrow(expect.objectContaining({ code: 'IO' }));
    });
  });
});

describe('redactEnv', () => {
  it('censors env maps at any depth and copes with cycles', () => {
    const cyclic: Record<string, unknown> = { env: { STRIPE_KEY: 's', PATH: '/bin' } };
    cyclic['self'] = cyclic;
    const out = redactEnv<unknown>({ list: [{ env: { TOKEN: 't' } }], cyclic }) as {
      list: Array<{ env: Record<string, string> }>;
      cyclic: { env: Record<string, string> };
    };
    expect(out.list[0]!.env).toEqual({ TOKEN: '[Redacted]' });
    expect(out.cyclic.env).toEqual({ STRIPE_KEY: '[Redacted]', PATH: '/bin' });
  });

  it('returns the same object when nothing needs censoring', () => {
    const obj = { env: { PATH: '/bin' }, n: 1 };
    expect(redactEnv(obj)).toBe(obj);
  });
});

describe('silentLogger', () => {
  it('logs nothing', () => {
    const logger = silentLogger();
    expect(logger.level).toBe('silent');
    expect(logger.isLevelEnabled('error')).toBe(false);
  });
});
