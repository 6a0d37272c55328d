// Autopilot web app: hash routes (#/, #/model/ID[/tab], #/compare/A/B, #/predict), the JSON
// API of `autopilot serve`, no framework. Everything the page shows comes from /api/*.
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const main = $('#main');
const state = { lb: null, sort: { key: 'cv', metric: 'balanced_accuracy', desc: true }, selected: [], version: null, filterList: '', filterFamily: '' };

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function fmt(v, d = 4) { return v === null || v === undefined ? '' : Number(v).toFixed(d); }
function showError(msg) { const e = $('#error'); e.textContent = msg; e.hidden = !msg; }

async function api(path, opts = {}) {
  opts.headers = Object.assign({}, opts.headers || {});
  if (opts.method && opts.method !== 'GET') opts.headers['x-autopilot-request'] = '1';
  const r = await fetch(path, opts);
  const ct = r.headers.get('content-type') || '';
  const body = ct.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const msg = (body && body.error) || String(body) || r.statusText;
    throw new Error(msg);
  }
  return body;
}

// ---------- routing ----------
async function route() {
  showError('');
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'model' && parts[1]) await modelPage(parts[1], parts[2] || 'overview');
    else if (parts[0] === 'compare' && parts[2]) await comparePage(parts[1], parts[2]);
    else if (parts[0] === 'predict') await predictPage();
    else await leaderboardPage();
  } catch (e) { showError(e.message); }
}
window.addEventListener('hashchange', route);

// ---------- live status ----------
async function poll() {
  try {
    const s = await api('/api/status');
    $('#writer').textContent = s.writer ? `training in progress: ${s.writer}` : (s.tuning ? 'tuning in progress' : '');
    if (state.version !== null && s.version !== state.version && document.body.dataset.page === 'leaderboard') {
      await refreshLeaderboard();
    }
    state.version = s.version;
  } catch (e) { /* the next poll retries */ }
}
setInterval(poll, 1500);

// ---------- leaderboard ----------
function score(row, key, metric) {
  const s = key === 'validation' ? row.validation : key === 'cv' ? row.cv_mean : key === 'holdout' ? row.holdout : null;
  if (key === 'fit') return row.fit_seconds;
  if (key === 'predict') return row.predict_seconds_per_1000;
  if (key === 'id') return Number(String(row.model_id).replace(/\D/g, ''));
  return s ? s[metric] : undefined;
}

function sortedRows() {
  const { key, metric, desc } = state.sort;
  const rows = state.lb.rows.filter(r =>
    (!state.filterList || r.feature_list === state.filterList) && (!state.filterFamily || r.family === state.filterFamily));
  return rows.slice().sort((a, b) => {
    const x = score(a, key, metric), y = score(b, key, metric);
    if (x === undefined && y === undefined) return 0;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return desc ? y - x : x - y;
  });
}

async function leaderboardPage() {
  document.body.dataset.page = 'leaderboard';
  await refreshLeaderboard();
}

async function refreshLeaderboard() {
  const first = !state.lb;
  state.lb = await api('/api/leaderboard');
  // Rank by the project's metric (RMSE for regression, AUC for binary) until the user picks one.
  if (first && state.lb.metric) { state.sort.metric = state.lb.metric; state.sort.desc = higherIsBetter(); }
  $('#project').textContent = `${state.lb.project} — target ${state.lb.target}`;
  if (document.body.dataset.page === 'leaderboard') renderLeaderboard();
}

