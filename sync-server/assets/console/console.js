/* 一键申报 · 监测帮扶工作台: what the console does with JavaScript on. Every page works
   without it. Plain ES2017, no dependencies (the charts use the global `echarts` when the
   page loaded it). Nothing here throws when an element is missing. */
(function () {
  'use strict';
  var d = document;
  function $(s, r) { return (r || d).querySelector(s); }
  function $$(s, r) { return Array.prototype.slice.call((r || d).querySelectorAll(s)); }
  function safe(f) { try { f(); } catch (e) { if (window.console) console.error('console.js', e); } }
  function go(url) { window.location.href = url; }
  function enc(s) { return encodeURIComponent(String(s)); }
  d.documentElement.classList.add('js');

  /* ---- Charts ---------------------------------------------------------------------------- */
  var FONT = '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif';
  var BLUE = '#2b5d9b', RED = '#a40000', INK = '#1a1a1a', GRID = '#e3e6ea';
  var PALETTE = [BLUE, '#8b0000', '#d97706', '#2e7d32', '#6d4c9f', '#0f766e', '#a16207', '#be185d', '#4b5563', '#0369a1', '#7c2d12'];
  var charts = [];

  function axisLabel(extra) { return Object.assign({ fontSize: 13, color: '#333' }, extra || {}); }
  function wrap(s, n) { s = String(s); var o = ''; for (var i = 0; i < s.length; i += n) o += (i ? '\n' : '') + s.slice(i, i + n); return o; }
  function pct(v) { return v == null ? '—' : (Math.round(v * 1000) / 10) + '%'; }

  function option(o, empty) {
    var base = {
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: FONT, fontSize: 14, color: INK },
      aria: { enabled: true },
      grid: { left: 12, right: 40, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true, textStyle: { fontSize: 14 } }
    };
    if (empty) {
      return Object.assign(base, { title: { text: '暂无数据', left: 'center', top: 'middle', textStyle: { color: '#6b7280', fontSize: 15, fontWeight: 'normal' } }, series: [] });
    }
    return Object.assign(base, o);
  }

  function total(list, key) { return (list || []).reduce(function (s, x) { return s + (Number(x[key]) || 0); }, 0); }

  function hbar(items, name, color, click) {
    return {
      grid: { left: 12, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: GRID } }, axisLabel: axisLabel() },
      yAxis: { type: 'category', inverse: true, data: items.map(function (x) { return x.label; }), axisTick: { show: false }, axisLabel: axisLabel({ color: INK }) },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true, formatter: function (p) { return p[0].name + '：' + p[0].value + ' 件' + (click ? '<br>点击查看案件' : ''); } },
      series: [{ type: 'bar', name: name, data: items.map(function (x) { return x.count; }), barMaxWidth: 22, itemStyle: { color: color }, cursor: click ? 'pointer' : 'default', label: { show: true, position: 'right', fontSize: 13, color: INK } }]
    };
  }

  var builders = {
    'chart-stage': function (data) {
      var items = data.by_stage || [];
      return { height: Math.max(240, items.length * 26 + 24), empty: !total(items, 'count'), option: hbar(items, '件数', BLUE, true),
        click: function (p) { var s = items[p.dataIndex]; if (s) go('/console/cases?scope=' + enc(data.scope) + '&stage=' + enc(s.stage)); } };
    },
    'chart-source': function (data) {
      var items = (data.by_source || []).filter(function (x) { return x.count > 0; });
      var sum = total(items, 'count');
      return { empty: !sum, option: {
        tooltip: { trigger: 'item', confine: true, formatter: '{b}：{c} 件（{d}%）' },
        title: { text: String(sum), subtext: '合计（件）', left: 'center', top: 'middle', itemGap: 2, textStyle: { fontSize: 22, fontWeight: 700, color: INK }, subtextStyle: { fontSize: 12, color: '#555' } },
        series: [{ type: 'pie', radius: ['42%', '66%'], center: ['50%', '50%'], avoidLabelOverlap: true, minAngle: 3,
          label: { formatter: '{b}\n{d}%', fontSize: 13, lineHeight: 18, color: INK }, labelLine: { length: 10, length2: 8 },
          data: items.map(function (x) { return { name: x.label, value: x.count }; }) }]
      } };
    },
    'chart-risk': function (data) {
      var items = (data.by_risk || []).slice().sort(function (a, b) { return b.count - a.count; });
      return { height: Math.max(240, items.length * 26 + 24), empty: !total(items, 'count'), option: hbar(items, '件数', '#8b0000', false) };
    },
    'chart-ontime': function (data) {
      var items = data.on_time || [];
      return { empty: !total(items, 'done'), option: {
        grid: { left: 12, right: 16, top: 28, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: items.map(function (x) { return x.label; }), axisTick: { show: false }, axisLabel: axisLabel({ interval: 0, color: INK, formatter: function (v) { return wrap(v, 5); } }) },
        yAxis: { type: 'value', min: 0, max: 100, interval: 25, axisLabel: axisLabel({ formatter: '{value}%' }), splitLine: { lineStyle: { color: GRID } } },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true, formatter: function (p) {
          var x = items[p[0].dataIndex] || {};
          return x.label + '<br>按时率：' + pct(x.rate) + '<br>按时办结 ' + (x.on_time || 0) + ' 件 / 共办结 ' + (x.done || 0) + ' 件';
        } },
        series: [{ type: 'bar', name: '按时率', barMaxWidth: 40, itemStyle: { color: '#2e7d32' },
          label: { show: true, position: 'top', fontSize: 13, color: INK, formatter: function (p) { return p.value == null ? '—' : p.value + '%'; } },
          data: items.map(function (x) { return x.rate == null ? null : Math.round(x.rate * 1000) / 10; }) }]
      } };
    },
    'chart-weekly': function (data) {
      var items = data.weekly || [];
      return { empty: !items.length, option: {
        legend: { top: 0, right: 8, textStyle: { fontSize: 13 } },
        grid: { left: 12, right: 24, top: 36, bottom: 8, containLabel: true },
        xAxis: { type: 'category', boundaryGap: false, data: items.map(function (x) { return String(x.week).slice(5); }), axisLabel: axisLabel() },
        yAxis: { type: 'value', minInterval: 1, axisLabel: axisLabel(), splitLine: { lineStyle: { color: GRID } } },
        tooltip: { trigger: 'axis', confine: true, formatter: function (p) {
          var w = items[p[0].dataIndex] || {};
          return w.week + ' 当周<br>' + p.map(function (s) { return s.marker + s.seriesName + '：' + s.value + ' 件'; }).join('<br>');
        } },
        series: [
          { type: 'line', name: '新申报', data: items.map(function (x) { return x.declared; }), symbol: 'circle', symbolSize: 7, lineStyle: { width: 3 }, itemStyle: { color: BLUE } },
          { type: 'line', name: '审批纳入', data: items.map(function (x) { return x.approved; }), symbol: 'diamond', symbolSize: 9, lineStyle: { width: 3, type: 'dashed' }, itemStyle: { color: '#8b0000' } }
        ]
      } };
    },
    'chart-children': function (data) {
      var items = data.children || [];
      var n = items.length;
      var o = {
        legend: { top: 0, right: 8, textStyle: { fontSize: 13 } },
        grid: { left: 12, right: 24, top: 36, bottom: n > 30 ? 40 : 8, containLabel: true },
        xAxis: { type: 'category', data: items.map(function (x) { return x.name; }), axisTick: { show: false }, axisLabel: axisLabel({ interval: 0, color: INK, rotate: n > 10 ? 40 : 0 }) },
        yAxis: { type: 'value', minInterval: 1, axisLabel: axisLabel(), splitLine: { lineStyle: { color: GRID } } },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true, formatter: function (p) {
          var c = items[p[0].dataIndex] || {};
          return '<b>' + c.name + '</b><br>在办 ' + c.open + ' 件<br>已逾期 ' + c.overdue + ' 件<br>即将到期 ' + c.due_soon + ' 件<br>自主申报占比 ' + pct(c.self_share) + '<br>按时率 ' + pct(c.on_time_rate) + '<br>点击进入';
        } },
        series: [
          { type: 'bar', name: '在办', cursor: 'pointer', barMaxWidth: 28, itemStyle: { color: BLUE }, label: { show: n <= 16, position: 'top', fontSize: 12 }, data: items.map(function (x) { return x.open; }) },
          { type: 'bar', name: '已逾期', cursor: 'pointer', barMaxWidth: 28, itemStyle: { color: RED, decal: { symbol: 'rect', dashArrayX: [1, 0], dashArrayY: [3, 3], rotation: -0.785, color: 'rgba(255,255,255,.45)' } }, label: { show: n <= 16, position: 'top', fontSize: 12, color: RED }, data: items.map(function (x) { return x.overdue; }) }
        ],
        aria: { enabled: true, decal: { show: true } }
      };
      if (n > 30) o.dataZoom = [{ type: 'slider', bottom: 4, height: 18, start: 0, end: Math.round(3000 / n) }, { type: 'inside' }];
      return { empty: !n, option: o,
        click: function (p) { var c = items[p.dataIndex]; if (c) go('/console?scope=' + enc(c.code)); } };
    }
  };

  function renderCharts() {
    var src = d.getElementById('dashboard-data');
    if (!src || !window.echarts) return;
    var data = JSON.parse(src.textContent || 'null');
    if (!data) return;
    Object.keys(builders).forEach(function (id) {
      var el = d.getElementById(id);
      if (!el) return;
      var panel = el.closest('.panel') || el.parentNode;
      safe(function () {
        var spec = builders[id](data);
        panel.classList.add('has-chart');
        if (spec.height) el.style.height = spec.height + 'px';
        var chart;
        try {
          chart = window.echarts.init(el, null, { renderer: 'svg', locale: 'ZH' });
          chart.setOption(option(spec.option, spec.empty));
        } catch (e) {
          if (chart) chart.dispose();
          panel.classList.remove('has-chart');
          el.style.height = '';
          throw e;
        }
        if (spec.click && !spec.empty) chart.on('click', spec.click);
        charts.push(chart);
        if ($('table.fallback', panel) && !$('.table-toggle', panel)) {
          var b = d.createElement('button');
          b.type = 'button';
          b.className = 'table-toggle';
          b.textContent = '数据表';
          b.setAttribute('aria-expanded', 'false');
          b.addEventListener('click', function () {
            var on = panel.classList.toggle('show-table');
            b.setAttribute('aria-expanded', String(on));
            b.textContent = on ? '收起数据表' : '数据表';
          });
          panel.appendChild(b);
        }
      });
    });
    var t;
    window.addEventListener('resize', function () {
      clearTimeout(t);
      t = setTimeout(function () { charts.forEach(function (c) { safe(function () { c.resize(); }); }); }, 120);
    });
  }

  /* ---- Sortable tables ------------------------------------------------------------------ */
  var collator = (window.Intl && Intl.Collator) ? new Intl.Collator('zh', { numeric: true }) : null;
  function cmpText(a, b) { return collator ? collator.compare(a, b) : a.localeCompare(b, 'zh'); }
  var NUM = /^[¥￥]?\s*([-+]?\d[\d,]*(?:\.\d+)?)\s*(%|天|件|人|元|户|个|次|张)?$/;
  var DATE = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(.*)$/;
  function pad(s) { return ('0' + s).slice(-2); }
  function cellText(c) { return c ? (c.getAttribute('data-sort') || c.textContent || '').trim() : ''; }
  function blank(s) { return s === '' || s === '—' || s === '-'; }

  function sortable(table) {
    var head = table.tHead ? table.tHead.rows[0] : null;
    var body = table.tBodies[0];
    if (!body) return;
    if (!head && body.rows[0] && !body.rows[0].querySelector('td')) head = body.rows[0];
    if (!head) return;
    Array.prototype.forEach.call(head.cells, function (th, col) {
      if (th.querySelector('a, button, input, select') || th.colSpan > 1) return;
      th.classList.add('sort');
      th.tabIndex = 0;
      th.setAttribute('aria-sort', 'none');
      th.title = '点击排序';
      var run = function () { sortBy(table, body, head, th, col); };
      th.addEventListener('click', run);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); run(); } });
    });
  }

  function sortBy(table, body, head, th, col) {
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r !== head; });
    var vals = rows.map(function (r) { return cellText(r.cells[col]); });
    var present = vals.filter(function (v) { return !blank(v); });
    var kind = present.length && present.every(function (v) { return NUM.test(v); }) ? 'num'
      : present.length && present.every(function (v) { return DATE.test(v); }) ? 'date' : 'text';
    var keys = vals.map(function (v) {
      if (blank(v)) return null;
      if (kind === 'num') return parseFloat(NUM.exec(v)[1].replace(/,/g, ''));
      if (kind === 'date') { var m = DATE.exec(v); return m[1] + '-' + pad(m[2]) + '-' + pad(m[3]) + m[4].trim(); }
      return v;
    });
    var was = th.getAttribute('aria-sort');
    var dir = was === 'none' ? (kind === 'num' ? 'descending' : 'ascending') : (was === 'ascending' ? 'descending' : 'ascending');
    var sign = dir === 'ascending' ? 1 : -1;
    var order = rows.map(function (r, i) { return i; });
    order.sort(function (i, j) {
      var a = keys[i], b = keys[j];
      if (a === null || b === null) return a === b ? i - j : (a === null ? 1 : -1);
      var c = kind === 'num' ? a - b : kind === 'date' ? (a < b ? -1 : a > b ? 1 : 0) : cmpText(a, b);
      return c ? c * sign : i - j;
    });
    var frag = d.createDocumentFragment();
    order.forEach(function (i) { frag.appendChild(rows[i]); });
    body.appendChild(frag);
    Array.prototype.forEach.call(head.cells, function (c) { if (c.classList.contains('sort')) c.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', dir);
    if (kind === 'num') {
      th.classList.add('num');
      rows.forEach(function (r) { if (r.cells[col]) r.cells[col].classList.add('num'); });
    }
  }

  /* ---- Rows that lead somewhere ---------------------------------------------------------- */
  function clickableRows() {
    $$('#children tbody tr[data-code], #overdue tbody tr[data-case-id], #cases tbody tr[data-case-id]').forEach(function (tr) {
      var a = $('a.drill', tr) || $('a[href]', tr);
      if (!a) return;
      tr.classList.add('clickable');
      tr.addEventListener('click', function (e) {
        if (e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
        if (e.target.closest('a, button, input, select, textarea, label')) return;
        if (window.getSelection && String(window.getSelection())) return;
        go(a.href);
      });
    });
  }

  /* ---- Photo viewer ---------------------------------------------------------------------- */
  function lightbox() {
    var root = d.getElementById('photos');
    if (!root) return;
    var box = null, back = null, list = [], at = 0;
    function links() { return $$('a[href]', root).filter(function (a) { return $('img', a); }); }
    function show(i) {
      at = (i + list.length) % list.length;
      var a = list[at], img = $('img', a), cap = (img && img.alt) || '';
      var big = $('img', box), txt = $('.lb-caption', box), open = $('.lb-open', box);
      txt.textContent = (list.length > 1 ? (at + 1) + ' / ' + list.length + '　' : '') + cap;
      big.alt = cap;
      big.onerror = function () { txt.textContent = '照片加载失败：' + cap; };
      big.src = a.href;
      open.href = a.href;
    }
    function close() {
      if (!box) return;
      box.remove();
      box = null;
      d.removeEventListener('keydown', key, true);
      if (back && back.focus) back.focus();
    }
    function key(e) {
      if (e.key === 'Escape' || e.key === 'Esc') { e.preventDefault(); close(); }
      else if (e.key === 'ArrowRight') show(at + 1);
      else if (e.key === 'ArrowLeft') show(at - 1);
    }
    root.addEventListener('click', function (e) {
      var a = e.target.closest('a[href]');
      if (!a || !root.contains(a) || !$('img', a) || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      list = links();
      back = a;
      box = d.createElement('div');
      box.className = 'lightbox';
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      box.setAttribute('aria-label', '查看照片');
      box.innerHTML = '<button type="button" class="lb-close">关闭（Esc）</button><img alt="">' +
        '<div class="lb-bar"><span class="lb-caption"></span><a class="lb-open" target="_blank" rel="noopener">在新窗口打开原图</a></div>';
      box.addEventListener('click', function (ev) { if (!ev.target.closest('a')) close(); });
      d.body.appendChild(box);
      d.addEventListener('keydown', key, true);
      show(list.indexOf(a));
      $('.lb-close', box).focus();
    });
  }

  /* ---- Forms: confirmation, no double submission ------------------------------------------ */
  function forms() {
    d.addEventListener('submit', function (e) {
      var f = e.target;
      if (!f || f.tagName !== 'FORM') return;
      var msg = f.getAttribute('data-confirm');
      if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
      if (f.method.toLowerCase() !== 'post') return;
      if (f.getAttribute('data-sending')) { e.preventDefault(); return; }
      f.setAttribute('data-sending', '1');
      // Later, so the pressed button's own value is still sent.
      setTimeout(function () {
        $$('button[type=submit], button:not([type]), input[type=submit]', f).forEach(function (b) { b.disabled = true; });
      }, 0);
    });
    // Coming back with the browser's Back button: the form can be sent again.
    window.addEventListener('pageshow', function () {
      $$('form[data-sending]').forEach(function (f) {
        f.removeAttribute('data-sending');
        $$('button, input[type=submit]', f).forEach(function (b) { b.disabled = false; });
      });
    });
  }

  function start() {
    safe(renderCharts);
    safe(function () { $$('table.sortable').forEach(function (t) { safe(function () { sortable(t); }); }); });
    safe(clickableRows);
    safe(lightbox);
    safe(forms);
  }
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})();
