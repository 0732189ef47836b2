import { describe, expect, it } from 'vitest';
import { renderSystemdUnit, systemdUnitName, type SystemdUnitInput } from './systemd-unit.js';

const input: SystemdUnitInput = {
  node: '/usr/bin/node',
  cli: '/opt/redundancy/dist/cli/main.js',
  project: '/srv/my-app',
  pm2Home: '/home/ops/.pm2',
  path: '/usr/local/bin:/usr/bin:/bin',
  scope: 'system',
  user: 'ops',
};

/** `key=value` lines of one section, in order. */
function section(text: string, name: string): Array<[string, string]> {
  const lines = text.split('\n');
  const from = lines.indexOf(`[${name}]`);
  expect(from, `[${name}] present`).toBeGreaterThanOrEqual(0);
  const body: Array<[string, string]> = [];
  for (const line of lines.slice(from + 1)) {
    if (line.startsWith('[')) break;
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    body.push([line.slice(0, at), line.slice(at + 1)]);
  }
  return body;
}

describe('renderSystemdUnit', () => {
  it('runs the manager in the foreground for the project, as the user, restarted always after 2 s', () => {
    const service = new Map(section(renderSystemdUnit(input), 'Service'));
    expect(service.get('ExecStart')).toBe('/usr/bin/node /opt/redundancy/dist/cli/main.js --cwd /srv/my-app start --foreground');
    expect(service.get('Restart')).toBe('always');
    expect(service.get('RestartSec')).toBe('2');
    expect(service.get('WorkingDirectory')).toBe('/srv/my-app');
    expect(service.get('User')).toBe('ops');
    expect(section(renderSystemdUnit(input), 'Service').filter(([k]) => k === 'Environment').map(([, v]) => v)).toEqual([
      'PM2_HOME=/home/ops/.pm2',
      'PATH=/usr/local/bin:/usr/bin:/bin',
    ]);
    expect(new Map(section(renderSystemdUnit(input), 'Install')).get('WantedBy')).toBe('multi-user.target');
    expect(new Map(section(renderSystemdUnit(input), 'Unit')).get('StartLimitIntervalSec')).toBe('0');
  });

  it("stops the manager alone: PM2's daemon and its apps stay up when the unit stops (KillMode=process, said why)", () => {
    const text = renderSystemdUnit(input);
    expect(new Map(section(text, 'Service')).get('KillMode')).toBe('process');
    expect(text).toMatch(/# .*not the\n# manager's children/);
  });

  it('a user unit: no User=, wanted by default.target', () => {
    const text = renderSystemdUnit({ ...input, scope: 'user', user: undefined });
    expect(new Map(section(text, 'Service')).has('User')).toBe(false);
    expect(new Map(section(text, 'Install')).get('WantedBy')).toBe('default.target');
    expect(() => renderSystemdUnit({ ...input, user: undefined })).toThrow(/needs the user/);
  });

  it('quotes paths with spaces, escapes % specifiers and $, passes --config', () => {
    const text = renderSystemdUnit({ ...input, project: '/srv/my app%1', pm2Home: '/home/o ps/.pm2', configFile: '/etc/r$x.yaml' });
    const service = new Map(section(text, 'Service'));
    expect(service.get('ExecStart')).toBe('/usr/bin/node /opt/redundancy/dist/cli/main.js --cwd "/srv/my app%%1" --config "/etc/r$$x.yaml" start --foreground');
    expect(service.get('WorkingDirectory')).toBe('/srv/my app%%1');
    expect(section(text, 'Service').find(([k]) => k === 'Environment')?.[1]).toBe('"PM2_HOME=/home/o ps/.pm2"');
    expect(() => renderSystemdUnit({ ...input, project: '/srv/a\nb' })).toThrow(/line break/);
  });
});

describe('systemdUnitName', () => {
  it('the directory name as a slug and a digest of the whole path', () => {
    expect(systemdUnitName('/srv/My App')).toMatch(/^redundancy-my-app-[0-9a-f]{8}\.service$/);
    expect(systemdUnitName('/a/app')).not.toBe(systemdUnitName('/b/app'));
    expect(systemdUnitName('/')).toMatch(/^redundancy-project-[0-9a-f]{8}\.service$/);
  });
});
