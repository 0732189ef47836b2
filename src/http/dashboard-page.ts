/**
 * The dashboard (`GET /`): one static page, no framework, no build step; a TS string so `tsc` ships
 * it in dist/ with the rest. Read-only: it only listens to `/events`. Rows are rendered to HTML
 * strings and cached per unit report, so a delta of a few units re-renders a few strings even with
 * 1,000 units on the page.
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redundancy</title>
<style>
  :root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; }
  header { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: baseline; padding: 10px 16px; background: var(--bg); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
  header h1 { font-size: 18px; margin: 0 8px 0 0; }
  .muted { color: var(--muted); }
  #conn.live { color: var(--ok); } #conn.down { color: var(--bad); font-weight: 600; }
  .counts b { margin-right: 2px; }
  .bad { color: var(--bad); } .warn { color: var(--warn); } .good { color: var(--ok); }
  main { padding: 8px 16px 24px; }
  #filter { width: min(420px, 100%); padding: 5px 8px; font: inherit; border: 1px solid var(--line); border-radius: 6px; }
  h2 { font-size: 15px; margin: 18px 0 6px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
  th { font-weight: 600; font-size: 12px; color: var(--muted); }
  td.reason { white-space: normal; max-width: 38ch; overflow-wrap: anywhere; }
  tr.p0 td:first-child { border-left: 4px solid var(--bad); } tr.p1 td:first-child { border-left: 4px solid var(--warn); }
  tr.p2 td:first-child { border-left: 4px solid #d4a72c; } tr.p3 td:first-child { border-left: 4px solid transparent; }
  .bar { display: inline-block; width: 70px; height: 8px; background: #eaeef2; position: relative; vertical-align: middle; margin-right: 4px; }
  .bar i { position: absolute; left: 0; top: 0; bottom: 0; background: var(--ok); }
  .bar i.over { background: var(--bad); }
  .bar s { position: absolute; top: -2px; bottom: -2px; width: 2px; background: #1f2328; }
  .strip { font-family: ui-monospace, monospace; letter-spacing: 1px; }
  .strip .f { color: var(--bad); } .strip .o { color: var(--ok); }
  .tag { font-size: 11px; padding: 0 5px; border-radius: 8px; background: #eaeef2; }
  #empty { padding: 20px 0; }
</style>
</head>
<body>
<header>
  <h1>redundancy</h1>
  <span id="conn" class="down">connecting</span>
  <span id="manager" class="muted"></span>
  <span id="counts" class="counts"></span>
  <span id="notify"></span>
  <span id="cluster"></span>
</header>
<main>
  <p><input id="filter" type="search" placeholder="filter: unit, state, side, reason (problems are listed first)" autocomplete="off" aria-label="filter units"> <span id="shown" class="muted"></span></p>
  <div id="units"></div>
  <p id="empty" class="muted" hidden>waiting for the manager's first report</p>
</main>
<script>
"use strict";
const units = new Map();       // id -> unit report
const rows = new Map();        // id -> { unit, drill, html, rank, text }
let report = null;
let scheduled = false;
let shownHtml = '';

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : '';
const dateTime = (iso) => iso ? new Date(iso).toLocaleString() : '';
function span(ms) {
  if (ms < 1000) return Math.round(ms) + 'ms';
  const s = ms / 1000;
  if (s < 60) return (Math.round(s * 10) / 10) + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + Math.floor(s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
}

/** 0 no side up, 1 off its primary, 2 degraded or paused, 3 healthy. */
function rankOf(u) {
  if (u.active === 'none') return 0;
  if (u.drill) return 2;
  if (u.state !== 'primary' || u.active !== 'primary') return 1;
  if (u.health !== 'healthy' || u.paused) return 2;
  return 3;
}

function strip(s) {
  if (!s) return '<span class="muted">none</span>';
  let out = '';
  for (const c of s) out += c === '1' ? '<span class="o">\\u25cf</span>' : '<span class="f">\\u25cf</span>';
  return out;
}

