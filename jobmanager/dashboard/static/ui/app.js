// The dashboard's shell: the header, the hash router and the poll loop.
// A view is an object with mount(root), refresh() (fetches and renders;
// called at once and then every `interval` ms, never two at a time) and an
// optional unmount().

import { api, NetworkError } from './api.js';
import { esc } from './fmt.js';
import { overviewView } from './overview.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';

const routes = [
  { re: /^#?\/?$/, nav: 'overview', make: () => overviewView() },
  { re: /^#\/overview$/, nav: 'overview', make: () => overviewView() },
  { re: /^#\/jobs$/, nav: 'jobs', make: () => jobsView() },
  { re: /^#\/jobs\/([^/]+)$/, nav: 'jobs', make: (m) => jobView(decodeURIComponent(m[1])) },
];

let current = null; // { view, timer, gen }
let generation = 0;

function route() {
  const hash = location.hash || '#/';
  let match = null;
  let r = null;
  for (const cand of routes) {
    match = hash.match(cand.re);
    if (match) {
      r = cand;
      break;
    }
  }
  if (current) {
    clearTimeout(current.timer);
    if (current.view.unmount) current.view.unmount();
  }
  const root = document.getElementById('view');
  root.replaceChildren();
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', !!r && a.dataset.nav === r.nav));
  if (!r) {
    root.innerHTML = `<section class="panel empty"><h2>Not found</h2><p>No page at <code>${esc(hash)}</code>. Go to the <a href="#/">overview</a>.</p></section>`;
    current = null;
    return;
  }
  const view = r.make(match);
  const gen = ++generation;
  current = { view, timer: 0, gen, busy: false };
  view.mount(root);
  poll(gen);
}

async function poll(gen) {
  if (!current || current.gen !== gen || current.busy) return;
  const cur = current;
  const view = cur.view;
  clearTimeout(cur.timer);
  cur.busy = true;
  try {
    await view.refresh();
    setLive(true);
  } catch (e) {
    if (e instanceof NetworkError) {
      setLive(false, e.message);
    } else {
      setLive(true);
      console.warn('refresh:', e);
    }
  } finally {
    cur.busy = false;
  }
  if (current !== cur) return;
  const every = document.hidden ? Math.max(view.interval || 2000, 10000) : view.interval || 2000;
  current.timer = setTimeout(() => poll(gen), every);
}

function setLive(ok, why) {
  const live = document.getElementById('live');
  live.dataset.live = ok ? 'live' : 'down';
  document.getElementById('live-text').textContent = ok ? 'live' : 'reconnecting';
  const banner = document.getElementById('banner');
  if (ok) {
    banner.hidden = true;
  } else {
    banner.hidden = false;
    banner.textContent = `The JobManager does not answer: ${why}. Retrying…`;
  }
}

async function refreshHeader() {
  try {
    const [o, h] = await Promise.all([api.overview(), api.health().catch(() => null)]);
    document.getElementById('cluster-name').textContent = `cluster ${o.cluster || 'default'}`;
    document.getElementById('cluster-version').textContent = o.version.startsWith('v') || o.version === 'dev' ? o.version : `v${o.version}`;
    const jm = document.getElementById('cluster-jm');
    if (h) {
      jm.textContent = `${h.id} · ${h.status}`;
      jm.dataset.status = h.status;
    }
    document.title = `Sluice · ${o.cluster || 'default'}`;
  } catch {
    // the view's poll reports the connection
  }
  setTimeout(refreshHeader, document.hidden ? 30000 : 10000);
}

window.addEventListener('hashchange', route);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) poll(current.gen);
});
route();
refreshHeader();

// A view asks for an early refresh (after an action) with
// window.dispatchEvent(new Event('sluice:refresh')).
window.addEventListener('sluice:refresh', () => {
  if (current) poll(current.gen);
});
