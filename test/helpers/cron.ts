import { parseCronExpression, type CronSchedule } from '../../src/core/schedule/cron-fields.js';

/** A cron expression a test writes by hand, parsed; a typo in the test fails loudly. */
export function cron(text: string): CronSchedule {
  const parsed = parseCronExpression(text);
  if (!parsed.ok) throw new Error(`bad test expression ${text}: ${parsed.expected}`);
  return parsed.schedule;
}
