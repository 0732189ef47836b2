import { describe, expect, it } from 'vitest';
import { balanced, comparedEvents, conditionOf, rewriteLiterals, rewriteTemplates, untrustedTemplates } from './workflow-expressions.js';

describe('conditionOf', () => {
  it('reads if: with or without ${{ }}, booleans and nothing', () => {
    expect(conditionOf(undefined)).toEqual({ kind: 'none' });
    expect(conditionOf('  ')).toEqual({ kind: 'none' });
    expect(conditionOf(false)).toEqual({ kind: 'expr', expr: 'false' });
    expect(conditionOf("github.ref == 'x'")).toEqual({ kind: 'expr', expr: "github.ref == 'x'" });
    expect(conditionOf("${{ github.ref == 'x' }}\n")).toEqual({ kind: 'expr', expr: "github.ref == 'x'" });
    expect(conditionOf('${{ a }} && ${{ b }}')).toEqual({ kind: 'mixed', text: '${{ a }} && ${{ b }}' });
    expect(conditionOf({ a: 1 })).toEqual({ kind: 'invalid' });
  });
});

describe('balanced', () => {
  it('counts parentheses outside string literals', () => {
    expect(balanced("contains(x, ')') && (a || b)")).toBe(true);
    expect(balanced('a) || (true')).toBe(false);
    expect(balanced("a == 'unterminated")).toBe(false);
    expect(balanced("x == 'it''s'")).toBe(true);
  });
});

describe('rewriting crons in expressions', () => {
  const map = new Map([['30 5 * * 1,3', '17 5 * * 1']]);
  it('replaces literals equal to a primary cron, whitespace aside, and nothing else', () => {
    expect(rewriteLiterals("github.event.schedule == '30  5 * * 1,3' || x == '30 5'", map)).toBe("github.event.schedule == '17 5 * * 1' || x == '30 5'");
    expect(rewriteTemplates("run ${{ github.event.schedule == '30 5 * * 1,3' }} '30 5 * * 1,3'", map)).toBe("run ${{ github.event.schedule == '17 5 * * 1' }} '30 5 * * 1,3'");
  });
});

describe('untrustedTemplates', () => {
  const strings = (id: string): boolean => id !== 'count';
  it('finds the fields the docs call untrusted, in any notation', () => {
    const script = [
      '${{ github.event.issue.title }}', '${{ github.event.pull_request.head.ref }}', "${{ github.event['comment']['body'] }}",
      '${{ github.event.commits[0].author.email }}', '${{ github.event.commits.*.message }}', '${{ github.head_ref }}',
      '${{ github.event.inputs.who }}', '${{ inputs.label }}',
    ].join(' ');
    expect(untrustedTemplates(script, strings)).toHaveLength(8);
  });
  it('leaves alone ids, numbers, non-string inputs and expressions outside ${{ }}', () => {
    expect(untrustedTemplates('${{ github.run_id }} ${{ github.event.issue.number }} ${{ inputs.count }} $TITLE github.event.issue.title', strings)).toEqual([]);
  });
});

describe('comparedEvents', () => {
  it('lists events compared with github.event_name either way round', () => {
    expect(comparedEvents("github.event_name == 'push' || 'schedule' != github.event_name")).toEqual(['push', 'schedule']);
  });
});
