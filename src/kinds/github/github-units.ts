import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import { resolveSecret } from '../../core/secrets.js';
import type { Logger } from '../../store/logger.js';
import { createGitHubApi, type GitHubApi } from './github-api.js';
import type { GithubUnit } from './github-inventory.js';
import { GithubRuntime, type GithubUnitSpec } from './github-kind.js';
import { planWorkflowTwin, type WorkflowTwin } from './twin-workflow.js';
import { variableName, workflowStem } from './workflow-file.js';

/** The twin workflow of each unit, as `twins` shows and writes it. */
export function planGithubTwins(config: CompiledConfig, units: readonly GithubUnit[]): Array<{ unit: GithubUnit; twin: WorkflowTwin }> {
  return units.map((unit) => ({ unit, twin: planWorkflowTwin(unit.workflow, unit.doc, { throttleMs: config.schedules.throttle.github }) }));
}

/** `owner/name` of the project's `origin` remote on GitHub, when it has one. */
export function originRepo(cwd: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(cwd, '.git', 'config'), 'utf8');
  } catch {
    return undefined;
  }
  const origin = /\[remote "origin"\][^[]*?url\s*=\s*(\S+)/.exec(text)?.[1];
  return origin ? /github\.com[:/]([^/\s]+\/[^/\s]+?)(?:\.git)?\/?$/.exec(origin)?.[1] : undefined;
}

/** The repository's API as the config names it, or why there is none (no token, no repository). */
export function githubApiFor(config: CompiledConfig, logger: Logger): { api: GitHubApi } | { unwatched: string } {
  const source = config.sources.github;
  const token = resolveSecret(source.token, 'sources.github.token');
  const repo = source.repo ?? originRepo(config.cwd);
  if (!token) return { unwatched: 'no token' };
  if (!repo) return { unwatched: 'no repository (sources.github.repo, or an origin remote on GitHub)' };
  return { api: createGitHubApi({ repo, token, baseUrl: source.apiUrl, logger }) };
}

export function githubRuntime(config: CompiledConfig, units: readonly GithubUnit[], deps: { clock: Clock; logger: Logger }): GithubRuntime {
  const source = config.sources.github;
  const access = githubApiFor(config, deps.logger);
  const specs: GithubUnitSpec[] = units.map((unit) => {
    const settings = unitConfig(config, unit.id);
    return {
      unit,
      // Nothing can stop a run already started on GitHub: the twin is gated per job, the primary disabled.
      policy: { ...settings.policy, overlap: settings.overlap },
      twinFile: `${workflowStem(unit.name)}-backup.yml`,
      variable: variableName(unit.name),
    };
  });
  return new GithubRuntime({
    units: specs,
    ...access,
    clock: deps.clock,
    logger: deps.logger,
    pollEveryMs: source.pollEveryMs,
    missedAfterMs: source.missedAfterMs,
  });
}
