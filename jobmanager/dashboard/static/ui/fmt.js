// Formatting and safe HTML building.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]);
}

// Raw marks a string as HTML already.
class Raw {
  constructor(s) { this.s = s; }
  toString() { return this.s; }
}
export const raw = (s) => new Raw(s);

// html`...${v}...` escapes every interpolated value except Raw ones and
// arrays (whose items follow the same rule), and returns Raw.
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Raw(out);
}

function render(v) {
  if (v instanceof Raw) return v.s;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

// A Go zero time (omitted, or year 1) is no time.
export function isTime(iso) {
  return !!iso && !iso.startsWith('0001-');
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

export function time(iso) {
  if (!isTime(iso)) return '—';
  const d = new Date(iso);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

export function fullTime(iso) {
  if (!isTime(iso)) return '';
  return new Date(iso).toISOString();
}

export function duration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '—';
  ms = Math.max(0, ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// since is how long ago iso was, or the span from start to end.
export function span(start, end) {
  if (!isTime(start)) return '—';
  const e = isTime(end) ? new Date(end) : new Date();
  return duration(e - new Date(start));
}

export function ago(iso) {
  if (!isTime(iso)) return '—';
  const ms = Date.now() - new Date(iso);
  if (ms < 1000) return 'just now';
  return `${duration(ms)} ago`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function count(n) {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString('en-US');
}

// rate formats records per second.
export function rate(r) {
  if (r === null || r === undefined || !isFinite(r)) return '—';
  if (r === 0) return '0/s';
  if (r < 10) return `${r.toFixed(1)}/s`;
  if (r < 10000) return `${Math.round(r).toLocaleString('en-US')}/s`;
  if (r < 1e6) return `${(r / 1e3).toFixed(1)}k/s`;
  return `${(r / 1e6).toFixed(2)}M/s`;
}

export function percent(x) {
  if (x === null || x === undefined || !isFinite(x)) return '—';
  return `${Math.round(x * 100)}%`;
}

export function badge(state, extra = '') {
  const s = String(state || 'unknown');
  return html`<span class="badge s-${s.replace(/[^a-z_]/gi, '')}${extra ? ' ' + extra : ''}" data-state="${s}">${s.replace('_', ' ')}</span>`;
}

export function shortID(id) {
  return id && id.length > 12 ? id.slice(0, 8) : id;
}
