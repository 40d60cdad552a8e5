/* 一键申报 console: charts (global echarts), sorting, row links, photo viewer, confirmations.
   Pages work without it. ES2017, no build; never throws on a missing element. */
(() => {
'use strict';
const d = document;
const $ = (s, r) => (r || d).querySelector(s);
const $$ = (s, r) => Array.from((r || d).querySelectorAll(s));
const safe = (f) => { try { f(); } catch (e) { console.error('console.js', e); } };
const go = (u) => { window.location.href = u; };
const enc = encodeURIComponent;
d.documentElement.classList.add('js');

/* ---- Charts ---- */
const BLUE = '#2b5d9b', RED = '#a40000', DARK = '#8b0000', INK = '#1a1a1a';
const pct = (v) => (v == null ? '—' : Math.round(v * 1000) / 10 + '%');
const sum = (l, k) => l.reduce((s, x) => s + (Number(x[k]) || 0), 0);
const lab = (x) => Object.assign({ fontSize: 13, color: INK }, x);
const split = { lineStyle: { color: '#e3e6ea' } };
const grid = (top, right) => ({ left: 12, right: right || 24, top, bottom: 8, containLabel: true });
const tip = (formatter, trigger) => ({ trigger: trigger || 'axis', axisPointer: { type: 'shadow' }, confine: true, formatter });
const val = { type: 'value', minInterval: 1, splitLine: split, axisLabel: lab() };
const cat = (data, x) => Object.assign({ type: 'category', data, axisTick: { show: false }, axisLabel: lab() }, x);
const legend = { top: 0, right: 8 };
const shortName = (s) => String(s).replace(/村民委员会$/, '村').replace(/社区居民委员会$/, '社区').replace(/居民委员会$/, '社区');
const onTop = (x) => Object.assign({ show: true, position: 'top', fontSize: 12 }, x);
const hbar = (l, color, hint) => ({
  empty: !sum(l, 'count'), height: Math.max(240, l.length * 23 + 30), option: {
    grid: grid(8, 48), xAxis: val, yAxis: cat(l.map((x) => x.label), { inverse: true }),
    tooltip: tip((p) => `${p[0].name}：${p[0].value} 件${hint ? '<br>点击查看案件' : ''}`),
    series: [{ type: 'bar', data: l.map((x) => x.count), barMaxWidth: 22, itemStyle: { color }, cursor: hint ? 'pointer' : 'default',
      label: { show: true, position: 'right', fontSize: 13, color: INK } }] } });

// Per chart: {option, empty, height?, click?} from dashboard data D.
const builders = {
  'chart-stage': (D) => {
    const l = D.by_stage || [];
    return Object.assign(hbar(l, BLUE, true), { click: (p) => go(`/console/cases?scope=${enc(D.scope)}&stage=${enc(l[p.dataIndex].stage)}`) });
  },
  'chart-risk': (D) => hbar((D.by_risk || []).slice().sort((a, b) => b.count - a.count), DARK),
  'chart-source': (D) => {
    const l = (D.by_source || []).filter((x) => x.count > 0);
    return { empty: !l.length, option: {
      tooltip: tip('{b}：{c} 件（{d}%）', 'item'),
      series: [{ type: 'pie', radius: ['38%', '60%'], minAngle: 3, percentPrecision: 1,
        label: { formatter: '{b}\n{d}%', fontSize: 13, lineHeight: 17, alignTo: 'edge', edgeDistance: 8, overflow: 'break' },
        data: l.map((x) => ({ name: x.label, value: x.count })) }] } };
  },
  'chart-ontime': (D) => {
    const l = D.on_time || [];
    return { empty: !sum(l, 'done'), option: {
      grid: grid(28, 16),
      xAxis: cat(l.map((x) => x.label), { axisLabel: lab({ interval: 0, formatter: (v) => v.replace(/(.{5})(?=.)/g, '$1\n') }) }),
      yAxis: { type: 'value', min: 0, max: 100, interval: 25, splitLine: split, axisLabel: lab({ formatter: '{value}%' }) },
      tooltip: tip((p) => {
        const x = l[p[0].dataIndex];
        return `${x.label}<br>按时率 ${pct(x.rate)}<br>按时办结 ${x.on_time} 件 / 共办结 ${x.done} 件`;
      }),
      series: [{ type: 'bar', barMaxWidth: 40, itemStyle: { color: '#2e7d32' },
        label: onTop({ fontSize: 13, formatter: (p) => (p.value == null ? '—' : p.value + '%') }),
        // A step with nothing done says so (an empty slot reads as 0%).
        data: l.map((x) => (x.rate == null ? { value: 0, label: { formatter: '无办结', color: '#555' } } : Math.round(x.rate * 1000) / 10)) }] } };
  },
  'chart-weekly': (D) => {
    const l = D.weekly || [];
    const line = (name, k, color, type, symbol) => ({ type: 'line', name, symbol, symbolSize: 8, itemStyle: { color }, lineStyle: { width: 3, type }, data: l.map((x) => x[k]) });
    return { empty: !l.length, option: {
      legend, grid: grid(36), yAxis: val, xAxis: cat(l.map((x) => String(x.week).slice(5)), { boundaryGap: false }),
      tooltip: tip((p) => `${l[p[0].dataIndex].week} 当周<br>` + p.map((s) => `${s.marker}${s.seriesName} ${s.value} 件`).join('<br>')),
      series: [line('新申报', 'declared', BLUE, 'solid', 'circle'), line('审批纳入', 'approved', DARK, 'dashed', 'diamond')] } };
  },
  'chart-children': (D, el) => {
    const l = D.children || [], n = l.length;
    // On the axis "南川村" for 南川村民委员会 (the tooltip and the table keep the full name);
    // turned only when the names do not fit side by side.
    const names = l.map((x) => shortName(x.name));
    const band = ((el && el.clientWidth) || 900) / Math.max(n, 1) - 8;
    const rotate = names.some((s) => s.length * 13 > band) ? 40 : 0;
    const bar = (name, k, color) => ({ type: 'bar', name, cursor: 'pointer', barMaxWidth: 28, itemStyle: { color }, label: onTop({ show: n <= 16, color, formatter: (p) => p.value || '' }), data: l.map((x) => x[k]) });
    return { empty: !n, click: (p) => go(`/console?scope=${enc(l[p.dataIndex].code)}`), option: {
      legend, grid: grid(36, rotate ? 32 : 24), yAxis: val, xAxis: cat(names, { axisLabel: lab({ interval: 0, rotate }) }),
      tooltip: tip((p) => {
        const c = l[p[0].dataIndex];
        return `<b>${c.name}</b><br>在办 ${c.open} 件<br>已逾期 ${c.overdue} 件<br>即将到期 ${c.due_soon} 件<br>点击进入`;
      }),
      series: [bar('在办', 'open', BLUE), bar('已逾期', 'overdue', RED)] } };
  }
};

const charts = [];
function renderCharts() {
  const src = d.getElementById('dashboard-data');
  const D = src && window.echarts && JSON.parse(src.textContent || 'null');
  if (!D) return;
  Object.keys(builders).forEach((id) => safe(() => {
    const el = d.getElementById(id);
    if (!el) return;
    const panel = el.closest('.panel') || el.parentNode;
    panel.classList.add('has-chart'); // gives the box a size (and a width to lay out by)
    let spec;
    try { spec = builders[id](D, el); } catch (e) { panel.classList.remove('has-chart'); throw e; }
    if (spec.height) el.style.height = spec.height + 'px';
    let chart;
    try {
      chart = window.echarts.init(el, null, { renderer: 'svg', locale: 'ZH' });
      chart.setOption(Object.assign({ animation: false, aria: { enabled: true },
        textStyle: { fontFamily: getComputedStyle(d.body).fontFamily, fontSize: 14, color: INK },
        color: [BLUE, DARK, '#d97706', '#2e7d32', '#6d4c9f', '#0f766e', '#4b5563'] },
      spec.empty ? { title: { text: '暂无数据', left: 'center', top: 'middle', textStyle: { color: '#555', fontSize: 15, fontWeight: 'normal' } } } : spec.option));
    } catch (e) {
      if (chart) chart.dispose();
      panel.classList.remove('has-chart'); // the table shows the numbers
      el.style.height = '';
      throw e;
    }
    if (spec.click && !spec.empty) chart.on('click', (p) => safe(() => spec.click(p)));
    charts.push(chart);
  }));
  let t;
  window.addEventListener('resize', () => {
    clearTimeout(t);
    t = setTimeout(() => charts.forEach((c) => safe(() => c.resize())), 120);
  });
}

/* ---- Sorting: numbers as numbers, the rest (dates too) as zh text ---- */
const coll = new Intl.Collator('zh');
const NUM = /^[¥￥]?\s*([-+]?\d[\d,]*(?:\.\d+)?)\s*(%|天|件|人|元|户|个|次|张)?$/;
const blank = (s) => s === '' || s === '—' || s === '-';
function sortable(table) {
  const body = table.tBodies[0];
  let head = table.tHead && table.tHead.rows[0];
  if (!head && body && body.rows[0] && !$('td', body.rows[0])) head = body.rows[0];
  if (!head) return;
  Array.from(head.cells).forEach((th, col) => {
    if ($('a, button, input, select', th) || th.colSpan > 1) return; // sorted by the server
    th.classList.add('sort');
    th.tabIndex = 0;
    th.setAttribute('aria-sort', 'none');
    const run = () => sortBy(body, head, th, col);
    th.addEventListener('click', run);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); run(); } });
  });
}
function sortBy(body, head, th, col) {
  const rows = Array.from(body.rows).filter((r) => r !== head);
  const vals = rows.map((r) => { const c = r.cells[col]; return c ? (c.getAttribute('data-sort') || c.textContent).trim() : ''; });
  const some = vals.filter((v) => !blank(v));
  const num = some.length > 0 && some.every((v) => NUM.test(v));
  const keys = vals.map((v) => (blank(v) ? null : num ? parseFloat(NUM.exec(v)[1].replace(/,/g, '')) : v));
  const was = th.getAttribute('aria-sort');
  // Numbers start largest first, text A→Z.
  const dir = was === 'none' ? (num ? 'descending' : 'ascending') : was === 'ascending' ? 'descending' : 'ascending';
  const order = rows.map((r, i) => i).sort((i, j) => {
    const a = keys[i], b = keys[j];
    if (a === null || b === null) return a === b ? i - j : a === null ? 1 : -1; // blanks last
    return (num ? a - b : coll.compare(a, b)) * (dir === 'ascending' ? 1 : -1) || i - j;
  });
  const frag = d.createDocumentFragment();
  order.forEach((i) => frag.appendChild(rows[i]));
  body.appendChild(frag);
  Array.from(head.cells).forEach((c) => { if (c.classList.contains('sort')) c.setAttribute('aria-sort', 'none'); });
  th.setAttribute('aria-sort', dir);
  if (num) [th].concat(rows.map((r) => r.cells[col])).forEach((c) => c && c.classList.add('num'));
}