function renderLeaderboard() {
  const lb = state.lb;
  const { key, metric, desc } = state.sort;
  const lists = [...new Set(lb.rows.map(r => r.feature_list))].sort();
  const fams = [...new Set(lb.rows.map(r => r.family))].sort();
  const opt = (vals, cur) => ['<option value="">all</option>'].concat(vals.map(v => `<option value="${esc(v)}" ${v === cur ? 'selected' : ''}>${esc(v)}</option>`)).join('');
  const th = (k, label) => `<th data-sort="${k}" class="${k === key ? 'sorted' : ''}">${label}${k === key ? (desc ? ' ▼' : ' ▲') : ''}</th>`;
  const rows = sortedRows();
  main.innerHTML = `
    <div class="toolbar">
      <label>Metric <select id="lb-metric">${lb.metrics.map(m => `<option ${m.name === metric ? 'selected' : ''}>${m.name}</option>`).join('')}</select></label>
      <label>Feature list <select id="lb-list">${opt(lists, state.filterList)}</select></label>
      <label>Blueprint family <select id="lb-family">${opt(fams, state.filterFamily)}</select></label>
      <button id="lb-compare" ${state.selected.length === 2 ? '' : 'disabled'}>Compare selected (${state.selected.length}/2)</button>
      ${lb.holdout_unlocked ? '<span class="muted">holdout unlocked</span>' : '<button id="lb-unlock">Unlock holdout…</button>'}
      <span id="lb-count">${rows.length} of ${lb.rows.length} models</span>
    </div>
    <table id="lb-table"><thead><tr><th></th>${th('id', 'Model')}<th>Blueprint</th><th>Feature list</th><th>Sample %</th>
      ${th('validation', 'Validation')}${th('cv', 'Cross-validation')}${th('holdout', 'Holdout')}${th('fit', 'Fit s')}${th('predict', 'Predict s/1000')}<th>Parent</th></tr></thead>
    <tbody>${rows.map(r => {
      const folds = (r.cv_folds || []).map((f, i) => `fold ${i}: ${fmt(f[metric])}`).join('\n');
      const hold = r.holdout ? fmt(r.holdout[metric]) : (r.holdout_scored ? '<span class="muted">locked</span>' : '');
      return `<tr data-id="${esc(r.model_id)}" class="${r.model_id === lb.best ? 'best' : ''}">
        <td><input type="checkbox" class="lb-select" value="${esc(r.model_id)}" ${state.selected.includes(r.model_id) ? 'checked' : ''}></td>
        <td><a href="#/model/${encodeURIComponent(r.model_id)}">${esc(r.model_id)}</a>${r.model_id === lb.best ? ' ★' : ''}</td>
        <td>${esc(r.blueprint)}</td><td>${esc(r.feature_list)}</td><td class="num">${fmt(r.sample_pct, 0)}</td>
        <td class="num v-validation">${fmt(r.validation[metric])}</td>
        <td class="num v-cv" title="${esc(folds)}">${r.cv_mean ? fmt(r.cv_mean[metric]) : ''}</td>
        <td class="num v-holdout">${hold}</td>
        <td class="num">${fmt(r.fit_seconds, 2)}</td><td class="num">${fmt(r.predict_seconds_per_1000, 3)}</td>
        <td>${r.parent ? `<a href="#/model/${encodeURIComponent(r.parent)}">${esc(r.parent)}</a>` : ''}</td></tr>`;
    }).join('')}</tbody></table>`;
  $$('th[data-sort]').forEach(h => h.addEventListener('click', () => {
    const k = h.dataset.sort;
    if (state.sort.key === k) state.sort.desc = !state.sort.desc;
    else { state.sort.key = k; state.sort.desc = !['fit', 'predict', 'id'].includes(k) ? higherIsBetter() : false; }
    renderLeaderboard();
  }));
  $('#lb-metric').addEventListener('change', e => { state.sort.metric = e.target.value; state.sort.desc = higherIsBetter(); renderLeaderboard(); });
  $('#lb-list').addEventListener('change', e => { state.filterList = e.target.value; renderLeaderboard(); });
  $('#lb-family').addEventListener('change', e => { state.filterFamily = e.target.value; renderLeaderboard(); });
  $$('.lb-select').forEach(c => c.addEventListener('change', () => {
    state.selected = state.selected.filter(x => x !== c.value);
    if (c.checked) state.selected.push(c.value);
    if (state.selected.length > 2) state.selected.shift();
    renderLeaderboard();
  }));
  $('#lb-compare').addEventListener('click', () => { location.hash = `#/compare/${state.selected[0]}/${state.selected[1]}`; });
  const unlock = $('#lb-unlock');
  if (unlock) unlock.addEventListener('click', async () => {
    if (!confirm('Unlock the holdout? Its scores are then shown for every model, permanently for this project.')) return;
    try { await api('/api/holdout/unlock', { method: 'POST' }); await refreshLeaderboard(); } catch (e) { showError(e.message); }
  });
}
function higherIsBetter() { const m = state.lb.metrics.find(m => m.name === state.sort.metric); return !m || m.higher_is_better; }

// ---------- model page ----------
const TABS = [['overview', 'Overview'], ['confusion', 'Confusion / fit'], ['impact', 'Feature Impact'], ['embeddings', 'Image embeddings'], ['maps', 'Activation maps'], ['words', 'Word clouds'], ['tune', 'Advanced tuning']];

async function modelPage(id, tab) {
  document.body.dataset.page = 'model';
  const m = await api(`/api/models/${encodeURIComponent(id)}`);
  const r = m.row;
  main.innerHTML = `<h2>${esc(id)}: ${esc(r.blueprint)}</h2>
    <div class="tabs">${TABS.map(([k, l]) => `<a href="#/model/${encodeURIComponent(id)}/${k}" class="${k === tab ? 'active' : ''}" data-tab="${k}">${l}</a>`).join('')}</div>
    <div id="tab"><p>Loading…</p></div>`;
  const el = $('#tab');
  const render = { overview: overviewTab, confusion: confusionTab, impact: impactTab, embeddings: embeddingsTab, maps: mapsTab, words: wordsTab, tune: tuneTab }[tab] || overviewTab;
  await render(el, id, m);
}

function diagramHtml(d) {
  if (!d) return '<p class="muted">No saved blueprint (a stage model or the baseline).</p>';
  if (d.members) return `<div class="diagram"><div class="col">${d.members.map(x => `<div class="box"><a href="#/model/${x}">${esc(x)}</a></div>`).join('')}</div><div class="arrow">→</div><div class="box est">${esc(d.estimator)}</div></div>`;
  return `<div class="diagram" id="diagram">
    <div class="col">${d.inputs.map(i => `<div class="box">${esc(i.column)} <span class="muted">${esc(i.kind || '')}</span></div>`).join('')}</div>
    <div class="arrow">→</div>
    <div class="col">${d.featurizers.map(f => `<div class="box">${esc(f.block)}</div>`).join('')}</div>
    <div class="arrow">→</div>
    <div class="box est">${esc(d.estimator)}</div></div>
    <p class="muted">Feature list: ${esc(d.feature_list)}</p>`;
}

