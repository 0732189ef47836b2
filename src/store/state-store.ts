import { utimes } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import { quarantine, readJsonFile, writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';
import type { Logger } from './logger.js';

export const STATE_VERSION = 2;
/**
 * Versions this store still reads. 1: every release before the kinds (PM2 units only); its records
 * are read as they are, and the next save writes version 2. 2: a record may carry its kind's `cursor`.
 */
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

export interface StateStoreOptions<U> {
  /** Path of the state file, normally `<stateDir>/state.json`. */
  file: string;
  /** Returns the unit record if `raw` is a valid one, else undefined (the unit is dropped). */
  validateUnit: (raw: unknown) => U | undefined;
  /** Gets every load warning and failed background rewrite, at warn level. */
  logger?: Logger;
  /** Saved beside the units in every write (multi-host: this host's role and epoch). */
  extra?: () => Record<string, unknown> | undefined;
}

export interface LoadedState<U> {
  units: Record<string, U>;
  /** One line per problem found; empty when the file was fine or missing. */
  warnings: string[];
}

interface QueuedSave {
  text: string;
  done: Promise<void>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The file's units if its envelope is a version-1 state file, else why not. */
function unitsOf(value: unknown): Record<string, unknown> | string {
  if (!isPlainObject(value)) return 'not a JSON object';
  if (!READABLE_VERSIONS.includes(value['version'])) return `version ${JSON.stringify(value['version'])}, expected ${READABLE_VERSIONS.join(' or ')}`;
  const units = value['units'];
  return isPlainObject(units) ? units : '"units" is not an object';
}

/**
 * The versioned state file `{ version: 2, savedAt, units: { <id>: U } }`. The unit record is the
 * caller's type; this store only checks the envelope and asks `validateUnit` about each unit.
 * Saves are serialised: at most one write is running and at most one is queued, and the queued one
 * always carries the newest data, so renames never race and the file ends with the last save.
 */
export class StateStore<U> {
  private readonly file: string;
  private readonly validateUnit: (raw: unknown) => U | undefined;
  private readonly logger: Logger | undefined;
  private inFlight: Promise<void> | undefined;
  private queued: QueuedSave | undefined;

  constructor(opts: StateStoreOptions<U>) {
    this.file = opts.file;
    this.validateUnit = opts.validateUnit;
    this.logger = opts.logger;
    this.extra = opts.extra;
  }

  private readonly extra: (() => Record<string, unknown> | undefined) | undefined;

  /** Reads the state. A missing file is an empty state; an unreadable one is quarantined and reported. */
  async load(now: number): Promise<LoadedState<U>> {
    const read = await readJsonFile(this.file);
    if (read.kind === 'missing') return { units: {}, warnings: [] };
    const rawUnits = read.kind === 'corrupt' ? `invalid JSON: ${read.error}` : unitsOf(read.value);
    if (typeof rawUnits === 'string') {
      const keptAs = await quarantine(this.file, now);
      return this.warned({
        units: {},
        warnings: [`state file ${this.file} was unreadable (${rawUnits}); kept as ${keptAs}; state rebuilt from PM2`],
      });
    }
    const warnings: string[] = [];
    const entries: Array<[string, U]> = [];
    for (const [id, raw] of Object.entries(rawUnits)) {
      const unit = this.validateUnit(raw);
      if (unit === undefined) {
        warnings.push(`state file ${this.file}: unit ${id} was unreadable and dropped; its state is rebuilt from PM2`);
      } else {
        entries.push([id, unit]);
      }
    }
    // fromEntries defines own properties, so an id like `__proto__` cannot touch the prototype.
    return this.warned({ units: Object.fromEntries(entries), warnings });
  }

  /** Writes the state atomically; resolves once a write holding this data (or newer) is durable. */
  save(units: Record<string, U>): Promise<void> {
    return this.enqueue(this.serialise(units));
  }

  /**
   * Writes the state at once, synchronously, for a shutdown path that cannot await. If an async
   * save is still running, its data is older: the sync data is queued again so that it lands last
   * if the process lives on. A rename already executing on libuv's thread pool can still land after
   * the sync one when the process exits at once; await `save()` where the path allows it.
   */
  saveSync(units: Record<string, U>): void {
    const text = this.serialise(units);
    writeFileAtomicSync(this.file, text);
    if (this.inFlight !== undefined || this.queued !== undefined) {
      this.enqueue(text).catch((error: unknown) => {
        this.logger?.warn({ file: this.file, err: error }, `state rewrite after sync save failed: ${errorMessage(error)}`);
      });
    }
  }

  /**
   * Marks the file as kept by a live manager without rewriting it: `redundancy run` trusts the
   * state only while it is fresh. A file not written yet has nothing to mark.
   */
  async touch(): Promise<void> {
    const now = new Date();
    await utimes(this.file, now, now).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.logger?.warn({ file: this.file, err: error.message }, 'state file not touched');
    });
  }

  /** Resolves once no save is running or queued (their failures went to their own callers). */
  async idle(): Promise<void> {
    while (this.inFlight !== undefined || this.queued !== undefined) {
      await (this.queued?.done ?? this.inFlight)?.catch(() => undefined);
    }
  }

  private serialise(units: Record<string, U>): string {
    return `${JSON.stringify({ version: STATE_VERSION, savedAt: new Date().toISOString(), ...this.extra?.(), units })}\n`;
  }

  private enqueue(text: string): Promise<void> {
    if (this.queued !== undefined) {
      // Not started yet: newer data replaces the older, and both callers wait for the one write.
      this.queued.text = text;
      return this.queued.done;
    }
    const running = this.inFlight;
    if (running === undefined) return this.start(text);
    const queued: QueuedSave = { text, done: Promise.resolve() };
    // The running save's own caller gets its failure; the queued write is attempted regardless.
    queued.done = running.then(
      () => this.startQueued(queued),
      () => this.startQueued(queued),
    );
    this.queued = queued;
    return queued.done;
  }

  private startQueued(queued: QueuedSave): Promise<void> {
    this.queued = undefined;
    return this.start(queued.text);
  }

  private start(text: string): Promise<void> {
    const write: Promise<void> = writeFileAtomic(this.file, text).finally(() => {
      if (this.inFlight === write) this.inFlight = undefined;
    });
    this.inFlight = write;
    return write;
  }

  private warned(state: LoadedState<U>): LoadedState<U> {
    for (const warning of state.warnings) this.logger?.warn({ file: this.file }, warning);
    return state;
  }
}