function rateCell(u) {
  const pct = Math.round(u.errorRate * 100);
  const over = u.threshold !== undefined && u.errorRate > u.threshold;
  const mark = u.threshold !== undefined ? '<s style="left:' + Math.round(u.threshold * 100) + '%"></s>' : '';
  const bar = '<span class="bar"><i class="' + (over || u.errorRate > 0 ? 'over' : '') + '" style="width:' + Math.max(pct, 2) + '%"></i>' + mark + '</span>';
  return bar + pct + '%' + (u.threshold !== undefined ? ' <span class="muted">/ ' + Math.round(u.threshold * 100) + '%</span>' : '');
}

function runsCell(u) {
  const r = u.runs;
  if (!r) return '';
  const last = r.lastRun ? (r.lastRun.ok ? '<span class="good">ok</span> ' : '<span class="bad">failed</span> ') + esc(r.lastRun.side) + ' ' + esc(time(r.lastRun.at)) : '<span class="muted">no run yet</span>';
  const next = r.nextTwinRun ? 'twin next ' + esc(time(r.nextTwinRun)) : r.nextSlot ? 'next ' + esc(time(r.nextSlot)) : '';
  return last + (next ? '<br><span class="muted">' + next + '</span>' : '');
}

function drillCell(d) {
  if (!d) return '<span class="muted">never</span>';
  const rto = d.rtoMs === null ? '' : ' RTO ' + span(d.rtoMs);
  return '<span class="' + (d.result === 'ok' ? 'good' : 'bad') + '" title="' + esc(d.reason) + '">' + esc(d.result) + '</span>' + rto + '<br><span class="muted">' + esc(dateTime(d.at)) + '</span>';
}

function rowOf(u, drill) {
  const rank = rankOf(u);
  const state = esc(u.state) + (u.paused ? ' <span class="tag">paused</span>' : '') + (u.drill ? ' <span class="tag">drill</span>' : '');
  const activeClass = u.active === 'primary' ? 'good' : u.active === 'none' ? 'bad' : 'warn';
  const twin = esc(u.twin.status) + (u.twin.mode ? ' <span class="tag">' + esc(u.twin.mode) + '</span>' : '') + (u.twin.reason ? '<br><span class="muted">' + esc(u.twin.reason) + '</span>' : '');
  const hold = u.holdDownUntil ? 'until ' + esc(time(u.holdDownUntil)) : '';
  const html = '<tr class="p' + rank + '" data-unit="' + esc(u.id) + '" data-state="' + esc(u.state) + '" data-active="' + esc(u.active) + '">' +
    '<td><b>' + esc(u.name) + '</b><br><span class="muted">' + esc(u.id) + '</span></td>' +
    '<td>' + state + '</td>' +
    '<td class="' + activeClass + '">' + esc(u.active) + '</td>' +
    '<td>' + rateCell(u) + '</td>' +
    '<td class="strip">' + strip(u.lastSamples) + '</td>' +
    '<td>' + u.failovers + '</td>' +
    '<td>' + hold + '</td>' +
    '<td>' + twin + '</td>' +
    '<td>' + runsCell(u) + '</td>' +
    '<td>' + drillCell(drill) + '</td>' +
    '<td class="reason">' + esc(u.reason) + '</td></tr>';
  const text = (u.id + ' ' + u.state + ' ' + u.active + ' ' + u.health + ' ' + u.reason + ' ' + u.twin.status + (u.paused ? ' paused' : '')).toLowerCase();
  return { unit: u, drill, html, rank, text };
}

const head = '<tr><th>unit</th><th>state</th><th>active</th><th>error rate / threshold</th><th>last samples</th><th>failovers</th><th>hold-down</th><th>twin</th><th>runs</th><th>last drill</th><th>last reason</th></tr>';

