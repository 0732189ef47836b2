import { describe, expect, it } from 'vitest';
import { globMatches } from './glob.js';

describe('globMatches', () => {
  it('matches unit ids with * and ?', () => {
    expect(globMatches('cron:restic-*', 'cron:restic-home')).toBe(true);
    expect(globMatches('cron:restic-*', 'cron:restic-')).toBe(true);
    expect(globMatches('cron:restic-*', 'script:restic-home')).toBe(false);
    expect(globMatches('cron:db-?', 'cron:db-1')).toBe(true);
    expect(globMatches('cron:db-?', 'cron:db-12')).toBe(false);
  });

  it('lets * cross slashes, for commands with paths', () => {
    expect(globMatches('*restic backup*', '/usr/bin/restic backup /srv --tag nightly')).toBe(true);
    expect(globMatches('sh automation/jobs/*.sh', 'sh automation/jobs/heartbeat.sh')).toBe(true);
  });

  it('takes classes and keeps regex characters literal', () => {
    expect(globMatches('cron:db-[12]', 'cron:db-2')).toBe(true);
    expect(globMatches('cron:db-[!12]', 'cron:db-2')).toBe(false);
    expect(globMatches('cron:a.b+(c)', 'cron:a.b+(c)')).toBe(true);
    expect(globMatches('cron:a.b', 'cron:axb')).toBe(false);
    expect(globMatches('cron:[x', 'cron:[x')).toBe(true);
  });
});
