// Job detail: the graph with live rates, subtasks, checkpoints, exceptions,
// and the savepoint, stop and cancel buttons.

import { api, APIError } from './api.js';
import { badge, bytes, count, duration, fullTime, html, percent, rate, shortID, span, time } from './fmt.js';
import { drawGraph } from './graph.js';

const TERMINAL = new Set(['failed', 'cancelled', 'finished']);
const RATE_WINDOW_MS = 5000; // rates are over the polls of the last 5 s
const CHECKPOINT_ROWS = 10; // newest first; the rest behind "show all"

// backpressureOf reads a subtask's backpressure (the share of time it
// waited to send), under whichever name the API gives it; null if none.
function backpressureOf(st) {
  for (const k of ['backpressure', 'backpressureRatio', 'backPressureRatio', 'backPressuredRatio']) {
    if (typeof st[k] === 'number') return st[k];
  }
  if (typeof st.backPressuredTimeMsPerSecond === 'number') return st.backPressuredTimeMsPerSecond / 1000;
  return null;
}

export function jobView(id) {
  let root;
  let graph = null; // the JobGraph, once loaded
  let updateGraph = null;
  let graphError = null;
  let detail = null;
  let samples = []; // {t, attempt, counts: Map(key -> {in, out, bp})}
  let tick = 0;
  let gone = false; // unmounted
  let missing = false; // the JobManager does not know the job
  let allCheckpoints = false;
  let lastCheckpoints = [];
  const savepoints = []; // triggered from this page, newest first

  function q(sel) {
    return root.querySelector(sel);
  }

  function addSample(d) {
    const now = performance.now();
    if (samples.length && samples[samples.length - 1].attempt !== d.attempt) samples = [];
    const counts = new Map();
    for (const st of d.tasks) counts.set(`${st.task}/${st.subtask}`, { in: st.recordsIn, out: st.recordsOut });
    samples.push({ t: now, attempt: d.attempt, counts });
    while (samples.length > 2 && now - samples[1].t >= RATE_WINDOW_MS) samples.shift();
  }

  // subtaskRates: Map(key -> {in, out}) in records per second, from the
  // oldest and newest polls in the window; empty before the second poll.
  function subtaskRates() {
    const out = new Map();
    if (samples.length < 2) return out;
    const a = samples[0];
    const b = samples[samples.length - 1];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) return out;
    for (const [k, cb] of b.counts) {
      const ca = a.counts.get(k);
      if (!ca) continue;
      out.set(k, { in: Math.max(0, cb.in - ca.in) / dt, out: Math.max(0, cb.out - ca.out) / dt });
    }
    return out;
  }

  function taskStats(d, rates) {
    const stats = new Map();
    const hasInput = new Set((graph ? graph.edges : []).map((e) => e.target));
    for (const st of d.tasks) {
      let s = stats.get(st.task);
      if (!s) {
        s = { states: [], running: 0, total: 0, in: null, out: null, bpSum: 0, bpN: 0 };
        stats.set(st.task, s);
      }
      s.states.push(st.state);
      s.total++;
      if (st.state === 'running') s.running++;
      const r = rates.get(`${st.task}/${st.subtask}`);
      if (r) {
        s.in = (s.in || 0) + r.in;
        s.out = (s.out || 0) + r.out;
      }
      const bp = backpressureOf(st);
      if (bp !== null) {
        s.bpSum = Math.max(s.bpSum, bp);
        s.bpN++;
      }
    }
    for (const [task, s] of stats) {
      const uniq = [...new Set(s.states)];
      s.uniform = uniq.length === 1;
      s.state = s.states.includes('failed') ? 'failed' : s.uniform ? uniq[0] : s.running ? 'running' : uniq[0];
      if (graph && !hasInput.has(task)) s.in = null; // a source reads from outside
      s.backpressure = s.bpN ? s.bpSum : null; // the worst subtask's
    }
    return stats;
  }

  function renderHead(d) {
    const st = q('#job-state');
    st.innerHTML = badge(d.state).s;
    st.dataset.state = d.state;
    q('#job-name').textContent = d.name || '(unnamed job)';
    document.title = `${d.name || d.id} · Sluice`;
    const facts = [
      ['ID', html`<span class="mono">${d.id}</span>`],
      ['Started', html`<span title="${fullTime(d.start)}">${time(d.start)}</span>`],
      d.end ? ['Ended', html`<span title="${fullTime(d.end)}">${time(d.end)}</span>`] : null,
      ['Duration', span(d.start, d.end)],
      ['Restarts', d.restarts ? html`<span class="warn">${count(d.restarts)}</span>` : '0'],
      ['Attempt', count(d.attempt)],
      ['Subtasks', count(d.subtasks)],
      d.restoredFrom ? ['Restored from', d.restoredFrom] : null,
      ['Artifact', html`<span class="mono" title="${d.artifact}">${shortID(d.artifact) || '—'}</span>`],
      d.args && d.args.length ? ['Arguments', html`<span class="mono">${d.args.join(' ')}</span>`] : null,
    ].filter(Boolean);
    q('#job-facts').innerHTML = facts.map(([k, v]) => html`<div class="fact"><dt>${k}</dt><dd>${v}</dd></div>`.s).join('');
    const err = q('#job-error');
    if (d.error) {
      err.hidden = false;
      err.textContent = d.error;
    } else {
      err.hidden = true;
    }
    const terminal = TERMINAL.has(d.state);
    q('#btn-savepoint').disabled = terminal;
    q('#btn-stop').disabled = terminal;
    q('#btn-cancel').disabled = terminal || d.state === 'cancelling';
    q('#actions-note').textContent = terminal ? { finished: 'The job has finished.', failed: 'The job has failed.', cancelled: 'The job was cancelled.' }[d.state] : '';
  }

  function renderSubtasks(d, rates) {
    const order = new Map((graph ? graph.tasks : []).map((t, i) => [t.id, i]));
    const rows = d.tasks
      .slice()
      .sort((a, b) => (order.get(a.task) ?? 1e9) - (order.get(b.task) ?? 1e9) || a.task.localeCompare(b.task) || a.subtask - b.subtask);
    const anyBP = rows.some((st) => backpressureOf(st) !== null);
    const body = rows.map((st) => {
      const r = rates.get(`${st.task}/${st.subtask}`);
      const bp = backpressureOf(st);
      return html`<tr data-task="${st.task}" data-subtask="${st.subtask}">
        <td class="task-name" title="${st.name}">${st.name}</td>
        <td class="num" title="subtask ${st.subtask} of ${st.parallelism}">${st.subtask}</td>
        <td>${badge(st.state)}</td>
        <td class="mono">${st.taskManager || '—'}</td>
        <td class="num">${st.taskManager ? st.slot : '—'}</td>
        <td class="num">${count(st.recordsIn)}</td>
        <td class="num">${count(st.recordsOut)}</td>
        <td class="num">${r ? rate(r.in) : '—'}</td>
        <td class="num">${r ? rate(r.out) : '—'}</td>
        ${anyBP ? html`<td class="num">${percent(bp)}</td>` : ''}
        <td class="row-error" title="${st.error || ''}">${st.error || ''}</td>
      </tr>`;
    });
    q('#subtasks').innerHTML = rows.length
      ? html`<table class="table" id="subtask-table"><thead><tr><th>Task</th><th class="num">Subtask</th><th>State</th><th>TaskManager</th><th class="num">Slot</th>
          <th class="num">Records in</th><th class="num">Records out</th><th class="num">In/s</th><th class="num">Out/s</th>${anyBP ? html`<th class="num">Backpressure</th>` : ''}<th>Error</th></tr></thead>
          <tbody>${body}</tbody></table>`.s
      : html`<p class="empty pad">No subtask is deployed yet.</p>`.s;
  }

  function renderExceptions(d) {
    const ex = (d.exceptions || []).slice().reverse();
    q('#exceptions-count').textContent = ex.length ? `${ex.length}` : '';
    q('#exceptions').innerHTML = ex.length
      ? ex.map((e) => html`<div class="exception"><div class="exception-head"><span title="${fullTime(e.time)}">${time(e.time)}</span><span class="muted">${e.attempt < 0 ? 'before the first attempt' : `attempt ${e.attempt}`}</span></div><pre>${e.error}</pre></div>`.s).join('')
      : html`<p class="empty pad">No exception: the job has not failed.</p>`.s;
  }

  function renderCheckpoints(cps) {
    lastCheckpoints = cps;
    // A discarded checkpoint had completed and was then replaced by a newer one.
    const done = cps.filter((c) => c.status === 'completed' || c.status === 'discarded' || c.status === 'recording');
    const retained = cps.filter((c) => c.status === 'completed' && !c.savepoint);
    const aborted = cps.filter((c) => c.status === 'aborted');
    const latest = retained[retained.length - 1];
    q('#checkpoint-summary').innerHTML = cps.length
      ? html`<div class="fact"><dt>Completed</dt><dd>${count(done.length)}</dd></div>
          <div class="fact"><dt>Aborted</dt><dd>${aborted.length ? html`<span class="warn">${count(aborted.length)}</span>` : '0'}</dd></div>
          <div class="fact"><dt>Latest</dt><dd>${latest ? html`#${latest.id} at ${time(latest.ended)}, ${bytes(latest.size)} in ${duration(latest.durationMs)}` : '—'}</dd></div>`.s
      : '';
    const shown = allCheckpoints ? cps.length : CHECKPOINT_ROWS;
    const more = q('#checkpoints-more');
    more.hidden = cps.length <= CHECKPOINT_ROWS;
    more.textContent = allCheckpoints ? 'Show the latest only' : `Show all ${cps.length}`;
    const rows = cps
      .slice()
      .reverse()
      .slice(0, shown)
      .map((c) => {
        const align = (c.subtasks || []).reduce((m, s) => Math.max(m, s.alignmentMs || 0), 0);
        const sync = (c.subtasks || []).reduce((m, s) => Math.max(m, s.syncMs || 0), 0);
        return html`<tr data-checkpoint="${c.id}" data-status="${c.status}">
          <td class="num">${c.id}</td>
          <td>${c.savepoint ? html`<span class="tag tag-savepoint">savepoint</span>` : html`<span class="tag">checkpoint</span>`}</td>
          <td title="${c.status === 'discarded' ? 'completed, then replaced by a newer checkpoint' : ''}">${badge(c.status)}</td>
          <td title="${fullTime(c.triggered)}">${time(c.triggered)}</td>
          <td class="num">${c.status === 'pending' ? span(c.triggered) : duration(c.durationMs)}</td>
          <td class="num">${bytes(c.size)}</td>
          <td class="num">${(c.subtasks || []).length}</td>
          <td class="num">${duration(align)}</td>
          <td class="num">${duration(sync)}</td>
          <td class="num">${c.attempt}</td>
          <td class="row-error" title="${c.reason || ''}">${c.reason || ''}</td>
        </tr>`;
      });
    q('#checkpoints').innerHTML = cps.length
      ? html`<table class="table" id="checkpoint-table"><thead><tr><th class="num">ID</th><th>Type</th><th>Status</th><th>Triggered</th><th class="num">Duration</th>
          <th class="num">Size</th><th class="num">Acks</th><th class="num">Max alignment</th><th class="num">Max sync</th><th class="num">Attempt</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`.s
      : html`<p class="empty pad">No checkpoint yet. A job takes them when it calls <code>env.EnableCheckpointing</code>; savepoints work in any case.</p>`.s;
  }

  function renderSavepoints() {
    const el = q('#savepoints');
    el.hidden = savepoints.length === 0;
    el.innerHTML = savepoints
      .map((sp) => html`<div class="savepoint" data-savepoint="${sp.id}" data-savepoint-status="${sp.status}">
          <span class="sp-title">${sp.stop ? 'Stop with savepoint' : 'Savepoint'} ${sp.id}</span>
          ${badge(sp.status)}
          ${sp.status === 'completed'
            ? html`<span>written to <code class="sp-location">${sp.location}</code> · ${bytes(sp.size)}${sp.ended ? html` · ${span(sp.triggered, sp.ended)}` : ''}</span>`
            : sp.status === 'failed'
              ? html`<span class="error-text">${sp.error || 'failed'}</span>`
              : html`<span class="muted">writing to <code>${sp.location}</code>…</span>`}
        </div>`.s)
      .join('');
  }

  function showError(what, e) {
    const el = q('#action-error');
    el.hidden = false;
    el.querySelector('.msg').textContent = `${what} failed: ${e instanceof APIError ? e.toString() : e.message || e}`;
  }

  async function followSavepoint(sp) {
    savepoints.unshift(sp);
    renderSavepoints();
    while (!gone && sp.status === 'in_progress') {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const next = await api.savepoint(id, sp.id);
        Object.assign(sp, next);
      } catch (e) {
        if (e instanceof APIError) {
          sp.status = 'failed';
          sp.error = e.toString();
        }
      }
      if (!gone) renderSavepoints();
    }
    window.dispatchEvent(new Event('sluice:refresh'));
  }

  async function action(kind) {
    const name = (detail && detail.name) || id;
    const ask = {
      savepoint: `Trigger a savepoint of job "${name}"?\n\nIts state is written to the cluster's state backend; the job keeps running.`,
      stop: `Stop job "${name}" with a savepoint?\n\nThe job stops once the savepoint is written and ends finished. Resume it with jmctl submit --from-savepoint.`,
      cancel: `Cancel job "${name}"?\n\nIts subtasks stop at once, without a savepoint.`,
    }[kind];
    if (!window.confirm(ask)) return;
    q('#action-error').hidden = true;
    const button = q(`#btn-${kind}`);
    button.disabled = true;
    button.classList.add('busy');
    try {
      if (kind === 'cancel') {
        await api.cancel(id);
        window.dispatchEvent(new Event('sluice:refresh'));
      } else {
        const sp = await (kind === 'stop' ? api.stopWithSavepoint(id) : api.triggerSavepoint(id));
        followSavepoint(sp);
      }
    } catch (e) {
      showError({ savepoint: 'Trigger savepoint', stop: 'Stop with savepoint', cancel: 'Cancel' }[kind], e);
    } finally {
      button.classList.remove('busy');
      if (detail) renderHead(detail);
      else button.disabled = false;
    }
  }

  async function loadGraph() {
    try {
      graph = await api.graph(id);
      graphError = null;
      updateGraph = drawGraph(q('#graph'), graph);
      q('#graph-meta').textContent = `${graph.tasks.length} task${graph.tasks.length === 1 ? '' : 's'} · ${graph.tasks.reduce((a, t) => a + t.operators.length, 0)} operators`;
    } catch (e) {
      if (!(e instanceof APIError)) throw e; // not answered: try again at the next poll
      graphError = e;
      q('#graph').innerHTML = html`<p class="empty pad">The job graph is not available: ${e.toString()}</p>`.s;
    }
  }

  const view = {
    interval: 1000,
    mount(el) {
      root = el;
      root.innerHTML = html`
        <div class="crumbs"><a href="#/jobs">Jobs</a> <span>/</span> <span class="mono">${shortID(id)}</span></div>
        <div class="job-head">
          <div class="job-title">
            <h1><span id="job-name">${id}</span> <span id="job-state"></span></h1>
            <dl class="facts" id="job-facts"></dl>
          </div>
          <div class="actions">
            <button id="btn-savepoint" class="btn" type="button">Trigger savepoint</button>
            <button id="btn-stop" class="btn" type="button">Stop with savepoint</button>
            <button id="btn-cancel" class="btn btn-danger" type="button">Cancel job</button>
            <div class="actions-note muted" id="actions-note"></div>
          </div>
        </div>
        <div class="alert error" id="action-error" hidden><span class="msg"></span><button type="button" class="close" aria-label="dismiss">×</button></div>
        <div class="savepoints" id="savepoints" hidden></div>
        <pre class="alert error job-error" id="job-error" hidden></pre>
        <section class="panel">
          <div class="panel-head"><h2>Graph</h2><span class="muted" id="graph-meta"></span>
            <span class="legend"><span class="lg p-forward">forward</span><span class="lg p-hash">hash</span><span class="lg p-rebalance">rebalance</span><span class="lg p-broadcast">broadcast</span></span></div>
          <div class="graph-scroll" id="graph"><p class="muted pad">Loading…</p></div>
        </section>
        <section class="panel">
          <div class="panel-head"><h2>Subtasks</h2></div>
          <div class="table-wrap" id="subtasks"><p class="muted pad">Loading…</p></div>
        </section>
        <section class="panel">
          <div class="panel-head"><h2>Checkpoints</h2><dl class="facts" id="checkpoint-summary"></dl></div>
          <div class="table-wrap" id="checkpoints"><p class="muted pad">Loading…</p></div>
          <div class="panel-foot"><button type="button" class="linkish" id="checkpoints-more" hidden></button></div>
        </section>
        <section class="panel">
          <div class="panel-head"><h2>Exceptions <span class="count" id="exceptions-count"></span></h2></div>
          <div id="exceptions"><p class="muted pad">Loading…</p></div>
        </section>`.s;
      q('#btn-savepoint').addEventListener('click', () => action('savepoint'));
      q('#btn-stop').addEventListener('click', () => action('stop'));
      q('#btn-cancel').addEventListener('click', () => action('cancel'));
      q('#checkpoints-more').addEventListener('click', () => {
        allCheckpoints = !allCheckpoints;
        renderCheckpoints(lastCheckpoints);
      });
      q('#action-error .close').addEventListener('click', () => (q('#action-error').hidden = true));
    },
    unmount() {
      gone = true;
    },
    async refresh() {
      let d;
      try {
        d = await api.job(id);
      } catch (e) {
        if (e instanceof APIError && e.status === 404) {
          root.innerHTML = html`<section class="panel"><div class="panel-head"><h2>No job ${id}</h2></div>
            <p class="pad">The JobManager answered: ${e.message}. <a href="#/jobs">See all jobs</a>.</p></section>`.s;
          missing = true;
          view.interval = 5000; // it may come back with another leader; no need to ask often
          return;
        }
        throw e;
      }
      if (gone) return;
      if (missing) {
        missing = false;
        view.interval = 1000;
        view.mount(root);
      }
      detail = d;
      if (!graph && !graphError) await loadGraph();
      addSample(d);
      const rates = subtaskRates();
      renderHead(d);
      if (updateGraph) updateGraph(taskStats(d, rates));
      renderSubtasks(d, rates);
      renderExceptions(d);
      // Checkpoints change less often: every other poll.
      if (tick++ % 2 === 0 || TERMINAL.has(d.state)) renderCheckpoints(await api.checkpoints(id));
    },
  };
  return view;
}
