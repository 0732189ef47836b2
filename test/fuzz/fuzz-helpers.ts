import fc from 'fast-check';
import { isRedundancyError, type ErrorCode } from '../../src/core/errors.js';

/** Cases per property, scaled by FUZZ_SCALE (e.g. FUZZ_SCALE=10 for a long hunt). */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * Number(process.env.FUZZ_SCALE ?? 1)));
}

/** fast-check settings: FUZZ_SEED replays a run (fast-check prints the seed and path of a failure). */
export function fuzzParams(numRuns: number): fc.Parameters<unknown> {
  // CI replays one fixed sequence (a red build must be reproducible); local runs explore new seeds.
  const fixed = process.env.FUZZ_SEED ?? (process.env.CI ? '20261123' : undefined);
  const seed = fixed === undefined ? undefined : Number(fixed);
  return { numRuns: runs(numRuns), ...(seed === undefined ? {} : { seed }) };
}

/**
 * An error a user may see: a RedundancyError with one of `codes`, on one line, naming `file`,
 * saying nothing like `[object Object]`. Anything else is rethrown with what was wrong.
 */
export function expectClearError(error: unknown, codes: readonly ErrorCode[], file: string): void {
  if (!isRedundancyError(error)) {
    const name = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new Error(`untyped error escaped: ${name}`, { cause: error });
  }
  if (!codes.includes(error.code)) throw new Error(`code ${error.code} not in ${codes.join(', ')}: ${error.message}`);
  const message = error.message;
  if (/[\n\r\u2028\u2029]/.test(message)) throw new Error(`message on several lines: ${JSON.stringify(message)}`);
  if (!message.startsWith(file)) throw new Error(`message does not start with the file ${file}: ${message}`);
  if (message.includes('[object ')) throw new Error(`message shows an object as [object ...]: ${message}`);
  if (message.trim().length <= file.length + 2) throw new Error(`message says nothing: ${message}`);
}

/** Runs `work`; a thrown error must be a clear one (see expectClearError). Returns the result, or undefined on error. */
export function typedOrResult<T>(work: () => T, codes: readonly ErrorCode[], file: string): T | undefined {
  try {
    return work();
  } catch (error) {
    expectClearError(error, codes, file);
    return undefined;
  }
}

export async function typedOrResultAsync<T>(work: () => Promise<T>, codes: readonly ErrorCode[], file: string): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    expectClearError(error, codes, file);
    return undefined;
  }
}

/** Small values of every JSON-ish kind, for leaves that should have been something else. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** Any value at all, exotic ones included (what a JS ecosystem file may export). */
export const anything: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
  key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'apps', 'script', 'name', 'env', 'units', 'policy')),
});

/** `value`, or something else now and then. */
export function mostly<T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ arbitrary: value, weight: 8 }, { arbitrary: junk, weight: 1 });
}

/** A record whose every key is optional, plus a few unknown keys now and then. */
export function looseRecord(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.record(shape, { requiredKeys: [] }),
      fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), junk, { maxKeys: 2 }), { freq: 5 }),
    )
    .map(([known, extra]) => ({ ...extra, ...known }));
}

/** Text edits a hand or a bad merge makes: cut, insert, duplicate a line, stray characters. */
export const textEdits: fc.Arbitrary<Array<{ at: number; cut: number; insert: string }>> = fc.array(
  fc.record({
    at: fc.nat(),
    cut: fc.nat({ max: 12 }),
    insert: fc.oneof(
      fc.constant(''),
      fc.constantFrom(':', '-', '[', ']', '{', '}', '#', '&a', '*a', '!!str', '|', '>', "'", '"', '%', '@', '`', '\t', '\n', '\n  ', ': :', '\\', '\u0000'),
      fc.string({ maxLength: 6 }),
    ),
  }),
  { maxLength: 3 },
);

export function applyEdits(text: string, edits: ReadonlyArray<{ at: number; cut: number; insert: string }>): string {
  let out = text;
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % (out.length + 1);
    out = out.slice(0, at) + edit.insert + out.slice(at + edit.cut);
  }
  return out;
}
