// The probing floor: a bare Node process doing only what the manager's HTTP probes do, a GET of
// each URL on a fresh connection every interval. Usage: node probe-floor.cjs <intervalMs> <url>...
const http = require('node:http');
const [intervalMs, ...urls] = process.argv.slice(2);
function probe(url) {
  return new Promise((resolve) => {
    const req = http.request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
    req.setTimeout(2000, () => req.destroy());
    req.end();
  });
}
setInterval(() => Promise.all(urls.map(probe)), Number(intervalMs));
