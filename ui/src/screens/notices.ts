// 消息: what the office sent this worker (a new declaration in the village, a deadline one
// working day away, an overdue step sent up a level), kept on the phone from the last sync.
import { notices, type NoticeView } from "../api";
import { h } from "../dom";
import { when } from "../format";
import { errorText, track } from "../ipc";
import { href } from "../router";
import type { View } from "../shell";

const KIND_ZH: Record<string, string> = {
  new_declaration: "新申报",
  due_soon: "即将到期",
  overdue: "已逾期",
  escalated: "已上报",
  appeal_filed: "申诉",
};

function row(n: NoticeView): HTMLElement {
  const target = n.household_id ? href("household", n.household_id) : n.case_id && n.case_on_phone ? href("case", n.case_id) : null;
  const body = [
    h("div.notice-top", h("span", { class: `notice-kind notice-${n.kind}` }, KIND_ZH[n.kind] ?? "消息"), h("time.notice-time", { datetime: n.at }, when(n.at)), n.read ? null : h("span.notice-new", "新")),
    h("p.notice-text", n.text_zh),
  ];
  return target
    ? h("a", { class: "notice-row", href: target, role: "listitem", "data-notice-id": String(n.id) }, ...body)
    : h("div", { class: "notice-row", role: "listitem", "data-notice-id": String(n.id) }, ...body, h("p.notice-hint", "这个案件不在本机，同步后可查看。"));
}

export async function noticesScreen(): Promise<View> {
  const list = await track(notices.list());
  // Opening the list is reading it; a failure here only keeps the "新" marks for next time.
  if (list.unread > 0) void track(notices.markRead()).catch(() => undefined);
  const el = h(
    "section",
    { "data-screen": "notices", class: "screen screen-scroll screen-pad" },
    list.notices.length
      ? h("div.notice-list", { id: "notice-list", role: "list" }, list.notices.map(row))
      : h("div.list-empty", h("p", "还没有消息。"), h("p", "新申报、即将到期和逾期的提醒会在同步时收到。")),
  );
  return { el, title: "消息", back: ["inbox"], tab: "none" };
}

/** The inbox's link to the messages: loud while some are unread, quiet otherwise. */
export function noticesLink(): { el: HTMLElement; refresh: () => void } {
  const el = h("a", { id: "notices-link", class: "notices-link", href: href("notices"), hidden: true });
  const refresh = (): void => {
    track(notices.list()).then(
      (l) => {
        el.hidden = l.notices.length === 0;
        el.classList.toggle("notices-unread", l.unread > 0);
        el.textContent = l.unread > 0 ? `有${l.unread}条新消息，点此查看 ›` : "查看消息";
      },
      (e) => {
        el.hidden = false;
        el.textContent = `消息读取失败：${errorText(e)}`;
      },
    );
  };
  refresh();
  return { el, refresh };
}
