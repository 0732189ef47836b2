import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planWorkflowTwin, type WorkflowTwin } from './twin-workflow.js';
import { parseWorkflow, type WorkflowInfo } from './workflow-file.js';

const dir = new URL('../../../test/fixtures/workflows/', import.meta.url);
const DAY = 86_400_000;

function load(text: string, file: string): { wf: WorkflowInfo; doc: unknown } {
  const parsed = parseWorkflow(text, file);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { wf: parsed.workflow, doc: parsed.doc };
}
function twinOf(text: string, file = '.github/workflows/w.yml', throttleMs = DAY): Extract<WorkflowTwin, { ok: true }> {
  const { wf, doc } = load(text, file);
  const twin = planWorkflowTwin(wf, doc, { throttleMs });
  if (!twin.ok) throw new Error(twin.reason);
  return twin;
}
const fixture = (name: string, throttleMs = DAY) => twinOf(readFileSync(new URL(name, dir), 'utf8'), `.github/workflows/${name}`, throttleMs);
type Job = { if?: string; concurrency?: unknown; steps?: Array<Record<string, unknown>> };
const jobsOf = (text: string): Record<string, Job> => (parse(text, { version: '1.2' }) as { jobs: Record<string, Job> }).jobs;
const gate = (v: string): string => `vars.${v} == 'twin' || github.event_name == 'workflow_dispatch'`;

describe('planWorkflowTwin: the nightly-sync recipe', () => {
  const twin = fixture('nightly-sync.yml');
  const reread = load(twin.text, `.github/workflows/${twin.fileName}`);
  const out = parse(twin.text, { version: '1.2' });

  it('names the file, the variable and the schedule', () => {
    expect(twin).toMatchObject({ fileName: 'nightly-sync-backup.yml', variable: 'REDUNDANCY_ACTIVE_NIGHTLY_SYNC' });
    expect(twin.schedule).toHaveLength(2);
    expect(twin.schedule[0]).toMatch(/^(15|45) 0 \* \* \*$/);
    expect(twin.schedule[1]).toBe('30 5 * * 1,3');
  });
  it('is a marked twin with its own name, only schedule and workflow_dispatch, and the same inputs', () => {
    const primary = load(readFileSync(new URL('nightly-sync.yml', dir), 'utf8'), 'nightly-sync.yml').wf;
    expect(reread.wf).toMatchObject({ isTwin: true, supervised: false, name: 'Nightly sync (backup)', triggers: ['schedule', 'workflow_dispatch'], problems: [] });
    expect(reread.wf.schedules.map((s) => s.cron)).toEqual(twin.schedule);
    expect(reread.wf.dispatchInputs).toEqual(primary.dispatchInputs);
  });
  it('has its own concurrency group, never cancelling in progress', () => {
    expect(out.concurrency).toEqual({ group: 'redundancy-backup-nightly-sync', 'cancel-in-progress': false });
    expect(twin.notes).toContain("the primary's concurrency is replaced by the twin's own group 'redundancy-backup-nightly-sync'");
  });
  it('gates every job, keeping always()', () => {
    const jobs = jobsOf(twin.text);
    expect(jobs.sync!.if).toBe(`\${{ ${gate(twin.variable)} }}`);
    expect(jobs.notify!.if).toBe(`\${{ (${gate(twin.variable)}) && (always()) }}`);
  });
  it('rewrites comparisons with the primary cron in step conditions, bare or wrapped', () => {
    const steps = jobsOf(twin.text).sync!.steps!;
    expect(steps[1]!.if).toBe("github.event.schedule == '30 5 * * 1,3'");
    expect(steps[2]!.if).toBe("${{ github.event.schedule != '30 5 * * 1,3' }}");
    expect(twin.notes).toContain("job sync: 2 comparison(s) with a primary cron now name the twin's cron");
  });
  it('keeps the rest as written, comments in jobs included, and copies permissions and env', () => {
    expect(out.permissions).toEqual({ contents: 'read' });
    expect(out.env).toEqual({ SYNC_REGION: 'eu-west-1' });
    expect(twin.text).toContain('# the full sync runs only on its own cron');
    expect(twin.notes.some((n) => n.startsWith('comments outside the copied jobs'))).toBe(true);
    expect(twin.notes).toContain('triggers not copied: push');
  });
  it('matches the committed twin fixture and leaves the primary document untouched', () => {
    expect(twin.text).toBe(readFileSync(new URL('nightly-sync-backup.yml', dir), 'utf8'));
    const { wf, doc } = load(readFileSync(new URL('nightly-sync.yml', dir), 'utf8'), 'nightly-sync.yml');
    const before = String(doc);
    planWorkflowTwin(wf, doc, { throttleMs: DAY });
    expect(String(doc)).toBe(before);
  });
});