function scoresTable(r) {
  const metrics = Object.keys(r.validation || {});
  const line = (label, s) => s ? `<tr><td>${label}</td>${metrics.map(k => `<td class="num">${fmt(s[k])}</td>`).join('')}</tr>` : '';
  return `<table id="folds"><thead><tr><th></th>${metrics.map(k => `<th>${k}</th>`).join('')}</tr></thead><tbody>
    ${(r.cv_folds || []).map((f, i) => line(`fold ${i}`, f)).join('')}
    ${line('CV mean', r.cv_mean)}${line('CV std', r.cv_std)}${line('validation', r.validation)}${line('holdout', r.holdout)}</tbody></table>`;
}

async function overviewTab(el, id, m) {
  const r = m.row;
  const params = Object.entries(r.params || {});
  el.innerHTML = `<h3>Blueprint</h3>${diagramHtml(m.diagram)}
    <h3>Parameters</h3><table id="params"><tbody>${params.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('') || '<tr><td class="muted">none</td></tr>'}</tbody></table>
    <h3>Scores per fold</h3>${scoresTable(r)}
    <p>Fit ${fmt(r.fit_seconds, 2)} s per fold · predict ${fmt(r.predict_seconds_per_1000, 3)} s per 1,000 rows ${r.parent ? `· parent <a href="#/model/${r.parent}">${esc(r.parent)}</a>` : ''}</p>
    <h3>Per-class precision and recall</h3><div id="perclass"><p class="muted">Loading…</p></div>`;
  try {
    const c = await api(`/api/models/${encodeURIComponent(id)}/insights/confusion`);
    $('#perclass').innerHTML = c.cv ? perClassTable(c.cv) : `<p class="muted">${esc(c.notes.join(' '))}</p>`;
  } catch (e) { $('#perclass').innerHTML = `<p class="muted">${esc(e.message)}</p>`; }
}

function perClassTable(c) {
  return `<table class="perclass"><thead><tr><th>Class</th><th>Support</th><th>Precision</th><th>Recall</th></tr></thead><tbody>
    ${c.per_class.map(p => `<tr><td>${esc(p.class)}</td><td class="num">${p.support}</td><td class="num">${fmt(p.precision, 3)}</td><td class="num">${fmt(p.recall, 3)}</td></tr>`).join('')}</tbody></table>`;
}

