// A Node script run on demand, as `npx redundancy run script:export-stats [-- args]`: the ledger
// records each run. `touch automation/export.fail` makes the primary fail; while the unit is on its
// twin, `run` goes through the backup wrapper (REDUNDANCY_ROLE=backup), which retries with backoff.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

if (process.env.REDUNDANCY_ROLE !== 'backup' && existsSync('automation/export.fail')) {
  console.error('export-stats: failing on purpose (automation/export.fail)');
  process.exit(1);
}
mkdirSync('logs', { recursive: true });
writeFileSync('logs/stats.json', `${JSON.stringify({ at: new Date().toISOString(), args: process.argv.slice(2) })}\n`);
console.log('export-stats: wrote logs/stats.json');
