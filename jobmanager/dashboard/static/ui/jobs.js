// Jobs: every job the JobManager knows, newest first.

import { api } from './api.js';
import { badge, count, fullTime, html, span, time } from './fmt.js';

export function jobsView() {
  let root;
  return {
    interval: 2000,
    mount(el) {
      root = el;
      root.innerHTML = html`
        <div class="page-head"><h1>Jobs</h1><span class="muted" id="jobs-count"></span></div>
        <section class="panel"><div id="jobs" class="table-wrap"><p class="muted pad">Loading…</p></div></section>`.s;
    },
    async refresh() {
      const jobs = await api.jobs();
      if (!root.isConnected) return;
      const el = root.querySelector('#jobs');
      const byState = {};
      jobs.forEach((j) => (byState[j.state] = (byState[j.state] || 0) + 1));
      root.querySelector('#jobs-count').textContent = jobs.length
        ? `${jobs.length} in all · ` + Object.entries(byState).map(([s, n]) => `${n} ${s}`).join(', ')
        : '';
      if (!jobs.length) {
        el.innerHTML = html`<p class="empty pad">No job has been submitted yet. Submit one with <code>jmctl submit ./bin/JOB -- ARGS</code>.</p>`.s;
        return;
      }
      const rows = jobs
        .slice()
        .reverse()
        .map((j) => html`<tr data-job="${j.id}" data-state="${j.state}">
          <td><a class="job-link" href="#/jobs/${encodeURIComponent(j.id)}">${j.name || '(unnamed)'}</a>
            ${j.error ? html`<div class="row-error" title="${j.error}">${j.error}</div>` : ''}</td>
          <td class="mono">${j.id}</td>
          <td>${badge(j.state)}</td>
          <td title="${fullTime(j.start)}">${time(j.start)}</td>
          <td title="${fullTime(j.end)}">${time(j.end)}</td>
          <td>${span(j.start, j.end)}</td>
          <td class="num">${count(j.subtasks)}</td>
          <td class="num">${j.restarts ? html`<span class="warn">${count(j.restarts)}</span>` : '0'}</td>
        </tr>`);
      el.innerHTML = html`<table id="jobs-table" class="table">
        <thead><tr><th>Job</th><th>ID</th><th>State</th><th>Started</th><th>Ended</th><th>Duration</th><th class="num">Subtasks</th><th class="num">Restarts</th></tr></thead>
        <tbody>${rows}</tbody></table>`.s;
    },
  };
}
