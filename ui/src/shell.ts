// The frame around every screen: header (back, title, settings), the sync line, the
// login-expired banner, and the bottom navigation with the 同步 badge.
import { h, icon, replaceChildren, type IconName } from "./dom";
import { back as goBack, go, href } from "./router";
import { needsAttention, onSyncStatus, statusLine } from "./session";
import { banner, onTap } from "./ui/widgets";

export type Tab = "inbox" | "scan" | "proxy" | "sync";

export interface View {
  /** The screen root: <section data-screen="…">. */
  el: HTMLElement;
  title: string;
  /** Show a 返回 button that goes back, or to this route when there is no history. */
  back?: string[];
  /** Which tab is lit; "none" shows the bar with none lit; absent: no bar (focused flows). */
  tab?: Tab | "none";
  /** Login, PIN: no sync line, no settings. */
  bare?: boolean;
  /** Screens that need every line of height (the home visit): no sync line. */
  noStatus?: boolean;
  /** Called when the screen is left (stop the camera, flush typing). */
  leave?: () => void;
  /** Called on pagehide / app going to the background: save what is typed. */
  flush?: () => void;
}

const TABS: { tab: Tab; label: string; icon: IconName }[] = [
  { tab: "inbox", label: "待办", icon: "inbox" },
  { tab: "scan", label: "扫门牌", icon: "scan" },
  { tab: "proxy", label: "代申报", icon: "proxy" },
  { tab: "sync", label: "同步", icon: "sync" },
];

let unsubscribe: (() => void) | null = null;

export function mount(root: HTMLElement, view: View): void {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  const header = h(
    "header",
    { class: "topbar" },
    view.back
      ? h("button.topbar-back", { id: "back", "aria-label": "返回", onclick: () => goBack(view.back ?? ["inbox"]) }, icon("back"), h("span", "返回"))
      : null,
    h("h1.topbar-title", view.title),
    view.bare || view.el.dataset.screen === "settings"
      ? null
      : h("a.topbar-icon", { href: href("settings"), id: "settings-open", "aria-label": "设置" }, icon("gear")),
  );
  const line = view.bare || view.noStatus ? null : h("a.statusline", { href: href("sync"), id: "status-line" });
  const expired = h("div.expired-slot");
  const nav = view.tab ? navBar(view.tab) : null;
  const frame = h("div", { class: `frame${nav ? " has-nav" : ""}` }, header, line, expired, view.el, nav);
  replaceChildren(root, frame);
  if (!view.bare) {
    unsubscribe = onSyncStatus((s) => {
      if (line) line.textContent = statusLine(s);
      line?.classList.toggle("statusline-warn", needsAttention(s) || !!s?.last_error);
      const badge = nav?.querySelector<HTMLElement>(".nav-badge");
      if (badge) {
        const waiting = s ? s.outbox + s.photos_waiting : 0;
        const problem = needsAttention(s);
        badge.hidden = !problem && waiting === 0;
        badge.textContent = problem ? "!" : waiting > 99 ? "99+" : String(waiting);
        badge.classList.toggle("nav-badge-problem", problem);
        badge.setAttribute("aria-label", problem ? "有问题需要处理" : `${waiting}项待上传`);
      }
      replaceChildren(expired, s?.login_expired ? expiredBanner() : null);
    });
  }
}

function navBar(active: Tab | "none"): HTMLElement {
  return h(
    "nav",
    { class: "bottomnav", "aria-label": "主菜单" },
    TABS.map((t) =>
      h(
        "a",
        { href: href(t.tab), id: `nav-${t.tab}`, class: "nav-item", "aria-current": t.tab === active ? "page" : null },
        icon(t.icon, "nav-icon"),
        h("span.nav-label", t.label),
        t.tab === "sync" ? h("span.nav-badge", { hidden: true }) : null,
      ),
    ),
  );
}

function expiredBanner(): HTMLElement {
  const b = h("button.btn.btn-danger", { id: "relogin" }, "重新登录");
  const msg = h("p.expired-note", "未上传的记录会保留在手机上，重新登录后继续上传。");
  // The store stays open: signing in again only renews the token.
  onTap(b, async () => go("relogin"));
  return banner("error", h("strong", "登录已失效，请重新登录"), msg, b);
}

// The on-screen keyboard takes half of a small phone: hide the bottom bar while typing. The bar
// comes back only after a pause, so a tap that moves focus from a field to a button is not
// undone by the layout shifting under the finger between press and release.
export function watchKeyboard(): void {
  let t: number | undefined;
  const typing = (el: Element | null): boolean =>
    !!el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || (el.tagName === "INPUT" && !/^(file|button|submit|checkbox|radio)$/.test((el as HTMLInputElement).type)));
  const later = (): void => {
    if (t !== undefined) clearTimeout(t);
    t = window.setTimeout(() => document.body.classList.toggle("typing", typing(document.activeElement)), 350);
  };
  document.addEventListener("focusin", (e) => {
    if (!typing(e.target as Element)) return later();
    if (t !== undefined) clearTimeout(t);
    document.body.classList.add("typing");
  });
  document.addEventListener("focusout", later);
}