/* ---- Row links ---- */
function clickableRows() {
  $$('#children tbody tr[data-code], #overdue tbody tr[data-case-id], #cases tbody tr[data-case-id]').forEach((tr) => {
    const a = $('a.drill', tr) || $('a[href]', tr);
    if (!a) return;
    tr.classList.add('clickable');
    tr.addEventListener('click', (e) => {
      if (e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.target.closest('a, button, input, select, textarea, label')) return;
      if (!String(getSelection())) go(a.href); // not while selecting
    });
  });
}

/* ---- Photo viewer: Esc or a click closes, ← → browse ---- */
function lightbox() {
  const root = d.getElementById('photos');
  if (!root) return;
  let box = null, from = null, list = [], at = 0;
  const show = (i) => {
    at = (i + list.length) % list.length;
    const a = list[at], cap = $('img', a).alt || '', big = $('img', box), txt = $('span', box);
    txt.textContent = cap;
    big.alt = cap;
    big.onerror = () => { txt.textContent = '照片加载失败：' + cap; };
    big.src = $('a', box).href = a.href;
  };
  const close = () => {
    if (!box) return;
    box = box.remove();
    d.removeEventListener('keydown', key, true);
    if (from) from.focus();
  };
  const key = (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    else if (e.key === 'ArrowRight') show(at + 1);
    else if (e.key === 'ArrowLeft') show(at - 1);
  };
  root.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || !$('img', a) || e.button || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    list = $$('a[href]', root).filter((x) => $('img', x));
    from = a;
    const t = d.createElement('template');
    t.innerHTML = '<div class="lightbox" role="dialog" aria-modal="true" aria-label="查看照片"><button type="button" class="lb-close">关闭（Esc）</button>' +
      '<button type="button" class="lb-prev" aria-label="上一张（←）">‹</button><button type="button" class="lb-next" aria-label="下一张（→）">›</button>' +
      '<img alt=""><div class="lb-bar"><span></span><a target="_blank" rel="noopener">在新窗口打开原图</a></div></div>';
    box = t.content.firstChild;
    if (list.length < 2) $$('.lb-prev, .lb-next', box).forEach((b) => b.remove());
    box.addEventListener('click', (ev) => {
      if (ev.target.closest('.lb-prev')) return show(at - 1);
      if (ev.target.closest('.lb-next')) return show(at + 1);
      if (!ev.target.closest('a')) close();
    });
    d.body.appendChild(box);
    d.addEventListener('keydown', key, true);
    show(list.indexOf(a));
    $('button', box).focus();
  });
}

/* ---- Forms: data-confirm asks first; no double send ---- */
function forms() {
  d.addEventListener('submit', (e) => {
    const f = e.target, post = /^post$/i.test(f.method);
    // A second press while the first is on its way (slow line) is dropped.
    if (post && f.ycSent > Date.now() - 8000) return e.preventDefault();
    const msg = f.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) return e.preventDefault();
    if (post) f.ycSent = Date.now();
  });
}

const start = () => {
  safe(renderCharts);
  $$('table.sortable').forEach((t) => safe(() => sortable(t)));
  safe(clickableRows);
  safe(lightbox);
  safe(forms);
};
if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})();