function render() {
  scheduled = false;
  const drills = (report && report.drills) || {};
  const byKind = new Map();
  const words = $('filter').value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const u of units.values()) {
    let row = rows.get(u.id);
    const drill = drills[u.id];
    if (!row || row.unit !== u || row.drill !== drill) rows.set(u.id, (row = rowOf(u, drill)));
    if (words.length && !words.every((w) => row.text.includes(w))) continue;
    shown += 1;
    if (!byKind.has(u.kind)) byKind.set(u.kind, []);
    byKind.get(u.kind).push(row);
  }
  // Kinds with a problem first; in each kind, problems first, then by name.
  const groups = [...byKind.entries()].map(([kind, list]) => {
    list.sort((a, b) => a.rank - b.rank || (a.unit.id < b.unit.id ? -1 : 1));
    return { kind, list, worst: list[0].rank };
  }).sort((a, b) => a.worst - b.worst || (a.kind < b.kind ? -1 : 1));
  let html = '';
  for (const g of groups) {
    const problems = g.list.filter((r) => r.rank < 3).length;
    html += '<section data-kind="' + esc(g.kind) + '"><h2>' + esc(g.kind) + ' <span class="muted">' + g.list.length + ' unit(s)' + (problems ? ', <span class="bad">' + problems + ' need attention</span>' : '') + '</span></h2><table><thead>' + head + '</thead><tbody>' + g.list.map((r) => r.html).join('') + '</tbody></table></section>';
  }
  // A round that changed only what the page does not show (the time of the last check) touches no DOM.
  if (html !== shownHtml) $('units').innerHTML = shownHtml = html;
  $('shown').textContent = report ? shown + ' of ' + units.size + ' unit(s)' : '';
  $('empty').hidden = report !== null;
  renderHeader();
}

function renderHeader() {
  if (!report) return;
  const m = report.manager;
  const up = Date.now() - Date.parse(m.startedAt);
  $('manager').textContent = 'manager pid ' + m.pid + ', v' + m.version + ', up ' + span(Math.max(0, up)) + ', report ' + time(report.generatedAt);
  const s = report.summary;
  $('counts').innerHTML = '<b>' + s.units + '</b> units: <b class="good">' + s.healthy + '</b> healthy, <b class="' + (s.onTwin ? 'warn' : '') + '">' + s.onTwin + '</b> on twin, <b class="' + (s.critical ? 'bad' : '') + '">' + s.critical + '</b> critical';
  const n = m.notifications;
  $('notify').innerHTML = n ? 'notifications: <span class="' + (n.pending ? 'warn' : '') + '">' + n.pending + ' undelivered</span>, <span class="' + (n.dead ? 'bad' : '') + '">' + n.dead + ' given up</span>' + (n.disabled && n.disabled.length ? ', disabled: ' + esc(n.disabled.join(', ')) : '') : '';
  const leader = m.leader ?? report.leader;
  const epoch = m.epoch ?? report.epoch;
  const parts = [];
  if (leader !== undefined) parts.push('leader: ' + esc(typeof leader === 'object' ? (leader.host ?? JSON.stringify(leader)) : leader));
  if (epoch !== undefined) parts.push('epoch ' + esc(epoch));
  $('cluster').innerHTML = parts.join(', ');
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function take(full) {
  report = full;
  units.clear();
  for (const u of full.units) units.set(u.id, u);
  schedule();
}

function apply(delta) {
  if (!report) return;
  report = Object.assign({}, delta.report, { units: [] });
  for (const id of delta.removed) { units.delete(id); rows.delete(id); }
  for (const u of delta.changed) units.set(u.id, u);
  schedule();
}

function connect() {
  const source = new EventSource('events');
  source.addEventListener('open', () => { $('conn').textContent = 'live'; $('conn').className = 'live'; });
  source.addEventListener('report', (e) => take(JSON.parse(e.data)));
  source.addEventListener('delta', (e) => apply(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    $('conn').textContent = 'reconnecting to the manager';
    $('conn').className = 'down';
    // The browser retries a dropped stream itself; an answer it will not retry (a 401, a proxy's 502) closes it for good.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  });
}

$('filter').addEventListener('input', schedule);
setInterval(renderHeader, 1000);
connect();
</script>
</body>
</html>
`;
