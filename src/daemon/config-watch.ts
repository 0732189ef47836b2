import { watch, type FSWatcher } from 'chokidar';
import type { CompiledConfig } from '../core/config-types.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../store/logger.js';

/** The files a reload re-reads: the config and the sources it names. */
export function watchedPaths(config: CompiledConfig): string[] {
  const { sources } = config;
  return [
    ...(config.file ? [config.file] : []),
    ...sources.pm2.ecosystem,
    ...sources.cron.files,
    ...sources.cron.cronD,
    ...sources.scripts.dirs,
    sources.github.workflows,
    sources.netlify.toml,
  ];
}

/**
 * `watch: true`: a change to the config or a source reloads, once a burst of writes is over. Editors
 * that save by writing a new file and renaming it over the old one count as one change.
 */
export function watchSources(config: CompiledConfig, onChange: () => void, logger: Logger, debounceMs = 500): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(watchedPaths(config), { ignoreInitial: true, atomic: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 }, depth: 2 });
  watcher.on('all', (event, path) => {
    logger.debug({ event, path }, 'source changed');
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  });
  watcher.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'watching the config and sources failed; `redundancy reload` still works'));
  return {
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