describe('planWorkflowTwin: job conditions', () => {
  it('wraps each form of if: in the gate', () => {
    const twin = fixture('job-if-forms.yml');
    const g = gate(twin.variable);
    const ifs = Object.fromEntries(Object.entries(jobsOf(twin.text)).map(([id, job]) => [id, job.if]));
    expect(ifs).toEqual({
      plain: `\${{ ${g} }}`,
      bare: `\${{ (${g}) && (github.repository_owner == 'acme') }}`,
      wrapped: `\${{ (${g}) && (github.ref == 'refs/heads/main') }}`,
      negated: `\${{ (${g}) && (!cancelled()) }}`,
      'on-failure': `\${{ (${g}) && (failure()) }}`,
      disabled: `\${{ (${g}) && (false) }}`,
      folded: `\${{ (${g}) && (github.event_name == 'schedule' || github.event_name == 'push') }}`,
      braces: `(${g}) && (!contains(github.event.head_commit.message, '}}'))`,
    });
    expect(twin.notes).toContain("job folded: a condition compares github.event_name with 'push', which a twin run never is");
  });
  it('keeps only the gate for an if: that mixes ${{ }} with text, and says why', () => {
    const twin = twinOf("on: workflow_dispatch\njobs:\n  a:\n    if: ${{ false }} && true\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n");
    expect(jobsOf(twin.text).a!.if).toBe(`\${{ ${gate(twin.variable)} }}`);
    expect(twin.warnings).toEqual([expect.stringContaining('job a: if: mixes ${{ }} with other text')]);
  });
});

describe('planWorkflowTwin: conditions that could slip out of the gate', () => {
  const job = (cond: string): string => `on: workflow_dispatch\njobs:\n  a:\n    if: ${cond}\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n`;
  it("goes without ${{ }} when the job's condition holds '}}', so the template cannot end early", () => {
    const twin = twinOf(job(`"contains(github.ref, '}}')"`));
    expect(jobsOf(twin.text).a!.if).toBe(`(${gate(twin.variable)}) && (contains(github.ref, '}}'))`);
  });
  it('keeps only the gate for unbalanced parentheses', () => {
    const twin = twinOf(job("\"false) || (true\""));
    expect(jobsOf(twin.text).a!.if).toBe(`\${{ ${gate(twin.variable)} }}`);
    expect(twin.warnings).toEqual(['job a: if: is not a well-formed expression; the twin keeps only the gate']);
  });
});

describe('planWorkflowTwin: concurrency', () => {
  it('never shares a hard-coded group with the primary, case-insensitively', () => {
    const twin = fixture('concurrency-static.yml');
    const out = parse(twin.text) as { concurrency: { group: string }; jobs: Record<string, Job> };
    const primaryGroups = ['docs', 'deploy-production', 'search-index-${{ github.ref }}'];
    const twinGroups = [out.concurrency.group, (out.jobs.publish!.concurrency as { group: string }).group, out.jobs.index!.concurrency as string];
    for (const g of twinGroups) expect(primaryGroups).not.toContain(g.toLowerCase());
    expect(twinGroups).toEqual([
      'redundancy-backup-concurrency-static',
      'redundancy-backup-concurrency-static-Deploy-Production',
      'redundancy-backup-concurrency-static-search-index-${{ github.ref }}',
    ]);
  });
  it('moves its own group aside if the primary happens to use it', () => {
    const twin = twinOf('on: workflow_dispatch\nconcurrency: Redundancy-Backup-W\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n');
    expect((parse(twin.text) as { concurrency: { group: string } }).concurrency.group).toBe('redundancy-backup-w-twin');
  });
});

describe('planWorkflowTwin: what cannot be twinned', () => {
  const refuse = (name: string): string => {
    const { wf, doc } = load(readFileSync(new URL(name, dir), 'utf8'), name);
    const twin = planWorkflowTwin(wf, doc, { throttleMs: DAY });
    return twin.ok ? 'ok' : twin.reason;
  };
  it('workflow_call only with a required input without default', () => {
    expect(refuse('call-only.yml')).toBe('only workflow_call with required inputs without defaults (environment): a scheduled twin cannot supply them');
  });
  it('neither schedule nor dispatch, and a twin itself', () => {
    expect(refuse('on-block-list.yml')).toBe('no schedule and no workflow_dispatch (triggers: pull_request, push): nothing for a twin to run on');
    expect(refuse('nightly-sync-backup.yml')).toBe('a twin generated by redundancy: it has no twin of its own');
  });
});

