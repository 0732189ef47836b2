import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWorkflow, twinMarker, variableName, type WorkflowInfo } from './workflow-file.js';

const dir = new URL('../../../test/fixtures/workflows/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

function info(text: string, file = '.github/workflows/w.yml'): WorkflowInfo {
  const parsed = parseWorkflow(text, file);
  if (!parsed.ok) throw new Error(`${parsed.error.line}:${parsed.error.column} ${parsed.error.message}`);
  return parsed.workflow;
}
const load = (name: string): WorkflowInfo => info(fixture(name), `.github/workflows/${name}`);
const jobs = 'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n';

describe('variableName', () => {
  it('upper-cases the stem and replaces every character outside A-Z0-9 with _', () => {
    expect(variableName('nightly-sync.yml')).toBe('REDUNDANCY_ACTIVE_NIGHTLY_SYNC');
    expect(variableName('.github/workflows/Deploy.Prod v2.yaml')).toBe('REDUNDANCY_ACTIVE_DEPLOY_PROD_V2');
    expect(variableName('ci.YML')).toBe('REDUNDANCY_ACTIVE_CI');
    expect(variableName('été-${{x}}.yml')).toMatch(/^REDUNDANCY_ACTIVE_[A-Z0-9_]+$/);
  });
});

describe('parseWorkflow: every form of on:', () => {
  it('a string', () => {
    expect(load('on-string.yml')).toMatchObject({ name: 'Manual release', stem: 'on-string', line: 2, triggers: ['workflow_dispatch'], schedules: [], dispatchInputs: {}, supervised: true, isTwin: false, problems: [] });
  });
  it('a flow list and a block list', () => {
    expect(load('on-flow-list.yml')).toMatchObject({ triggers: ['push', 'workflow_dispatch'], dispatchInputs: {}, supervised: true });
    const ci = load('on-block-list.yml');
    expect(ci).toMatchObject({ triggers: ['pull_request', 'push'], supervised: false, whyNot: 'no schedule and no workflow_dispatch (triggers: pull_request, push)' });
    expect(ci).not.toHaveProperty('dispatchInputs');
  });
  it('a map with per-event configuration, several crons and dispatch inputs of every type', () => {
    const wf = load('nightly-sync.yml');
    expect(wf).toMatchObject({ file: '.github/workflows/nightly-sync.yml', fileName: 'nightly-sync.yml', line: 4, triggers: ['push', 'schedule', 'workflow_dispatch'], supervised: true });
    expect(wf.schedules).toEqual([{ cron: '*/15 * * * *', line: 6 }, { cron: '30 5,17 * * 1,3', line: 7 }]);
    expect(Object.fromEntries(Object.entries(wf.dispatchInputs ?? {}).map(([id, spec]) => [id, (spec as { type: string }).type]))).toEqual({
      'dry-run': 'boolean', mode: 'choice', batch: 'number', target: 'environment', note: 'string',
    });
    expect(wf.dispatchInputs?.mode).toMatchObject({ options: ['delta', 'full'], default: 'delta' });
  });
  it('a flow map, and workflow_dispatch written as null, {} or bare', () => {
    expect(load('on-flow-map.yml')).toMatchObject({ triggers: ['schedule', 'workflow_dispatch'], schedules: [{ cron: '0 * * * *', line: 2 }], dispatchInputs: {} });
    expect(load('dispatch-null.yml').dispatchInputs).toEqual({});
    expect(info(`on:\n  workflow_dispatch: {}\n${jobs}`).dispatchInputs).toEqual({});
    expect(info(`on:\n  workflow_dispatch:\n    inputs: {}\n${jobs}`).dispatchInputs).toEqual({});
  });
  it('workflow_call inputs, with or without defaults; call only is not supervised', () => {
    const wf = load('call-only.yml');
    expect(wf.callInputs).toEqual({ environment: { required: true, type: 'string' }, 'dry-run': { default: false, type: 'boolean' } });
    expect(wf).toMatchObject({ supervised: false, whyNot: 'no schedule and no workflow_dispatch (triggers: workflow_call)' });
    expect(load('call-scheduled.yml')).toMatchObject({ supervised: true, triggers: ['schedule', 'workflow_call'] });
  });
  it('a key `true`, as a YAML 1.1 tool writes `on`, is read as on and said to be odd', () => {
    const wf = load('yaml11-true-key.yml');
    expect(wf).toMatchObject({ line: 3, triggers: ['schedule', 'workflow_dispatch'], schedules: [{ cron: '0,20,40 2 * * *', line: 5 }], supervised: true });
    expect(wf.problems).toEqual([{ line: 3, column: 1, message: expect.stringContaining('key `true` read as `on`') }]);
  });
  it('YAML 1.2: on, yes and no stay strings', () => {
    expect(info(`on: [push, yes]\n${jobs}`).triggers).toEqual(['push', 'yes']);
  });
  it('a workflow without on: or with an empty one runs on nothing', () => {
    expect(info(`name: x\n${jobs}`)).toMatchObject({ line: 1, triggers: [], supervised: false, whyNot: 'no schedule and no workflow_dispatch (no triggers)', problems: [{ message: expect.stringContaining('no on: key') }] });
    expect(info(`on:\n${jobs}`).problems).toEqual([{ line: 1, column: 4, message: 'on: is empty' }]);
    expect(info('on: [push, {a: 1}]\n').problems.map((p) => p.message)).toEqual(['no jobs: map', 'an event name must be a string']);
  });
});

describe('parseWorkflow: schedules', () => {
  it('keeps each entry as written with its line and timezone', () => {
    expect(load('timezone.yml').schedules).toEqual([
      { cron: '30 5 * * 1-5', timezone: 'America/New_York', line: 5 },
      { cron: '*/10 * * * *', timezone: 'Europe/Berlin', line: 7 },
    ]);
  });
  it('reports crons GitHub rejects or runs differently, at their line and column, and keeps every entry', () => {
    const wf = load('bad-crons.yml');
    expect(wf.schedules.map((s) => s.cron)).toEqual(['@daily', '0 4 * * * 2026', '*/1 * * * *', '0 4 * * 7', '61 4 * * *', '0 0 31 2 *']);
    expect(wf.problems.map((p) => [p.line, p.column])).toEqual([[4, 14], [5, 24], [6, 14], [7, 14], [8, 14], [9, 14]]);
    expect(wf.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('nicknames such as @daily'),
      expect.stringContaining('five fields'),
      expect.stringContaining('at most once every 5 minutes'),
      expect.stringContaining('day of week 7'),
      expect.stringContaining('a minute 0-59'),
      expect.stringContaining('never fires'),
    ]);
    expect(wf.supervised).toBe(true);
  });
  it('reports entries without a string cron, a schedule that is not a list, and unknown time zones', () => {
    const wf = info(`on:\n  schedule:\n    - cron: 5\n    - timezone: UTC\n    - cron: '0 4 * * *'\n      timezone: Mars/Olympus\n${jobs}`);
    expect(wf.schedules).toEqual([{ cron: '0 4 * * *', timezone: 'Mars/Olympus', line: 5 }]);
    expect(wf.problems.map((p) => [p.line, p.message.slice(0, 20)])).toEqual([[3, 'a schedule entry nee'], [4, 'a schedule entry nee'], [6, 'timezone: expected a']]);
    expect(info(`on: schedule\n${jobs}`).problems).toEqual([{ line: 1, column: 5, message: expect.stringContaining('schedule needs a list') }]);
  });
  it('points into a double-quoted cron at the offending field', () => {
    expect(info(`on:\n  schedule:\n    - cron: "0 25 * * *"\n${jobs}`).problems[0]).toMatchObject({ line: 3, column: 16 });
  });
});

