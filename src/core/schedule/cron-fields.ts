/**
 * Five-field cron expressions with cronie's semantics (src/entry.c): value sets per field plus the
 * "field text starts with '*'" flags that decide the day-of-month / day-of-week rule and DST handling.
 */

export interface CronFields {
  minutes: number[]; // sorted, unique, 0-59
  hours: number[]; // 0-23
  daysOfMonth: number[]; // 1-31
  months: number[]; // 1-12
  daysOfWeek: number[]; // 0-6, 7 mapped to 0 (Sunday)
  /** cronie's rule: the field's text starts with '*' (so '*\/2' counts as unrestricted) */
  domStar: boolean;
  dowStar: boolean;
  /** minute / hour field text starts with '*': a "wildcard" line for cronie's DST handling */
  minuteStar: boolean;
  hourStar: boolean;
}

export type CronSchedule =
  | { kind: 'reboot' }
  | {
      kind: 'cron';
      /** the five fields as text, whitespace-normalised to single spaces (nicknames expanded) */
      expr: string;
      fields: CronFields;
    };

export type CronParse =
  | { ok: true; schedule: CronSchedule }
  | { ok: false; /** 1-based column within the given text */ column: number; expected: string };

interface FieldSpec {
  key: 'minutes' | 'hours' | 'daysOfMonth' | 'months' | 'daysOfWeek';
  noun: string;
  min: number;
  /** highest value accepted in the text; day of week takes 7 for Sunday */
  max: number;
  names?: readonly string[];
}

