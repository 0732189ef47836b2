export { bundleFunction, BundleError, workerMainPath } from './bundle.js';
export { FunctionProcess, type FunctionProcessOptions, type RunnerLogger } from './function-process.js';
export type { Answer, AnswerHeaders, Invocation, InvocationAnswer, InvocationKind, InvocationRequest, InvocationResult } from './ipc.js';
export { LocalRunner, type LocalRunnerOptions, type NetlifyTwin, type RunResult } from './local-runner.js';
export { matchRoute, routesOf, type Route, type RouteMatch } from './routes.js';