describe('parseWorkflow: files that are not units', () => {
  it('broken YAML is an error with a 1-based line and column', () => {
    const parsed = parseWorkflow(fixture('broken.yml'), 'broken.yml');
    expect(parsed).toMatchObject({ ok: false, error: { file: 'broken.yml', line: expect.any(Number), column: expect.any(Number), message: expect.any(String) } });
    expect(parseWorkflow('on: [push\njobs: {}\n', 'x.yml')).toMatchObject({ ok: false, error: { line: 2, column: 1 } });
    expect(parseWorkflow('a: 1\na: 2\n', 'x.yml')).toMatchObject({ ok: false, error: { line: 2, column: 1, message: expect.stringContaining('unique') } });
  });
  it('a document that is not a map is an error', () => {
    expect(parseWorkflow('', 'x.yml')).toMatchObject({ ok: false, error: { line: 1, column: 1, message: expect.stringContaining('not a workflow') } });
    expect(parseWorkflow('\n- push\n', 'x.yml')).toMatchObject({ ok: false, error: { line: 2, column: 1 } });
  });
  it('a generated twin, marked in its leading comments, is not a unit', () => {
    const wf = load('nightly-sync-backup.yml');
    expect(wf).toMatchObject({ isTwin: true, supervised: false, whyNot: 'a twin generated by redundancy, not a unit', triggers: ['schedule', 'workflow_dispatch'] });
    expect(info(`# hello\n\n${twinMarker}\non: workflow_dispatch\n${jobs}`).isTwin).toBe(true);
    expect(info(`on: workflow_dispatch\n${twinMarker}\n${jobs}`).isTwin).toBe(false);
  });
});
