// 同步: what is waiting, a big 立即同步, live progress, and the two kinds of problems a worker
// must decide on (changes the server refused, and fields edited on two phones).
import { sync, type ConflictEntry, type QuarantineEntry, type SyncProgress, type SyncStatus } from "../api";
import { h, replaceChildren } from "../dom";
import { count, when } from "../format";
import { errorText, track } from "../ipc";
import { go } from "../router";
import { onSyncDone, onSyncStatus, setSyncStatus } from "../session";
import type { View } from "../shell";
import { banner, button, confirmDialog, empty } from "../ui/widgets";

const PHASE: Record<SyncProgress["phase"], string> = {
  push: "正在上传记录…",
  pull: "正在下载更新…",
  snapshot: "正在下载全部档案（第一次会比较久）…",
  photos: "正在上传照片…",
};

function kb(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)}MB` : `${Math.max(1, Math.round(bytes / 1024))}KB`;
}

export async function syncScreen(): Promise<View> {
  const last = h("p.sync-last", { id: "sync-last" });
  const outbox = h("li", { id: "sync-outbox" });
  const photosWaiting = h("li", { id: "sync-photos-waiting" });
  const photosFailed = h("li.text-danger");
  const other = h("li.hint");
  const message = h("div", { id: "sync-message", "aria-live": "polite" });
  const expired = h("div");
  const phase = h("p.sync-phase");
  const recBar = h("progress", { id: "sync-progress-records", max: 1 });
  const recText = h("span.hint");
  const photoBar = h("progress", { id: "sync-progress-photo", max: 1, value: 0 });
  const photoText = h("span.hint");
  const progressBox = h(
    "div",
    { class: "sync-progress", hidden: true },
    phase,
    h("label.bar-label", { for: "sync-progress-records" }, "记录 ", recText),
    recBar,
    h("label.bar-label", { for: "sync-progress-photo" }, "照片 ", photoText),
    photoBar,
  );
  const quarantineEl = h("div.problem-list");
  const conflictsEl = h("div.problem-list");
  const noProblems = empty("没有需要处理的问题");

  const now = button(
    "立即同步",
    { id: "sync-now", kind: "primary", icon: "sync" },
    async () => {
      replaceChildren(message);
      try {
        await track(sync.now());
        progressBox.hidden = false;
        phase.textContent = "正在连接服务器…";
        recBar.removeAttribute("value");
        photoBar.value = 0;
      } catch (e) {
        replaceChildren(message, banner("error", errorText(e)));
      }
    },
    "正在开始…",
  );

  function paint(s: SyncStatus | null): void {
    if (!s) return;
    last.textContent = s.running ? "正在同步…" : s.last_sync_at ? `上次同步：${when(s.last_sync_at)}` : "还没有同步过";
    outbox.textContent = `待上传 ${count(s.outbox)} 条`;
    photosWaiting.textContent = `照片待上传 ${count(s.photos_waiting)} 张`;
    photosFailed.textContent = s.photos_failed ? `⚠ ${count(s.photos_failed)}张照片上传失败，会自动再试` : "";
    photosFailed.hidden = !s.photos_failed;
    other.textContent = `手机上共 ${count(s.records)} 条记录，已上传照片 ${count(s.photos_done)} 张`;
    now.disabled = s.running;
    if (!s.running && !now.getAttribute("aria-busy")) progressBox.hidden = true;
    if (s.running) progressBox.hidden = false;
    replaceChildren(expired, s.login_expired ? expiredBlock() : null);
  }

  function expiredBlock(): HTMLElement {
    return banner(
      "error",
      h("strong", "登录已失效，请重新登录"),
      h("p", "未上传的记录会保留在手机上。"),
      button("重新登录", { kind: "danger", id: "sync-relogin" }, async () => {
        go("relogin");
      }),
    );
  }

  async function loadProblems(): Promise<void> {
    try {
      const [q, c] = await Promise.all([track(sync.quarantine()), track(sync.conflicts())]);
      paintQuarantine(q);
      paintConflicts(c);
      noProblems.hidden = q.length + c.length > 0;
    } catch (e) {
      replaceChildren(quarantineEl, banner("error", "读取问题列表失败：", errorText(e)));
    }
  }

  async function refresh(): Promise<void> {
    try {
      setSyncStatus(await track(sync.status()));
    } catch (e) {
      replaceChildren(message, banner("error", errorText(e)));
    }
    await loadProblems();
  }

  function paintQuarantine(list: QuarantineEntry[]): void {
    if (!list.length) {
      replaceChildren(quarantineEl);
      return;
    }
    replaceChildren(
      quarantineEl,
      h("h2.sec-title", `服务器没有接受的修改（${list.length}）`),
      h("p.hint", "其他记录照常上传。请看原因：改正后点“重试”，确实不需要的点“放弃”。"),
      list.length > 1 ? button("全部重试", {}, async () => {
        try {
          await track(sync.retry(null));
          await refresh();
        } catch (e) {
          replaceChildren(message, banner("error", errorText(e)));
        }
      }, "正在重试…") : null,
      list.map((q) => {
        const err = h("p.field-error", { hidden: true });
        const retry = button("重试", { attrs: { class: "btn btn-secondary retry" } }, async () => {
          try {
            await track(sync.retry(q.command_id));
            await refresh();
          } catch (e) {
            err.hidden = false;
            err.textContent = errorText(e);
          }
        }, "正在重试…");
        const discard = button("放弃", { attrs: { class: "btn btn-danger discard" } }, async () => {
          const ok = await confirmDialog(`放弃这条修改吗？\n${q.what_zh}\n放弃后不能恢复。`, "放弃这条修改", "不放弃", true);
          if (!ok) return;
          try {
            await track(sync.discard(q.command_id));
            await refresh();
          } catch (e) {
            err.hidden = false;
            err.textContent = errorText(e);
          }
        }, "正在放弃…");
        return h(
          "div",
          { class: "card problem", "data-command-id": q.command_id },
          h("p.problem-what", q.what_zh),
          h("p", "原因：", q.reason_zh),
          h("p.hint", when(q.quarantined_at)),
          h("div.btn-row", retry, discard),
          err,
        );
      }),
    );
  }

  function paintConflicts(list: ConflictEntry[]): void {
    if (!list.length) {
      replaceChildren(conflictsEl);
      return;
    }
    replaceChildren(
      conflictsEl,
      h("h2.sec-title", `档案冲突（${list.length}）`),
      h("p.hint", "同一项信息在两部手机上都改了。请选择要保留哪一个："),
      list.map((c) => {
        const err = h("p.field-error", { hidden: true });
        const choose = (choice: "base" | "theirs" | "mine", label: string): HTMLButtonElement =>
          button(label, { attrs: { "data-choice": choice, class: `btn btn-secondary choice-${choice}` } }, async () => {
            try {
              await track(sync.resolve(c.household_id, c.field, choice));
              await refresh();
            } catch (e) {
              err.hidden = false;
              err.textContent = errorText(e);
            }
          }, "正在保存…");
        return h(
          "div",
          { class: "card problem", "data-conflict": `${c.household_id}:${c.field}` },
          h("p.problem-what", `${c.household_name}家 · ${c.field_zh}`),
          h(
            "div",
            { class: "choice-col" },
            choose("base", `原值：${c.base_zh || "（空）"}`),
            choose("theirs", `对方修改：${c.theirs_zh || "（空）"}`),
            choose("mine", `我的修改：${c.mine_zh || "（空）"}`),
          ),
          err,
        );
      }),
    );
  }

  const offStatus = onSyncStatus(paint);
  const offDone = onSyncDone((d) => {
    progressBox.hidden = true;
    replaceChildren(
      message,
      d.ok ? banner("ok", "同步完成") : banner("error", "同步没有完成：", d.error ? errorText(d.error) : "请稍后再试", h("br"), "已填写的内容都保存在手机上，会自动再试。"),
    );
    void loadProblems();
  });
  let unlisten: (() => void) | null = null;
  let left = false;
  sync
    .onProgress((p) => {
      progressBox.hidden = false;
      phase.textContent = PHASE[p.phase] ?? "正在同步…";
      if (p.records_total > 0) {
        recBar.max = p.records_total;
        recBar.value = p.records_done;
        recText.textContent = `${count(p.records_done)}/${count(p.records_total)}`;
      } else {
        // Total unknown (pulling from the server): an indeterminate bar.
        recBar.removeAttribute("value");
        recText.textContent = p.records_done ? `已处理 ${count(p.records_done)} 条` : "";
      }
      if (p.photo) {
        photoBar.max = Math.max(1, p.photo[2]);
        photoBar.value = p.photo[1];
        photoText.textContent = `${kb(p.photo[1])}/${kb(p.photo[2])}`;
      } else {
        photoBar.value = 0;
        photoText.textContent = "";
      }
    })
    .then(
      (u) => {
        if (left) u();
        else unlisten = u;
      },
      () => undefined,
    );

  await refresh();

  const el = h(
    "section",
    { "data-screen": "sync", class: "screen screen-scroll" },
    expired,
    last,
    h("ul.sync-counts", outbox, photosWaiting, photosFailed, other),
    now,
    progressBox,
    message,
    quarantineEl,
    conflictsEl,
    noProblems,
    h("p.hint", "有信号时应用会自动同步，不需要一直点。没有信号时填写的内容都保存在手机上。"),
  );
  return {
    el,
    title: "同步",
    tab: "sync",
    leave: () => {
      left = true;
      offStatus();
      offDone();
      if (unlisten) unlisten();
    },
  };
}
