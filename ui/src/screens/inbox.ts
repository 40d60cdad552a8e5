// 待办: every case on the phone, most urgent first, as a virtualised list.
import { inbox, type InboxFilter, type InboxPage, type InboxRow } from "../api";
import { h, icon, replaceChildren } from "../dom";
import { count } from "../format";
import { errorText, track } from "../ipc";
import { onFontSizeChange } from "../prefs";
import { href } from "../router";
import { onSyncDone } from "../session";
import type { View } from "../shell";
import { bannerSlot, debounce, dueBadge, pendingMark } from "../ui/widgets";
import { noticesLink } from "./notices";
import { VirtualList } from "../ui/vlist";

// Kept across visits to the screen: coming back from a household file lands where you were.
const mem: { search: string; filter: InboxFilter; index: number } = { search: "", filter: "all", index: 0 };

// Three lines a row; with very large text the ID moves to a line of its own.
const rowRem = (): number => (document.documentElement.classList.contains("big-text") ? 6.8 : 5.4);
const PAGE = 50;

export function inboxScreen(): View {
  const overdue = h("button.tile.tile-overdue", { id: "count-overdue", "aria-pressed": "false" });
  const dueSoon = h("button.tile.tile-soon", { id: "count-due-soon", "aria-pressed": "false" });
  const chips = h("div.chips", { role: "group", "aria-label": "按环节筛选" });
  const search = h("input", {
    id: "inbox-search",
    type: "search",
    enterkeyhint: "search",
    autocomplete: "off",
    placeholder: "姓名/身份证后4位/门牌/回执号",
    "aria-label": "搜索",
    value: mem.search,
  });
  const clearBtn = h("button.search-clear", { "aria-label": "清除搜索", hidden: !mem.search }, "×");
  const result = h("p.result-line", { id: "inbox-result", "aria-live": "polite" });
  const msg = bannerSlot();
  const news = noticesLink();
  const listEl = h("div.vlist", { id: "inbox-list", tabindex: "-1" });
  const emptyEl = h("div.list-empty", { hidden: true });
  let last: InboxPage | null = null;

  const list = new VirtualList<InboxRow>(listEl, {
    rowRem,
    pageSize: PAGE,
    async fetch(offset, limit) {
      const page = await track(inbox.page({ search: mem.search.trim(), filter: mem.filter, offset, limit }));
      last = page;
      msg.clear();
      showCounts(page);
      return page;
    },
    render: renderRow,
    placeholder: () => h("div.case-row.case-row-loading", { "aria-hidden": "true" }, "正在加载…"),
    onLength: (n) => showLength(n),
    onError: (e) => msg.show("error", "读取待办失败：", errorText(e)),
  });

  function showCounts(p: InboxPage): void {
    replaceChildren(overdue, h("span.tile-label", "逾期"), h("span.tile-num", count(p.counts.overdue)));
    replaceChildren(dueSoon, h("span.tile-label", "即将到期"), h("span.tile-num", count(p.counts.due_soon)));
    const chipEls = [chip("all", `全部 ${count(p.total)}`)];
    for (const s of p.counts.by_stage) chipEls.push(chip(`stage:${s.stage}`, `${s.stage_zh} ${count(s.count)}`));
    replaceChildren(chips, chipEls);
    markFilter();
  }

  function chip(filter: InboxFilter, label: string): HTMLButtonElement {
    const b = h("button.chip", { "data-filter": filter }, label);
    b.addEventListener("click", () => setFilter(filter));
    return b;
  }

  function markFilter(): void {
    overdue.setAttribute("aria-pressed", String(mem.filter === "overdue"));
    dueSoon.setAttribute("aria-pressed", String(mem.filter === "due_soon"));
    for (const c of Array.from(chips.querySelectorAll<HTMLElement>(".chip"))) c.setAttribute("aria-pressed", String(c.dataset.filter === mem.filter));
  }

  function setFilter(f: InboxFilter): void {
    // Tapping the lit filter again shows everything again.
    mem.filter = mem.filter === f ? "all" : f;
    mem.index = 0;
    markFilter();
    list.reset();
  }

  function showLength(n: number): void {
    const filtered = mem.filter !== "all" || mem.search.trim() !== "";
    result.textContent = filtered ? `找到 ${count(n)} 件` : `共 ${count(n)} 件`;
    emptyEl.hidden = n > 0;
    if (n > 0) return;
    if (last && last.total === 0) {
      replaceChildren(emptyEl, h("p", "手机上还没有案件。"), h("p", "有信号时到“同步”下载本村的案件。"), h("a.btn.btn-secondary", { href: href("sync") }, "去同步"));
    } else {
      const reset = h("button.btn.btn-secondary", "显示全部案件");
      reset.addEventListener("click", () => {
        mem.search = "";
        search.value = "";
        clearBtn.hidden = true;
        mem.filter = "all";
        markFilter();
        list.reset();
      });
      replaceChildren(emptyEl, h("p", "没有符合条件的案件。"), reset);
    }
  }

  overdue.addEventListener("click", () => setFilter("overdue"));
  dueSoon.addEventListener("click", () => setFilter("due_soon"));
  const runSearch = debounce(300, () => {
    mem.index = 0;
    list.reset();
  });
  const onSearch = (): void => {
    if (search.value === mem.search) return;
    mem.search = search.value;
    clearBtn.hidden = !search.value;
    runSearch();
  };
  // change/blur too: a field cleared by a script or an IME may not fire input.
  search.addEventListener("input", onSearch);
  search.addEventListener("change", onSearch);
  search.addEventListener("blur", onSearch);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      runSearch.flush();
      search.blur();
    }
  });
  clearBtn.addEventListener("click", () => {
    search.value = "";
    mem.search = "";
    clearBtn.hidden = true;
    runSearch.cancel();
    list.reset();
    search.focus();
  });

  const el = h(
    "section",
    { "data-screen": "inbox", class: "screen screen-inbox" },
    h("div.inbox-top", news.el, h("div.tiles", overdue, dueSoon), chips, h("div.search", icon("search", "search-icon"), search, clearBtn), msg.el, result),
    h("div.vlist-wrap", listEl, emptyEl),
  );

  const onResize = debounce(150, () => list.relayout());
  window.addEventListener("resize", onResize);
  const offFont = onFontSizeChange(() => list.relayout());
  // A sync round brings new and changed cases: fetch the rows in view again.
  const offSync = onSyncDone(() => {
    list.refresh();
    news.refresh();
  });
  list.reset();
  list.scrollToIndex(mem.index);

  return {
    el,
    title: "待办",
    tab: "inbox",
    leave: () => {
      mem.index = list.firstVisible();
      window.removeEventListener("resize", onResize);
      offFont();
      offSync();
    },
  };
}

function renderRow(r: InboxRow): HTMLElement {
  const place = [r.address || (r.door_plate ? `门牌 ${r.door_plate}` : ""), r.village_name].filter(Boolean).join(" · ");
  return h(
    "a",
    {
      class: `case-row${r.due ? ` case-row-${r.due.urgency}` : ""}`,
      role: "listitem",
      href: r.household_id ? href("household", r.household_id) : href("case", r.case_id),
      "data-case-id": r.case_id,
      // Rows have a fixed height (the list is virtual): a Tibetan line above each text would
      // not fit, so rows stay Chinese (they are mostly names and places anyway).
      translate: "no",
    },
    h("div.row-l1", h("span.row-name", r.name), r.id_last4 ? h("span.row-id", `身份证后4位 ${r.id_last4}`) : null, r.pending ? pendingMark() : null),
    h("div.row-l2", dueBadge(r.due), h("span.row-stage", r.stage_zh)),
    h("div.row-l3", place),
  );
}