const fieldSpecs: readonly FieldSpec[] = [
  { key: 'minutes', noun: 'a minute', min: 0, max: 59 },
  { key: 'hours', noun: 'an hour', min: 0, max: 23 },
  { key: 'daysOfMonth', noun: 'a day of month', min: 1, max: 31 },
  { key: 'months', noun: 'a month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { key: 'daysOfWeek', noun: 'a day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

// cronie compares nicknames with strcmp, so they are case-sensitive.
const nicknames: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const nicknameList = '@reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly';

function fieldExpected(spec: FieldSpec): string {
  const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
  return `${spec.noun} ${spec.min}-${spec.max}${names}, "*", a range, a list or a step`;
}

type Failure = { ok: false; column: number; expected: string };
const fail = (column: number, expected: string): Failure => ({ ok: false, column, expected });

export function parseCronExpression(text: string): CronParse {
  const tokens = [...text.matchAll(/\S+/g)].map((m) => ({ text: m[0], column: (m.index ?? 0) + 1 }));
  const first = tokens[0];
  if (first === undefined) return fail(1, 'five cron fields or an @nickname');
  if (first.text.startsWith('@')) {
    if (tokens[1] !== undefined) return fail(tokens[1].column, `nothing after ${first.text}`);
    if (first.text === '@reboot') return { ok: true, schedule: { kind: 'reboot' } };
    const expansion = nicknames[first.text];
    if (expansion === undefined) return fail(first.column, nicknameList);
    const expanded = parseCronExpression(expansion);
    if (!expanded.ok) throw new Error(`nickname ${first.text} expands to a bad expression`);
    return expanded;
  }
  const fields: Partial<CronFields> = {};
  for (const [i, spec] of fieldSpecs.entries()) {
    const token = tokens[i];
    if (token === undefined) return fail(text.trimEnd().length + 1, fieldExpected(spec));
    const values = parseField(token.text, token.column, spec);
    if (!Array.isArray(values)) return values;
    fields[spec.key] = values;
  }
  if (tokens[5] !== undefined) return fail(tokens[5].column, 'the end of the expression after five fields');
  const starts = (i: number): boolean => tokens[i]?.text.startsWith('*') ?? false;
  Object.assign(fields, { minuteStar: starts(0), hourStar: starts(1), domStar: starts(2), dowStar: starts(4) });
  const expr = tokens.map((t) => t.text).join(' ');
  return { ok: true, schedule: { kind: 'cron', expr, fields: fields as CronFields } };
}

/** One field: a comma list of `*`, values, ranges, each optionally `/step`. Returns sorted values or a failure. */
function parseField(text: string, column: number, spec: FieldSpec): number[] | Failure {
  const expected = fieldExpected(spec);
  const values = new Set<number>();
  let offset = 0;
  for (const element of text.split(',')) {
    const at = column + offset;
    offset += element.length + 1;
    if (element.includes('~')) return fail(at, `${expected} (random "~" values are not supported: the value cron picked is unknown)`);
    const slash = element.indexOf('/');
    const base = slash < 0 ? element : element.slice(0, slash);
    let low = spec.min;
    let high = spec.max;
    if (base !== '*') {
      const dash = base.indexOf('-');
      const lowText = dash < 0 ? base : base.slice(0, dash);
      const parsedLow = parseValue(lowText, spec);
      if (parsedLow === undefined) return fail(at, expected);
      low = high = parsedLow;
      if (dash >= 0) {
        const parsedHigh = parseValue(base.slice(dash + 1), spec);
        if (parsedHigh === undefined) return fail(at + dash + 1, expected);
        // cronie reads a range ending in 0 as ending in 7, so 'fri-sun' works; only day of week can use it.
        high = parsedHigh === 0 && low > 0 && spec.max === 7 ? 7 : parsedHigh;
        if (low > high) return fail(at, `${spec.noun} range low-high with low <= high`);
      } else if (slash >= 0) {
        // cronie rejects '5/15' (a step needs '*' or a range before it); Vixie and Debian cron agree.
        return fail(at, `${expected} (a step needs "*" or a range before "/": write ${lowText}-${spec.max}${element.slice(slash)})`);
      }
    }
    let step = 1;
    if (slash >= 0) {
      const stepText = element.slice(slash + 1);
      step = /^\d+$/.test(stepText) ? Number(stepText) : 0;
      if (step === 0) return fail(at + slash + 1, 'a step of 1 or more after "/"');
    }
    for (const v of steppedValues(low, high, step, spec)) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function parseValue(text: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    return value >= spec.min && value <= spec.max ? value : undefined;
  }
  const index = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  return index < 0 ? undefined : spec.min + index;
}

/** low..high by step, with day of week's 7 folded onto 0. */
function steppedValues(low: number, high: number, step: number, spec: FieldSpec): number[] {
  const out: number[] = [];
  for (let v = low; v <= high; v += step) out.push(spec.max === 7 && v === 7 ? 0 : v);
  return out;
}

/**
 * Five-field text for `fields`. A field's text starts with '*' exactly when its star flag says so
 * (month has none), so parsing the result gives the same fields, flags included: the flags change
 * the day rule and cronie's DST handling. Full sets without the flag come out as `min-max`.
 */
export function formatCronFields(fields: CronFields): string {
  const star: Record<FieldSpec['key'], boolean | undefined> = {
    minutes: fields.minuteStar,
    hours: fields.hourStar,
    daysOfMonth: fields.domStar,
    months: undefined,
    daysOfWeek: fields.dowStar,
  };
  return fieldSpecs.map((spec) => formatField(fields[spec.key], spec, star[spec.key])).join(' ');
}

function formatField(values: readonly number[], spec: FieldSpec, star: boolean | undefined): string {
  const set = [...new Set(values)].sort((a, b) => a - b);
  const top = spec.max === 7 ? 6 : spec.max;
  if (star !== false) {
    // '*' then the smallest step whose '*/n' set lies inside ours; the rest is listed after it.
    for (let n = 1; n <= spec.max - spec.min + 1; n++) {
      const stepped = new Set(steppedValues(spec.min, spec.max, n, spec));
      if (![...stepped].every((v) => set.includes(v))) continue;
      const rest = set.filter((v) => !stepped.has(v));
      if (star === undefined && (rest.length > 0 || stepped.size < 2)) break;
      return [n === 1 ? '*' : `*/${n}`, ...listParts(rest)].join(',');
    }
  }
  if (set.length === top - spec.min + 1) return `${spec.min}-${top}`;
  return listParts(set).join(',');
}

/** Runs of three or more become `a-b`, anything else is listed. */
function listParts(set: readonly number[]): string[] {
  const parts: string[] = [];
  for (let i = 0; i < set.length; ) {
    let j = i;
    while (j + 1 < set.length && set[j + 1] === (set[j] as number) + 1) j++;
    if (j - i >= 2) parts.push(`${set[i]}-${set[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(set[k]));
    i = j + 1;
  }
  return parts;
}

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]; // February 29 exists in leap years

/**
 * True when no instant can ever match. Days follow cronie: when either day field starts with '*'
 * both must match (AND), otherwise either may (OR), so a day-of-week list rescues '0 0 31 2 1'.
 * A month/day pair that exists falls on every weekday over the years, so only the pairs matter.
 */
export function isUnsatisfiable(fields: CronFields): boolean {
  if (fields.minutes.length === 0 || fields.hours.length === 0 || fields.months.length === 0) return true;
  const dateExists = fields.months.some((m) => fields.daysOfMonth.some((d) => d <= (daysInMonth[m - 1] ?? 0)));
  const weekdayExists = fields.daysOfWeek.length > 0;
  if (fields.domStar || fields.dowStar) return !(dateExists && weekdayExists);
  return !(dateExists || weekdayExists);
}
