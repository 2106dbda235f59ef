// Overview: the cluster's totals, its TaskManagers and the jobs that run.

import { api } from './api.js';
import { ago, badge, bytes, count, html, shortID, span, time, fullTime } from './fmt.js';

const ACTIVE = new Set(['created', 'running', 'restarting', 'failing', 'cancelling']);

export function overviewView() {
  let root;
  return {
    interval: 2000,
    mount(el) {
      root = el;
      root.innerHTML = html`
        <div class="page-head"><h1>Cluster overview</h1></div>
        <section class="cards" id="cards"></section>
        <section class="panel">
          <div class="panel-head"><h2>TaskManagers</h2><span class="muted" id="tm-count"></span></div>
          <div id="tms" class="table-wrap"><p class="muted pad">Loading…</p></div>
        </section>
        <section class="panel">
          <div class="panel-head"><h2>Active jobs</h2><a href="#/jobs">All jobs →</a></div>
          <div id="active-jobs" class="table-wrap"><p class="muted pad">Loading…</p></div>
        </section>`.s;
    },
    async refresh() {
      const [o, tms, jobs] = await Promise.all([api.overview(), api.taskManagers(), api.jobs()]);
      if (!root.isConnected) return;
      renderCards(root.querySelector('#cards'), o);
      renderTaskManagers(root.querySelector('#tms'), tms);
      root.querySelector('#tm-count').textContent = `${tms.length} registered`;
      renderActive(root.querySelector('#active-jobs'), jobs.filter((j) => ACTIVE.has(j.state)));
    },
  };
}

function card(label, value, sub, cls = '', id = '') {
  return html`<div class="card ${cls}" ${id ? html`id="${id}"` : ''}><div class="card-label">${label}</div><div class="card-value">${value}</div><div class="card-sub">${sub}</div></div>`;
}

function renderCards(el, o) {
  const jobs = o.jobs || {};
  const n = (s) => jobs[s] || 0;
  const used = o.slots - o.freeSlots;
  const active = n('created') + n('running') + n('restarting') + n('failing') + n('cancelling');
  el.innerHTML = html`
    ${card('TaskManagers', count(o.taskmanagers), 'registered', '', 'card-tms')}
    ${card('Task slots', html`${count(used)}<span class="of"> / ${count(o.slots)}</span>`, `${count(o.freeSlots)} free`, '', 'card-slots')}
    ${card('Running jobs', count(n('running')), active > n('running') ? `${active - n('running')} more starting or stopping` : 'active now', 'c-running', 'card-running')}
    ${card('Finished', count(n('finished')), 'jobs', 'c-finished')}
    ${card('Failed', count(n('failed')), 'jobs', n('failed') ? 'c-failed' : '')}
    ${card('Cancelled', count(n('cancelled')), 'jobs', 'c-cancelled')}`.s;
}

function slotBar(used, total) {
  // An SVG bar: no inline styles (the page's CSP allows none).
  const w = 90;
  const segs = [];
  for (let i = 0; i < total; i++) {
    const x = total ? (i * w) / total : 0;
    segs.push(html`<rect x="${x + 0.5}" y="0.5" width="${Math.max(w / total - 2, 1)}" height="9" rx="2" class="${i < used ? 'slot-used' : 'slot-free'}"/>`);
  }
  return html`<svg class="slotbar" width="${w}" height="10" viewBox="0 0 ${w} 10" aria-hidden="true">${segs}</svg>`;
}

function renderTaskManagers(el, tms) {
  if (!tms.length) {
    el.innerHTML = html`<p class="empty pad">No TaskManager is registered. With the local or Nomad provider the JobManager starts them for each job;
      standalone TaskManagers register themselves (<code>SLUICE_MODE=taskmanager</code>).</p>`.s;
    return;
  }
  const rows = tms.map((tm) => {
    const slots = tm.slots || [];
    const used = slots.length - tm.freeSlots;
    const net = slots.reduce((a, s) => a + (s.networkBytes || 0), 0);
    const state = slots.reduce((a, s) => a + (s.stateBytes || 0), 0);
    const jobs = [...new Set(slots.map((s) => s.job).filter(Boolean))];
    const hbAge = Date.now() - new Date(tm.lastHeartbeat);
    return html`<tr data-tm="${tm.id}">
      <td class="mono">${tm.id}</td>
      <td class="mono">${tm.dataAddress || '—'}</td>
      <td><div class="slots">${slotBar(used, slots.length)}<span>${used} used · ${tm.freeSlots} free</span></div></td>
      <td class="num">${bytes(tm.managedMemory)}</td>
      <td class="num">${bytes(net)}</td>
      <td class="num">${bytes(state)}</td>
      <td>${jobs.length ? jobs.map((j) => html`<a class="mono" href="#/jobs/${encodeURIComponent(j)}">${shortID(j)}</a> `) : html`<span class="muted">idle</span>`}</td>
      <td title="${fullTime(tm.lastHeartbeat)}"><span class="hb ${hbAge > 3000 ? 'hb-late' : 'hb-ok'}"></span>${ago(tm.lastHeartbeat)}</td>
      <td title="${fullTime(tm.registered)}">${time(tm.registered)}</td>
    </tr>`;
  });
  el.innerHTML = html`<table id="tm-table" class="table">
    <thead><tr><th>ID</th><th>Data address</th><th>Slots</th><th class="num">Managed memory</th><th class="num">Network buffers</th><th class="num">Keyed state</th><th>Jobs</th><th>Last heartbeat</th><th>Registered</th></tr></thead>
    <tbody>${rows}</tbody></table>`.s;
}

function renderActive(el, jobs) {
  if (!jobs.length) {
    el.innerHTML = html`<p class="empty pad">No job is running. Submit one with <code>jmctl submit ./bin/JOB</code>.</p>`.s;
    return;
  }
  const rows = jobs.reverse().map((j) => html`<tr>
    <td><a href="#/jobs/${encodeURIComponent(j.id)}">${j.name || '(unnamed)'}</a></td>
    <td>${badge(j.state)}</td>
    <td class="mono">${shortID(j.id)}</td>
    <td title="${fullTime(j.start)}">${time(j.start)}</td>
    <td>${span(j.start, j.end)}</td>
    <td class="num">${count(j.subtasks)}</td>
    <td class="num">${count(j.restarts)}</td></tr>`);
  el.innerHTML = html`<table class="table"><thead><tr><th>Job</th><th>State</th><th>ID</th><th>Started</th><th>Duration</th><th class="num">Subtasks</th><th class="num">Restarts</th></tr></thead>
    <tbody>${rows}</tbody></table>`.s;
}
