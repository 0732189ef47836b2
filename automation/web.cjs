// A healthy HTTP app: GET /health answers 200.
const http = require('node:http');

const port = Number(process.env.PORT || 3100);
const role = process.env.REDUNDANCY_ROLE || 'primary';
http
  .createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ app: 'web', role, pid: process.pid }));
  })
  .listen(port, '127.0.0.1', () => console.log(`web (${role}) listening on 127.0.0.1:${port}`));
