import { describe, expect, it } from 'vitest';
import type { MirrorSpec } from '../core/config-orchestrate.js';
import { copyArgs, shellQuote, verifyArgs } from './rsync-args.js';

const local: MirrorSpec = { from: '/srv/data/', to: { kind: 'local', path: '/mnt/mirror' }, keep: 7, verify: true, exclude: ['*.tmp'] };
const remote: MirrorSpec = { ...local, to: { kind: 'ssh', host: 'backup@nas', path: 'mirrors/data' }, ssh: { port: 2222, identity: '/home/me/.ssh/id key' }, bwlimitKiB: 512 };

describe('rsync arguments', () => {
  it('copy the contents into the partial directory, linking unchanged files to the previous snapshot', () => {
    expect(copyArgs(local, '.incomplete-20260101T000000Z', '20251231T000000Z')).toEqual([
      '-aH', '--delete', '--exclude=*.tmp', '--link-dest=../20251231T000000Z', '/srv/data/', '/mnt/mirror/.incomplete-20260101T000000Z/',
    ]);
    expect(copyArgs(local, 'x', undefined)).not.toContainEqual(expect.stringMatching(/^--link-dest/));
  });

  it('reach a host:path through ssh in batch mode with its port and key', () => {
    const args = copyArgs(remote, 'x', undefined);
    expect(args).toContain("ssh -o BatchMode=yes -o ConnectTimeout=10 -p 2222 -i '/home/me/.ssh/id key' -o IdentitiesOnly=yes");
    expect(args).toContain('--bwlimit=512');
    expect(args.at(-1)).toBe('backup@nas:mirrors/data/x/');
  });

  it('verify with checksums, writing nothing and listing every difference', () => {
    expect(verifyArgs(local, 'x')).toEqual(['-aH', '--delete', '--exclude=*.tmp', '--checksum', '--dry-run', '--itemize-changes', '/srv/data/', '/mnt/mirror/x/']);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
