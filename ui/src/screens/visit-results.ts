// The live results of a home visit (人均纯收入 vs 监测线, 饮水安全, 两不愁三保障), recomputed
// by Rust on every answer. Always on screen as a summary bar that opens into the details.
import type { Evaluation, Verdict } from "../api";
import { h, replaceChildren } from "../dom";
import { yuan } from "../format";

const WATER_TESTS = ["水量", "水质", "取水方便程度", "供水保证率"];

function verdictWord(v: Verdict): { text: string; cls: string } {
  if (v === "pass") return { text: "✓ 有保障", cls: "res-ok" };
  if (v === "fail") return { text: "⚠ 无保障", cls: "res-bad" };
  return { text: "待核查", cls: "res-unknown" };
}

/** The line with its year, as the verdict used it: "2024年监测线7800元", or "暂按2024年标准". */
export function lineLabel(inc: NonNullable<Evaluation["income"]>): string {
  const amount = `${yuan(inc.monitoring_line_yuan)}元`;
  if (inc.line_year === null) return `监测线${amount}`;
  if (inc.line_provisional) return `监测线${amount}（暂按${inc.line_year}年标准）`;
  return `${inc.line_year}年监测线${amount}`;
}

function incomeLine(ev: Evaluation): { text: string; cls: string } {
  const inc = ev.income;
  if (!inc) return { text: "人均纯收入：尚未填写", cls: "res-unknown" };
  // The bar stays one short line (it sits over the form); the year is in the details.
  const head = `人均纯收入${yuan(inc.per_person_yuan)}元 · 监测线${yuan(inc.monitoring_line_yuan)}元`;
  if (!inc.complete) return { text: `${head} · 尚未填完`, cls: "res-unknown" };
  if (inc.line_status === "below") return { text: `${head} · ⚠ 低于监测线`, cls: "res-bad" };
  return { text: `${head} · ✓ 高于监测线`, cls: "res-ok" };
}

function waterLine(ev: Evaluation): { text: string; cls: string } {
  if (ev.water === "safe") return { text: "饮水安全：✓ 安全", cls: "res-ok" };
  if (ev.water === "unsafe") {
    const failing = ev.water_tests.map((v, i) => (v === "fail" ? WATER_TESTS[i] : null)).filter((x): x is string => !!x);
    return { text: `饮水安全：⚠ 不安全${failing.length ? `（${failing.join("、")}不达标）` : ""}`, cls: "res-bad" };
  }
  return { text: "饮水安全：待核查", cls: "res-unknown" };
}

export class VisitResults {
  readonly el: HTMLElement;
  private income = h("span.res-line", { id: "result-income" });
  private water = h("span.res-line", { id: "result-water" });
  private more = h("span.res-more");
  private detail = h("div.res-detail", { id: "visit-results-detail", hidden: true });
  private toggle: HTMLButtonElement;

  constructor() {
    this.toggle = h("button.res-toggle", { "aria-expanded": "false", "aria-controls": "visit-results-detail" }, h("span.res-lines", this.income, this.water), this.more);
    this.toggle.addEventListener("click", () => this.setOpen(this.detail.hidden));
    this.el = h("div.results", { id: "visit-results", "aria-live": "polite" }, this.toggle, this.detail);
  }

  setOpen(open: boolean): void {
    this.detail.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    this.el.classList.toggle("open", open);
    const last = this.more.lastChild;
    if (last) last.textContent = open ? "收起▲" : "详情▼";
  }

  update(ev: Evaluation): void {
    const inc = incomeLine(ev);
    this.income.textContent = inc.text;
    this.income.className = `res-line ${inc.cls}`;
    const w = waterLine(ev);
    this.water.textContent = w.text;
    this.water.className = `res-line ${w.cls}`;
    this.more.textContent = "";
    this.more.append(ev.problems.length ? h("span.res-count", `${ev.problems.length}个问题`) : "", h("span", this.detail.hidden ? "详情▼" : "收起▲"));

    const rows: HTMLElement[] = [];
    const row = (label: string, text: string, cls: string): HTMLElement =>
      h("div.res-row", h("span.res-label", label), h("span", { class: cls }, text));
    const i = ev.income;
    if (i) {
      rows.push(row("家庭人口", `${i.household_size}人`, ""));
      rows.push(row("全年纯收入", `${yuan(i.net_income_fen / 100)}元`, ""));
      rows.push(row("人均纯收入", `${yuan(i.per_person_yuan)}元`, inc.cls));
      rows.push(row("监测线", lineLabel(i), ""));
      if (i.complete) rows.push(row(i.line_status === "below" ? "低于监测线" : "高于监测线", `${yuan(Math.abs(i.gap_yuan))}元`, inc.cls));
      if (i.rigid_spending_fen > 0) rows.push(row("扣除刚性支出后人均", `${yuan(i.per_person_after_rigid_yuan)}元`, ""));
    } else rows.push(row("人均纯收入", "尚未填写", "res-unknown"));
    rows.push(row("饮水安全", w.text.replace("饮水安全：", ""), w.cls));
    ev.water_tests.forEach((v, n) => rows.push(row(`· ${WATER_TESTS[n]}`, v === "pass" ? "✓ 达标" : v === "fail" ? "⚠ 不达标" : "待核查", v === "pass" ? "res-ok" : v === "fail" ? "res-bad" : "res-unknown")));
    const two = verdictWord(ev.two_no_worries);
    rows.push(row("两不愁", two.text, two.cls));
    for (const [label, v] of [
      ["义务教育", ev.compulsory_education],
      ["基本医疗", ev.basic_medical],
      ["住房安全", ev.safe_housing],
    ] as const) {
      const x = verdictWord(v);
      rows.push(row(`三保障 · ${label}`, x.text, x.cls));
    }
    replaceChildren(
      this.detail,
      h("div.res-rows", rows),
      ev.problems.length
        ? h("div.res-problems", h("h3", "发现的问题"), h("ul", ev.problems.map((p) => h("li", p))))
        : h("p.hint", "暂未发现问题"),
    );
  }
}