// A small SVG chart of point series [{name, points: [[x, y]], dots, dashed}], axes fitted to the data.
function chartSvg(series, xLabel, yLabel) {
  const all = series.flatMap(s => s.points);
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const W = 420, H = 300, L = 48, B = 36;
  const sx = x => L + (x - x0) / ((x1 - x0) || 1) * (W - L - 10);
  const sy = y => H - B - (y - y0) / ((y1 - y0) || 1) * (H - B - 10);
  const colours = ['#1565c0', '#c62828', '#2e7d32'];
  const body = series.map((s, i) => s.dots
    ? s.points.map(p => `<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="2" fill="${colours[i % 3]}" opacity="0.5"/>`).join('')
    : `<polyline fill="none" stroke="${s.dashed ? '#888' : colours[i % 3]}" ${s.dashed ? 'stroke-dasharray="4 3"' : ''} stroke-width="2" points="${s.points.map(p => `${sx(p[0])},${sy(p[1])}`).join(' ')}"/>`).join('');
  const legend = series.map((s, i) => `<tspan fill="${s.dashed ? '#888' : colours[i % 3]}">${esc(s.name)}</tspan>`).join(' · ');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
    <line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="#444"/><line x1="${L}" y1="10" x2="${L}" y2="${H - B}" stroke="#444"/>
    <text x="${L}" y="${H - B + 14}" font-size="11">${fmt(x0, 2)}</text><text x="${W - 10}" y="${H - B + 14}" font-size="11" text-anchor="end">${fmt(x1, 2)}</text>
    <text x="${L - 4}" y="${H - B}" font-size="11" text-anchor="end">${fmt(y0, 2)}</text><text x="${L - 4}" y="18" font-size="11" text-anchor="end">${fmt(y1, 2)}</text>
    <text x="${(W + L) / 2}" y="${H - 4}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>
    <text x="12" y="${(H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${(H - B) / 2})">${esc(yLabel)}</text>
    ${body}<text x="${L + 6}" y="24" font-size="11">${legend}</text></svg>`;
}

function liftRows(lift) {
  return lift.map((b, i) => [i + 1, b.mean_predicted, b.mean_actual]);
}

// A regression's fits (predicted vs actual, lift) or a binary model's ROC, precision-recall and lift.
function taskCharts(c) {
  let html = '';
  for (const f of c.regression || []) {
    const lo = Math.min(...f.points.flat()), hi = Math.max(...f.points.flat());
    html += `<h3>${esc(f.source)}</h3><p id="regression-summary">${f.n} rows, RMSE ${fmt(f.rmse, 4)}, MAE ${fmt(f.mae, 4)}, R² ${f.r2 == null ? '–' : fmt(f.r2, 4)}, mean residual ${fmt(f.mean_residual, 4)}</p>
      <div class="charts">${chartSvg([{ name: 'rows', points: f.points.slice(0, 2000), dots: true }, { name: 'predicted = actual', points: [[lo, lo], [hi, hi]], dashed: true }], 'actual', 'predicted')}
      ${chartSvg([{ name: 'predicted', points: liftRows(f.lift).map(r => [r[0], r[1]]) }, { name: 'actual', points: liftRows(f.lift).map(r => [r[0], r[2]]) }], 'bin by prediction (low → high)', 'mean value')}</div>`;
  }
  if (c.roc) {
    const r = c.roc, t = r.threshold;
    html += `<h3>ROC, precision-recall and lift</h3><p id="roc-summary">Positive class <b>${esc(r.positive)}</b>: AUC ${fmt(r.auc, 4)}${t ? `, decision threshold ${fmt(t.value, 3)} (F1 ${fmt(t.f1, 3)}; the matrix above is at this threshold)` : ''}</p>
      <div class="charts">${chartSvg([{ name: `ROC, AUC ${fmt(r.auc, 3)}`, points: r.points }, { name: 'chance', points: [[0, 0], [1, 1]], dashed: true }], 'false positive rate', 'true positive rate')}
      ${chartSvg([{ name: 'precision-recall', points: r.precision_recall }], 'recall', 'precision')}
      ${chartSvg([{ name: 'mean p', points: liftRows(r.lift).map(x => [x[0], x[1]]) }, { name: 'positive rate', points: liftRows(r.lift).map(x => [x[0], x[2]]) }], 'bin by probability (low → high)', `share of ${r.positive}`)}</div>`;
  }
  return html;
}

async function confusionTab(el, id) {
  const c = await api(`/api/models/${encodeURIComponent(id)}/insights/confusion`);
  if (!c.cv) {
    const charts = taskCharts(c);
    el.innerHTML = charts || `<p class="muted">${esc(c.notes.join(' '))}</p>`;
    return;
  }
  const m = c.cv;
  const max = Math.max(1, ...m.counts.flat());
  el.innerHTML = `<p>${esc(m.source)}: ${m.n} rows, accuracy ${fmt(m.accuracy, 3)}, balanced accuracy ${fmt(m.balanced_accuracy, 3)}. Rows: actual class; columns: predicted. Click a cell to list its rows.</p>
    <table id="confusion"><thead><tr><th>actual \\ predicted</th>${m.classes.map(k => `<th>${esc(k)}</th>`).join('')}</tr></thead><tbody>
    ${m.counts.map((row, a) => `<tr><th>${esc(m.classes[a])}</th>${row.map((n, p) => {
      const t = n / max, bg = a === p ? `rgba(46,125,50,${0.15 + 0.7 * t})` : `rgba(198,40,40,${n ? 0.1 + 0.7 * t : 0})`;
      return `<td class="cell" data-a="${a}" data-p="${p}" style="background:${bg}">${n}</td>`;
    }).join('')}</tr>`).join('')}</tbody></table>
    ${c.holdout ? `<h3>Holdout</h3><p>${c.holdout.n} rows, balanced accuracy ${fmt(c.holdout.balanced_accuracy, 3)}</p>` : ''}
    <h3>Per-class precision and recall</h3>${perClassTable(m)}
    ${taskCharts(c)}
    <h3 id="cell-title"></h3><div id="cell-rows" class="rows-list"></div>`;
  $$('#confusion td.cell').forEach(td => td.addEventListener('click', async () => {
    $$('#confusion td.cell').forEach(x => x.classList.remove('selected'));
    td.classList.add('selected');
    const a = m.classes[td.dataset.a], p = m.classes[td.dataset.p];
    const res = await api(`/api/models/${encodeURIComponent(id)}/rows?actual=${encodeURIComponent(a)}&predicted=${encodeURIComponent(p)}`);
    $('#cell-title').textContent = `Actual ${a}, predicted ${p}: ${res.total} rows`;
    $('#cell-rows').innerHTML = res.rows.map(rowCard).join('');
  }));
}

function rowCard(r) {
  return `<div class="rowcard" data-row="${r.row}">${r.image ? `<img src="/api/image/${r.row}?size=128" alt="row ${r.file_row ?? r.row}">` : ''}
    <div>row ${r.file_row ?? r.row}: <b>${esc(r.actual)}</b> → ${esc(r.predicted)} (${fmt(r.probability, 2)})</div>
    ${Object.entries(r.cells || {}).map(([k, v]) => `<div class="muted">${esc(k)}: ${esc(v)}</div>`).join('')}</div>`;
}

async function impactTab(el, id) {
  const f = await api(`/api/models/${encodeURIComponent(id)}/insights/feature_impact`);
  if (!f.feature_impact) { el.innerHTML = `<p class="muted">${esc(f.notes.join(' '))}</p>`; return; }
  const fi = f.feature_impact;
  el.innerHTML = `<p>Permutation importance (${esc(fi.metric)}, ${fi.repeats} repeats, ${fi.n_rows} rows)${f.explained_by && f.explained_by !== id ? ` of member ${esc(f.explained_by)}` : ''}.</p>
    <table id="impact"><tbody>${fi.columns.map(c => `<tr><td>${esc(c.column)} <span class="muted">${esc(c.kind)}</span></td>
      <td style="width:320px"><div class="bar" style="width:${Math.max(0, c.impact) * 100}%"></div></td><td class="num">${fmt(c.impact, 3)} ± ${fmt(c.impact_std, 3)}</td></tr>`).join('')}</tbody></table>`;
}

// ---------- image embeddings ----------
const CLASS_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const colour = k => CLASS_COLOURS[k % CLASS_COLOURS.length];

async function embeddingsTab(el, id) {
  el.innerHTML = '<p>Computing the t-SNE map (once per model)…</p>';
  const e = await api(`/api/models/${encodeURIComponent(id)}/insights/embeddings`);
  if (!e.embeddings.length) { el.innerHTML = `<p class="muted">${esc(e.notes.join(' '))}</p>`; return; }
  const emb = e.embeddings[0], classes = e.classes;
  const W = 760, H = 560, S = 26;
  const xs = emb.points.map(p => p.x), ys = emb.points.map(p => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = x => 20 + (x - x0) / ((x1 - x0) || 1) * (W - 40 - S), sy = y => 20 + (y - y0) / ((y1 - y0) || 1) * (H - 40 - S);
  const checks = (cls, name) => classes.map((k, i) => `<label><input type="checkbox" class="${cls}" value="${i}" checked> <span style="color:${colour(i)}">■</span> ${esc(k)}</label>`).join('');
  el.innerHTML = `<p>t-SNE of the ${esc(emb.backbone)} features of '${esc(emb.column)}'. Wheel: zoom · drag: pan · shift-drag: select a box · frame colour: actual class.</p>
    <div class="filters"><div><b>Actual</b> ${checks('f-actual')}</div><div><b>Predicted</b> ${checks('f-pred')}</div></div>
    <p><span id="emb-count"></span> <button id="emb-reset">Reset view</button></p>
    <div id="emb-wrap"><svg id="emb-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
      <g id="emb-view" transform="translate(0,0) scale(1)">${emb.points.map((p, i) => `<g class="pt" data-i="${i}" data-row="${p.row}" data-actual="${p.actual}" data-pred="${p.predicted ?? ''}" transform="translate(${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)})">
        <rect width="${S}" height="${S}" fill="none" stroke="${colour(p.actual)}" stroke-width="3"></rect>
        <image href="/api/image/${p.row}?size=48" width="${S}" height="${S}"></image></g>`).join('')}</g>
      <rect id="emb-box" fill="rgba(31,59,87,.15)" stroke="#1f3b57" visibility="hidden"></rect></svg>
      <div id="emb-tip" hidden></div></div>
    <h3 id="emb-sel-title"></h3><div id="emb-selection" class="rows-list"></div>`;
  const svg = $('#emb-svg'), view = $('#emb-view'), tip = $('#emb-tip');
  let t = { x: 0, y: 0, k: 1 };
  const apply = () => view.setAttribute('transform', `translate(${t.x.toFixed(2)},${t.y.toFixed(2)}) scale(${t.k.toFixed(4)})`);
  const update = () => {
    const a = new Set($$('.f-actual:checked').map(c => c.value)), p = new Set($$('.f-pred:checked').map(c => c.value));
    let n = 0;
    $$('.pt', view).forEach(g => { const on = a.has(g.dataset.actual) && (g.dataset.pred === '' || p.has(g.dataset.pred)); g.style.display = on ? '' : 'none'; n += on; });
    $('#emb-count').textContent = `${n} of ${emb.points.length} images shown`;
    $('#emb-count').dataset.n = n;
  };
  $$('.f-actual, .f-pred').forEach(c => c.addEventListener('change', update));
  update();
  $('#emb-reset').addEventListener('click', () => { t = { x: 0, y: 0, k: 1 }; apply(); });
  svg.addEventListener('wheel', ev => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    const f = Math.exp(-ev.deltaY * 0.0015), k = Math.min(40, Math.max(0.2, t.k * f));
    t.x = mx - (mx - t.x) * (k / t.k); t.y = my - (my - t.y) * (k / t.k); t.k = k; apply();
  }, { passive: false });
  let drag = null;
  svg.addEventListener('mousedown', ev => {
    const r = svg.getBoundingClientRect();
    drag = { sx: ev.clientX, sy: ev.clientY, x: t.x, y: t.y, box: ev.shiftKey, ox: ev.clientX - r.left, oy: ev.clientY - r.top };
  });
  window.addEventListener('mousemove', ev => {
    if (!drag) return;
    if (drag.box) {
      const r = svg.getBoundingClientRect(), b = $('#emb-box');
      const cx = ev.clientX - r.left, cy = ev.clientY - r.top;
      b.setAttribute('x', Math.min(cx, drag.ox)); b.setAttribute('y', Math.min(cy, drag.oy));
      b.setAttribute('width', Math.abs(cx - drag.ox)); b.setAttribute('height', Math.abs(cy - drag.oy));
      b.setAttribute('visibility', 'visible');
    } else { t.x = drag.x + ev.clientX - drag.sx; t.y = drag.y + ev.clientY - drag.sy; apply(); }
  });
  window.addEventListener('mouseup', ev => {
    if (drag && drag.box) {
      const b = $('#emb-box').getBoundingClientRect();
      const chosen = $$('.pt', view).filter(g => g.style.display !== 'none').filter(g => {
        const q = g.getBoundingClientRect(), cx = q.left + q.width / 2, cy = q.top + q.height / 2;
        return cx >= b.left && cx <= b.right && cy >= b.top && cy <= b.bottom;
      }).map(g => emb.points[g.dataset.i]);
      $('#emb-box').setAttribute('visibility', 'hidden');
      $('#emb-sel-title').textContent = `${chosen.length} images selected`;
      $('#emb-selection').innerHTML = chosen.map(p => rowCard({ row: p.row, file_row: p.file_row, image: true, actual: classes[p.actual], predicted: p.predicted === null ? '?' : classes[p.predicted], probability: p.probability })).join('');
    }
    drag = null;
  });
  $$('.pt', view).forEach(g => {
    g.addEventListener('mouseenter', ev => {
      const p = emb.points[g.dataset.i];
      const pred = p.predicted === null ? 'no prediction' : `${classes[p.predicted]} (${fmt(p.probability, 2)})`;
      tip.innerHTML = `<img src="/api/image/${p.row}?size=256" alt=""><div>row ${p.file_row ?? p.row}</div><div class="tip-actual">actual: <b>${esc(classes[p.actual])}</b></div><div class="tip-pred ${p.predicted !== p.actual ? 'wrong' : ''}">predicted: ${esc(pred)}</div>`;
      const r = $('#emb-wrap').getBoundingClientRect();
      tip.style.left = `${Math.min(ev.clientX - r.left + 16, 560)}px`; tip.style.top = `${ev.clientY - r.top + 16}px`;
      tip.hidden = false;
    });
    g.addEventListener('mouseleave', () => { tip.hidden = true; });
  });
}

// ---------- activation maps ----------
async function mapsTab(el, id) {
  el.innerHTML = '<p>Computing activation maps (once per model)…</p>';
  const a = await api(`/api/models/${encodeURIComponent(id)}/insights/activation_maps`);
  if (!a.maps.length) { el.innerHTML = `<p class="muted">${esc(a.notes.join(' '))}</p>`; return; }
  const classes = a.classes;
  const opts = ['<option value="">all</option>'].concat(classes.map(k => `<option value="${esc(k)}">${esc(k)}</option>`)).join('');
  el.innerHTML = `<div class="toolbar"><label>Actual <select id="m-actual">${opts}</select></label><label>Predicted <select id="m-pred">${opts}</select></label>
    <label>Result <select id="m-right"><option value="">all</option><option value="right">right</option><option value="wrong">wrong</option></select></label>
    <label>View <select id="m-view"><option value="overlay">colour overlay</option><option value="bw">black and white</option></select></label>
    <span id="m-count"></span></div><p class="muted">${esc(a.maps[0].method)} · ${esc(a.notes.join(' '))}</p><div class="maps" id="maps"></div>`;
  const render = () => {
    const fa = $('#m-actual').value, fp = $('#m-pred').value, fr = $('#m-right').value, v = $('#m-view').value;
    const shown = a.maps.map((m, i) => [m, i]).filter(([m]) => (!fa || m.actual === fa) && (!fp || m.predicted === fp) && (!fr || (fr === 'right') === (m.actual === m.predicted)));
    $('#m-count').textContent = `${shown.length} of ${a.maps.length} images`;
    $('#maps').innerHTML = shown.map(([m, i]) => `<figure data-i="${i}"><img src="/api/models/${encodeURIComponent(id)}/maps/${i}/${v}" alt="">
      <figcaption>${esc(m.actual)} → <span class="${m.actual !== m.predicted ? 'wrong' : ''}">${esc(m.predicted)}</span> (${fmt(m.probability, 2)})</figcaption></figure>`).join('');
    $$('#maps figure').forEach(f => f.addEventListener('click', () => {
      const i = f.dataset.i, m = a.maps[i];
      const modal = $('#modal');
      modal.innerHTML = `<div class="inner"><figure><img src="/api/models/${encodeURIComponent(id)}/maps/${i}/image" alt=""><figcaption>original (row ${m.file_row ?? m.row})</figcaption></figure>
        <figure><img src="/api/models/${encodeURIComponent(id)}/maps/${i}/${v}" alt=""><figcaption>${esc(m.actual)} → ${esc(m.predicted)} (${fmt(m.probability, 2)})</figcaption></figure></div>`;
      modal.hidden = false;
    }));
  };
  ['#m-actual', '#m-pred', '#m-right', '#m-view'].forEach(s => $(s).addEventListener('change', render));
  render();
}
$('#modal').addEventListener('click', () => { $('#modal').hidden = true; });

// ---------- word clouds ----------
function coefColour(v) { // blue (-1) → grey (0) → red (+1)
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? [Math.round(120 + 120 * t), Math.round(120 + 40 * t), Math.round(120 + 135 * -t)] : [Math.round(120 + 135 * t), Math.round(120 - 80 * t), Math.round(120 - 80 * t)];
  return `rgb(${c.join(',')})`;
}

async function wordsTab(el, id) {
  const w = await api(`/api/models/${encodeURIComponent(id)}/insights/word_clouds`);
  if (!w.word_clouds.length) { el.innerHTML = `<p class="muted">${esc(w.notes.join(' '))}</p>`; return; }
  el.innerHTML = w.word_clouds.map((wc, ci) => `<h3>'${esc(wc.column)}' (${wc.n_docs} documents, ${wc.n_terms} terms)</h3>
    ${wc.classes.map((cl, k) => {
      const maxf = Math.max(1, ...cl.words.map(x => x.frequency));
      return `<h4>Class ${esc(cl.class)}</h4><div class="cloud">${cl.words.map(x => `<span style="font-size:${(11 + 22 * Math.sqrt(x.frequency / maxf)).toFixed(0)}px;color:${coefColour(x.scaled)}" title="coefficient ${fmt(x.coefficient, 3)}, in ${x.frequency} documents">${esc(x.ngram)}</span>`).join('')}</div>
      <table class="words" data-c="${ci}" data-k="${k}"><thead><tr><th data-sort="ngram">n-gram</th><th data-sort="coefficient">coefficient</th><th data-sort="frequency">frequency</th></tr></thead><tbody></tbody></table>`;
    }).join('')}`).join('');
  $$('table.words').forEach(tbl => {
    const words = w.word_clouds[tbl.dataset.c].classes[tbl.dataset.k].words.slice();
    let key = 'coefficient', desc = true;
    const render = () => {
      words.sort((a, b) => { const x = a[key], y = b[key]; const o = typeof x === 'string' ? x.localeCompare(y) : x - y; return desc ? -o : o; });
      $('tbody', tbl).innerHTML = words.map(x => `<tr><td>${esc(x.ngram)}</td><td class="num">${fmt(x.coefficient, 3)}</td><td class="num">${x.frequency}</td></tr>`).join('');
    };
    $$('th', tbl).forEach(h => h.addEventListener('click', () => { if (key === h.dataset.sort) desc = !desc; else { key = h.dataset.sort; desc = key !== 'ngram'; } render(); }));
    render();
  });
}

// ---------- advanced tuning ----------
function paramInput(p) {
  const d = p.domain;
  if (d === 'Bool') return `<select name="${esc(p.name)}">${['true', 'false'].map(v => `<option ${v === p.value ? 'selected' : ''}>${v}</option>`).join('')}</select>`;
  if (d.Choice) return `<select name="${esc(p.name)}">${d.Choice.map(v => `<option value="${esc(v)}" ${v === p.value ? 'selected' : ''}>${esc(v)}</option>`).join('')}</select>`;
  if (d.Int) return `<input type="number" step="1" min="${d.Int.min}" max="${d.Int.max}" name="${esc(p.name)}" value="${esc(p.value)}">`;
  if (d.Float) return `<input type="text" name="${esc(p.name)}" value="${esc(p.value)}" title="${d.Float.min} … ${d.Float.max}">`;
  return `<input type="text" name="${esc(p.name)}" value="${esc(p.value)}">`;
}
function domainText(d) {
  if (d === 'Bool') return 'true/false';
  if (d.Choice) return d.Choice.join(', ');
  if (d.Int) return `${d.Int.min} … ${d.Int.max}`;
  if (d.Float) return `${d.Float.min} … ${d.Float.max}${d.Float.log ? ' (log)' : ''}`;
  return '';
}

async function tuneTab(el, id, m) {
  if (!m.tunable) { el.innerHTML = `<p class="muted">${esc(m.not_tunable || 'not tunable')}</p>`; return; }
  el.innerHTML = `<p>Change parameters and retrain ${esc(id)} on the project's folds; the new model joins the leaderboard with ${esc(id)} as its parent.</p>
    <form class="tune" id="tune-form">${m.tunable.map(p => `<label title="${esc(p.help)}"><span class="name">${esc(p.name)}</span> ${paramInput(p)} <span class="muted">${esc(domainText(p.domain))}</span></label>`).join('')}
    <button type="submit" id="tune-submit">Train</button></form><h3>Jobs</h3><div id="jobs"></div>`;
  $('#tune-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const set = {};
    m.tunable.forEach(p => { const v = ev.target.elements[p.name].value.trim(); if (v !== p.value) set[p.name] = v; });
    try {
      await api('/api/tune', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: id, set }) });
      watchJobs();
    } catch (e) { showError(e.message); }
  });
  watchJobs();
}

async function watchJobs() {
  const el = $('#jobs');
  if (!el) return;
  const jobs = await api('/api/jobs');
  el.innerHTML = jobs.map(j => {
    const last = j.events.length ? j.events[j.events.length - 1] : null;
    const progress = last ? `${last.event} ${last.model_id || ''} ${last.blueprint || ''}` : 'starting';
    return `<div class="job" data-status="${j.status}">#${j.id} ${esc(j.model)} ${esc(j.settings.join(' '))}: <b>${j.status}</b>
      ${j.status === 'running' ? esc(progress) : ''}${j.new_models.map(x => ` → <a href="#/model/${x}">${esc(x)}</a>`).join('')}${j.error ? `<div class="wrong">${esc(j.error)}</div>` : ''}</div>`;
  }).join('') || '<p class="muted">none yet</p>';
  if (jobs.some(j => j.status === 'running')) setTimeout(watchJobs, 1000);
}

// ---------- compare ----------
async function comparePage(a, b) {
  document.body.dataset.page = 'compare';
  const [ma, mb] = await Promise.all([api(`/api/models/${encodeURIComponent(a)}`), api(`/api/models/${encodeURIComponent(b)}`)]);
  const col = m => `<div><h3><a href="#/model/${m.row.model_id}">${esc(m.row.model_id)}</a>: ${esc(m.row.blueprint)}</h3>${diagramHtml(m.diagram)}${scoresTable(m.row)}
    <p>Fit ${fmt(m.row.fit_seconds, 2)} s · predict ${fmt(m.row.predict_seconds_per_1000, 3)} s/1000 · feature list ${esc(m.row.feature_list)}</p>
    <table>${Object.entries(m.row.params || {}).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table></div>`;
  main.innerHTML = `<h2>Compare ${esc(a)} and ${esc(b)}</h2><div class="compare" id="compare">${col(ma)}${col(mb)}</div>`;
}

// ---------- predict ----------
async function predictPage() {
  document.body.dataset.page = 'predict';
  if (!state.lb) state.lb = await api('/api/leaderboard');
  const models = state.lb.rows.filter(r => r.deployable);
  main.innerHTML = `<h2>Score new data</h2>
    <p>Upload a CSV with the training columns (the target may be absent). Its image cells are paths relative to the CSV: add those images below (a folder keeps its relative paths) or drop them.</p>
    <form id="pred-form"><p><label>Model <select id="pred-model"><option value="best">best (${esc(state.lb.best || '')})</option>${models.map(r => `<option>${esc(r.model_id)}</option>`).join('')}</select></label></p>
    <p><label>CSV <input type="file" id="pred-csv" accept=".csv,text/csv"></label></p>
    <p><label>Images <input type="file" id="pred-images" multiple accept="image/*"></label> <label>or a folder <input type="file" id="pred-folder" webkitdirectory></label></p>
    <div id="drop">Drop a CSV and its images here</div>
    <button type="submit" id="pred-submit">Score</button></form><div id="pred-out"></div>`;
  let dropped = [];
  const drop = $('#drop');
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); dropped = Array.from(e.dataTransfer.files); drop.textContent = `${dropped.length} files dropped`; });
  $('#pred-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const fd = new FormData();
    fd.append('model', $('#pred-model').value);
    const csv = $('#pred-csv').files[0] || dropped.find(f => /\.csv$/i.test(f.name));
    if (!csv) { showError('choose a CSV file'); return; }
    fd.append('csv', csv, csv.name);
    const imgs = [...$('#pred-images').files].map(f => [f, f.name])
      .concat([...$('#pred-folder').files].map(f => [f, f.webkitRelativePath.split('/').slice(1).join('/') || f.name]))
      .concat(dropped.filter(f => f !== csv).map(f => [f, f.name]));
    imgs.forEach(([f, name]) => fd.append('files', f, name));
    $('#pred-out').innerHTML = '<p>Scoring…</p>';
    try {
      const res = await api('/api/predict', { method: 'POST', body: fd });
      showError('');
      renderPredictions(res);
    } catch (e) { $('#pred-out').innerHTML = ''; showError(e.message); }
  });
}

function renderPredictions(res) {
  const probCols = res.columns.map((c, i) => [c, i]).filter(([c]) => c.endsWith('_PROBABILITY'));
  const url = URL.createObjectURL(new Blob([res.csv], { type: 'text/csv' }));
  $('#pred-out').innerHTML = `<p>${res.predicted} of ${res.rows.length} rows scored with ${esc(res.model)}. <a id="pred-download" href="${url}" download="predictions.csv">Download CSV</a></p>
    ${res.problems.map(p => `<div class="wrong">row ${p.row}, ${esc(p.column)}: ${esc(p.reason)}</div>`).join('')}
    <table id="pred-table"><thead><tr>${res.columns.map(c => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>
    ${res.rows.map(r => {
      const vals = probCols.map(([, i]) => parseFloat(r[i]));
      const best = probCols[vals.indexOf(Math.max(...vals))];
      return `<tr>${r.map((v, i) => {
        const isProb = probCols.some(([, j]) => j === i);
        return `<td class="${isProb ? 'num' : ''} ${best && best[1] === i && v !== '' ? 'max' : ''}">${isProb && v !== '' ? (100 * parseFloat(v)).toFixed(1) + ' %' : esc(v)}</td>`;
      }).join('')}</tr>`;
    }).join('')}</tbody></table>`;
  window.lastPrediction = res;
}

route();
poll();
