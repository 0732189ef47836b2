import { rename, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { round } from './stats.js';

export function machine() {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model?.trim() ?? 'unknown',
    memGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${process.platform} ${release()}`,
    loadAvg1m: round(loadavg()[0], 2),
  };
}

/** A goal, checked: { text, pass } (pass null when the figure has no goal or is missing). */
export function checkGoal(def, figures) {
  const value = figures[def.key];
  const goal = def.goal;
  if (goal === undefined) {
    const base = def.baseline === undefined ? undefined : figures[def.baseline];
    return { text: Number.isFinite(value) && Number.isFinite(base) ? `${fmt(value / base, 2)}x` : '', pass: null };
  }
  if (!Number.isFinite(value)) return { text: 'not measured', pass: false };
  if (goal.ratioTo !== undefined) {
    const base = figures[goal.ratioTo];
    const ratio = value / base;
    return { text: `${fmt(ratio, 2)}x (goal ≤ ${goal.max}x)`, pass: ratio <= goal.max, ratio: round(ratio, 3) };
  }
  if (goal.overBy !== undefined) {
    const over = value - figures[goal.overBy];
    return { text: `+${fmt(over, 1)} ${def.unit} (goal ≤ +${goal.max})`, pass: over <= goal.max, over: round(over, 2) };
  }
  return { text: `goal < ${goal.max}`, pass: value < goal.max };
}

export function goalText(def) {
  const g = def.goal;
  if (g.ratioTo !== undefined) return `at most ${g.max}x ${g.ratioTo}`;
  if (g.overBy !== undefined) return `at most ${g.max} ${def.unit} above ${g.overBy}`;
  return `under ${g.max} ${def.unit}`;
}

/** Markdown table: figure, value, baseline, ratio / goal, pass/fail. */
export function table(defs, figures) {
  const rows = [['figure', 'value', 'baseline', 'ratio / goal', 'result']];
  for (const def of defs) {
    const value = figures[def.key];
    const base = def.baseline === undefined ? '' : `${def.baseline} ${fmt(figures[def.baseline], 1)}`;
    const { text, pass } = checkGoal(def, figures);
    rows.push([def.key, Number.isFinite(value) ? `${fmt(value, value < 10 ? 2 : 1)} ${def.unit}` : 'n/a', base, text, pass === null ? '' : pass ? 'pass' : 'FAIL']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function fmt(x, digits) {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** Writes JSON atomically: a temp file beside it, then rename. */
export async function writeJsonAtomic(file, value) {
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, file);
}
