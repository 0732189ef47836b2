// The bundled example: what `./start-redundancy.sh` supervises.
module.exports = {
  apps: [
    { name: 'web', script: './web.cjs', env: { PORT: '3100' }, max_restarts: 10 },
    { name: 'worker', script: './worker.cjs', max_restarts: 10 },
    { name: 'flaky', script: './flaky.cjs', env: { PORT: '3101' }, max_restarts: 10, min_uptime: 1000 },
  ],
};
