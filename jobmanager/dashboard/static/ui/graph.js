// The job graph as SVG: one box per task (operator chain) listing its
// operators, laid out left to right in layers (a task's layer is its
// longest path from a source), and arrows between tasks labelled with
// their partitioning. drawGraph returns an update function for the live
// numbers (state, rates, backpressure) so that polling does not redraw.

import { rate, percent } from './fmt.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 264; // box width
const HEAD = 30; // header band
const LINE = 21; // one operator
const FOOT = 46; // rates
const GAP_X = 124;
const GAP_Y = 28;
const PAD = 20;
const CHAR = 7.1; // average width of a 12.5px character, for truncation

const PARTITIONINGS = ['forward', 'hash', 'rebalance', 'broadcast'];

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

function fit(s, px) {
  const max = Math.max(3, Math.floor(px / CHAR));
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

// layout places the tasks; it returns {boxes: Map(id -> {x, y, h, task}), width, height}.
function layout(g) {
  const preds = new Map(g.tasks.map((t) => [t.id, []]));
  for (const e of g.edges) {
    if (preds.has(e.target) && preds.has(e.source)) preds.get(e.target).push(e.source);
  }
  // Tasks come in a topological order, so one pass finds each layer.
  const layer = new Map();
  for (const t of g.tasks) {
    let l = 0;
    for (const p of preds.get(t.id)) {
      if (layer.has(p)) l = Math.max(l, layer.get(p) + 1);
    }
    layer.set(t.id, l);
  }
  const columns = [];
  for (const t of g.tasks) {
    const l = layer.get(t.id);
    (columns[l] ||= []).push(t);
  }
  // Order each column by the mean position of its predecessors (fewer
  // crossings); the first column keeps the graph's order.
  const pos = new Map();
  columns.forEach((col, ci) => {
    if (ci > 0) {
      const key = (t) => {
        const ps = preds.get(t.id).filter((p) => pos.has(p));
        return ps.length ? ps.reduce((a, p) => a + pos.get(p), 0) / ps.length : Infinity;
      };
      col.sort((a, b) => key(a) - key(b));
    }
    col.forEach((t, i) => pos.set(t.id, i));
  });
  const height = (t) => HEAD + 10 + t.operators.length * LINE + FOOT;
  const colHeights = columns.map((col) => col.reduce((a, t) => a + height(t), 0) + GAP_Y * (col.length - 1));
  const tallest = Math.max(0, ...colHeights);
  const boxes = new Map();
  columns.forEach((col, ci) => {
    let y = PAD + (tallest - colHeights[ci]) / 2;
    for (const t of col) {
      const h = height(t);
      boxes.set(t.id, { x: PAD + ci * (W + GAP_X), y, h, task: t });
      y += h + GAP_Y;
    }
  });
  return { boxes, width: PAD * 2 + columns.length * W + Math.max(0, columns.length - 1) * GAP_X, height: PAD * 2 + tallest };
}

// depth of each operator in its chain's tree.
function depths(task) {
  const d = new Map();
  for (const op of task.operators) {
    d.set(op.uid, op.chainedTo && d.has(op.chainedTo) ? d.get(op.chainedTo) + 1 : 0);
  }
  return d;
}

export function drawGraph(container, g) {
  const { boxes, width, height } = layout(g);
  const svg = el('svg', {
    class: 'jobgraph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `job graph: ${g.tasks.length} tasks`,
  });
  const defs = el('defs');
  for (const p of PARTITIONINGS.concat('other')) {
    const m = el('marker', { id: `arrow-${p}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
    m.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrowhead p-${p}` }));
    defs.append(m);
  }
  svg.append(defs);

  // Edges first, under the boxes. Spread the ends of several edges leaving
  // or entering one box.
  const outs = new Map();
  const ins = new Map();
  g.edges.forEach((e, i) => {
    (outs.get(e.source) || outs.set(e.source, []).get(e.source)).push(i);
    (ins.get(e.target) || ins.set(e.target, []).get(e.target)).push(i);
  });
  const edgeLayer = el('g', { class: 'edges' });
  const labelLayer = el('g', { class: 'edge-labels' });
  g.edges.forEach((e, i) => {
    const s = boxes.get(e.source);
    const t = boxes.get(e.target);
    if (!s || !t) return;
    const so = outs.get(e.source);
    const ti = ins.get(e.target);
    const y1 = s.y + (s.h * (so.indexOf(i) + 1)) / (so.length + 1);
    const y2 = t.y + (t.h * (ti.indexOf(i) + 1)) / (ti.length + 1);
    const x1 = s.x + W;
    const x2 = t.x - 2;
    const dx = Math.max(40, (x2 - x1) / 2);
    const p = PARTITIONINGS.includes(e.partitioning) ? e.partitioning : 'other';
    const path = el('path', {
      d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`,
      class: `edge p-${p}`, 'marker-end': `url(#arrow-${p})`,
      'data-source': e.source, 'data-target': e.target, 'data-partitioning': e.partitioning,
    });
    path.append(el('title', {}, `${e.sourceOperator} → ${e.targetOperator}: ${e.partitioning}`));
    edgeLayer.append(path);
    // The label sits at the curve's midpoint (symmetric control points).
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const lw = e.partitioning.length * 6.6 + 16;
    const lg = el('g', { class: `edge-label p-${p}`, 'data-partitioning': e.partitioning });
    lg.append(el('rect', { x: mx - lw / 2, y: my - 10, width: lw, height: 20, rx: 10 }));
    lg.append(el('text', { x: mx, y: my + 4, 'text-anchor': 'middle' }, e.partitioning));
    labelLayer.append(lg);
  });
  svg.append(edgeLayer);

  const parts = new Map();
  for (const [id, b] of boxes) {
    const t = b.task;
    const gTask = el('g', { class: 'task', 'data-task': id, 'data-parallelism': t.parallelism, transform: `translate(${b.x},${b.y})` });
    gTask.append(el('title', {}, `${t.name}\ntask ${t.id}\nparallelism ${t.parallelism} (max ${t.maxParallelism})\nslot sharing group ${t.slotSharingGroup}`));
    gTask.append(el('rect', { class: 'task-box', width: W, height: b.h, rx: 8 }));
    // Header band, rounded at the top only.
    gTask.append(el('path', { class: 'task-head', d: `M0,${HEAD} V8 Q0,0 8,0 H${W - 8} Q${W},0 ${W},8 V${HEAD} Z` }));
    const dot = el('circle', { class: 'state-dot', cx: 14, cy: HEAD / 2, r: 5 });
    const stateText = el('text', { class: 'task-state', x: 25, y: HEAD / 2 + 4 }, '…');
    const par = el('text', { class: 'task-par', x: W - 12, y: HEAD / 2 + 4, 'text-anchor': 'end' }, `parallelism ${t.parallelism}`);
    gTask.append(dot, stateText, par);
    if (t.slotSharingGroup && t.slotSharingGroup !== 'default') {
      gTask.append(el('text', { class: 'task-ssg', x: W - 12, y: b.h - 8, 'text-anchor': 'end' }, `group ${fit(t.slotSharingGroup, 90)}`));
    }
    const d = depths(t);
    t.operators.forEach((op, i) => {
      const y = HEAD + 8 + i * LINE;
      const indent = Math.min(d.get(op.uid) || 0, 4) * 12;
      const row = el('g', { class: 'op', 'data-uid': op.uid, transform: `translate(${10 + indent},${y})` });
      row.append(el('title', {}, `${op.name} (${op.kind}${op.keyed ? ', keyed' : ''})\nuid ${op.uid}${op.outType ? '\nout ' + op.outType : ''}`));
      if (indent) row.append(el('path', { class: 'chain-link', d: `M-7,2 V${LINE / 2 + 1} H-2` }));
      const kind = op.kind || 'op';
      const kw = kind.length * 6.3 + 12;
      row.append(el('rect', { class: `kind k-${kind.replace(/[^a-z]/gi, '')}`, x: 0, y: 3, width: kw, height: 15, rx: 4 }));
      row.append(el('text', { class: 'kind-text', x: kw / 2, y: 14, 'text-anchor': 'middle' }, kind));
      row.append(el('text', { class: 'op-name', x: kw + 7, y: 15 }, fit(op.name, W - 20 - indent - kw - 10)));
      gTask.append(row);
    });
    gTask.append(el('line', { class: 'task-sep', x1: 0, x2: W, y1: b.h - FOOT + 4, y2: b.h - FOOT + 4 }));
    const fy = b.h - FOOT + 22;
    const rateText = (x, label, cls) => {
      const t = el('text', { x, y: fy });
      t.append(el('tspan', { class: 'rate-label' }, label));
      const v = el('tspan', { class: `rate ${cls}`, dx: 6, 'data-value': '' }, '—');
      t.append(v);
      gTask.append(t);
      return v;
    };
    const rin = rateText(12, 'in', 'rate-in');
    const rout = rateText(W / 2 + 4, 'out', 'rate-out');
    const bp = el('text', { class: 'bp', x: 12, y: fy + 16 }, '');
    gTask.append(bp);
    parts.set(id, { g: gTask, stateText, rin, rout, bp });
    svg.append(gTask);
  }
  svg.append(labelLayer);
  container.replaceChildren(svg);

  // update takes, per task id, {state, running, total, in, out, backpressure}.
  return function update(stats) {
    for (const [id, p] of parts) {
      const s = stats.get(id);
      if (!s) {
        delete p.g.dataset.state;
        p.stateText.textContent = 'not deployed';
        continue;
      }
      p.g.dataset.state = s.state;
      // "running 2/2" while it runs; a state all its subtasks share alone;
      // otherwise how many of them run.
      p.stateText.textContent =
        s.state === 'running' ? `running ${s.running}/${s.total}` : s.uniform ? s.state : `${s.state} · ${s.running}/${s.total} running`;
      p.rin.textContent = s.in === null ? '—' : rate(s.in);
      p.rin.dataset.value = s.in === null ? '' : String(s.in);
      p.rout.textContent = s.out === null ? '—' : rate(s.out);
      p.rout.dataset.value = s.out === null ? '' : String(s.out);
      if (s.backpressure !== null && s.backpressure !== undefined) {
        p.bp.textContent = `backpressure ${percent(s.backpressure)}`;
        p.bp.dataset.level = s.backpressure >= 0.5 ? 'high' : s.backpressure >= 0.1 ? 'low' : 'ok';
      } else {
        p.bp.textContent = '';
      }
    }
  };
}