describe('planWorkflowTwin: inputs, zones and warnings', () => {
  it('offers workflow_call inputs to workflow_dispatch as optional', () => {
    const twin = fixture('call-scheduled.yml');
    const inputs = (parse(twin.text) as { on: { workflow_dispatch: { inputs: Record<string, unknown> } } }).on.workflow_dispatch.inputs;
    expect(inputs).toEqual({
      region: { description: 'workflow_call input of the primary', required: false, type: 'string', default: 'eu' },
      verbose: { description: 'workflow_call input of the primary', required: false, type: 'boolean' },
    });
  });
  it('warns about a required dispatch input without default: a failover dispatch sends none', () => {
    const twin = twinOf('on:\n  workflow_dispatch:\n    inputs:\n      who:\n        required: true\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo a\n');
    expect(twin.warnings).toEqual(['workflow_dispatch input who is required without a default: a failover dispatch must pass it']);
  });
  it('keeps a timezone the cron depends on and rewrites a comparison with a zone-free cron', () => {
    const twin = fixture('timezone.yml');
    const out = parse(twin.text) as { on: { schedule: unknown[] }; jobs: Record<string, Job> };
    expect(out.on.schedule).toEqual([{ cron: '30 5 * * 1-5', timezone: 'America/New_York' }, { cron: twin.schedule[1] }]);
    expect(out.jobs.report!.steps![1]!.if).toBe(`github.event.schedule == '${twin.schedule[1]}'`);
  });
  it('warns about run: steps that paste untrusted text, not about env: indirection or number inputs', () => {
    const twin = fixture('injection.yml');
    expect(twin.warnings).toEqual([
      expect.stringMatching(/^job triage, step "Title": run: pastes \$\{\{ github\.event\.issue\.title \}\}/),
      expect.stringMatching(/^job triage, step "Branch": run: pastes \$\{\{ github\.head_ref \}\}, \$\{\{ github\.event\.pull_request\.body \}\}/),
      expect.stringMatching(/^job triage, step "Label": run: pastes \$\{\{ inputs\.label \}\} into/),
    ]);
    expect(twin.notes).toContain('triggers not copied: issues, pull_request_target');
  });
  it('warns when a script names a primary cron it cannot rewrite', () => {
    const text = "on:\n  schedule:\n    - cron: '*/30 * * * *'\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - if: github.event.schedule == '*/30 * * * *'\n        run: echo a\n      - run: '[ \"$S\" = \"*/30 * * * *\" ] && echo b'\n        env:\n          S: ${{ github.event.schedule }}\n";
    const twin = twinOf(text);
    expect(twin.warnings).toEqual([expect.stringContaining("job a, step 2: run: names the primary's cron '*/30 * * * *'")]);
    expect(jobsOf(twin.text).a!.steps![0]!.if).toBe(`github.event.schedule == '${twin.schedule[0]}'`);
  });
  it('expands aliases, whose anchors may sit in parts the twin drops', () => {
    const twin = fixture('anchors.yml');
    expect(twin.text).not.toMatch(/[&*]steps/);
    expect(jobsOf(twin.text).second!.steps).toEqual(jobsOf(twin.text).first!.steps);
    expect(twin.notes).toContain('YAML anchors and aliases are expanded in the twin, and its comments are lost');
  });
});

describe('planWorkflowTwin: emitted YAML', () => {
  it('quotes names, crons and values that YAML would misread, and reads back the same', () => {
    const name = `Deploy: "prod" #1 's ${'${{ github.actor }}'}`;
    const text = `name: ${JSON.stringify(name)}\non:\n  schedule:\n    - cron: '*/5 * * * *'\n  workflow_dispatch:\njobs:\n  'odd job: #1':\n    if: "contains(github.ref, ': #')"\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n`;
    const twin = twinOf(text);
    const reread = load(twin.text, 'w-backup.yml').wf;
    expect(reread).toMatchObject({ name: `${name} (backup)`, problems: [], isTwin: true });
    expect(twin.text).toMatch(/- cron: '\d+ 0 \* \* \*'/);
    expect(jobsOf(twin.text)['odd job: #1']!.if).toBe(`\${{ (${gate(twin.variable)}) && (contains(github.ref, ': #')) }}`);
  });
  it('takes the plain object a YAML 1.1 parser gives, key true and all', () => {
    const { wf } = load(readFileSync(new URL('yaml11-true-key.yml', dir), 'utf8'), 'yaml11-true-key.yml');
    const object = { name: 'Backup', true: { schedule: [{ cron: '0,20,40 2 * * *' }], workflow_dispatch: null }, jobs: { backup: { 'runs-on': 'ubuntu-latest', steps: [{ run: './backup.sh' }] } } };
    const twin = planWorkflowTwin(wf, object, { throttleMs: DAY });
    expect(twin).toMatchObject({ ok: true, schedule: [expect.stringMatching(/^(20|40) 2 \* \* \*$/)] });
  });
  it('is the same text for the same input', () => {
    expect(fixture('reusable-caller.yml').text).toBe(fixture('reusable-caller.yml').text);
    expect(fixture('reusable-caller.yml').notes).toContain("job deploy calls a reusable workflow: it runs with the twin's event (schedule or workflow_dispatch)");
  });
});
