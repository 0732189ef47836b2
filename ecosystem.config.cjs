// The manager itself as a PM2 app (`pm2 start ecosystem.config.cjs` works as well as `./start-redundancy.sh`).
module.exports = {
  apps: [
    {
      name: 'redundancy-manager',
      script: './dist/cli/main.js',
      args: ['start', '--foreground'],
      cwd: __dirname,
      max_restarts: 10,
      min_uptime: 5000,
      exp_backoff_restart_delay: 500,
      kill_timeout: 15000,
    },
  ],
};
