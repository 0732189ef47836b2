// An app you can break on demand, to watch a failover:
//   touch automation/flaky.fail    -> GET /health answers 500 (failover after the error rate passes 0.8)
//   touch automation/flaky.crash   -> the primary exits at boot (failover at once); the twin still runs
//   rm automation/flaky.*          -> healthy again (failback after the hold-down)
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const role = process.env.REDUNDANCY_ROLE || 'primary';
const flag = (name) => fs.existsSync(path.join(__dirname, `flaky.${name}`));
if (role !== 'backup' && flag('crash')) {
  console.error('flaky: crash flag set; exiting at boot');
  process.exit(1);
}
http
  .createServer((req, res) => {
    const failing = role !== 'backup' && flag('fail');
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ app: 'flaky', role, failing }));
  })
  .listen(Number(process.env.PORT || 3101), '127.0.0.1');
