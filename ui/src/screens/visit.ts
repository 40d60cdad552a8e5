// 入户核查: the checklist one section per screen, with the results always in view. Every
// answer goes to Rust at once (typing: after a short pause) and the screen follows the
// VisitView that comes back.
import { photos, visit, type Answer, type VisitView } from "../api";
import { h, replaceChildren } from "../dom";
import { clock, when } from "../format";
import { errorText, holdBusy, toError, track } from "../ipc";
import { replace, replaceQuiet } from "../router";
import { statusSoon } from "../session";
import type { View } from "../shell";
import { banner, bannerSlot, button } from "../ui/widgets";
import { buildItem, type ItemCtx, type ItemWidget } from "./visit-items";
import { VisitEvidence } from "./visit-evidence";
import { VisitResults } from "./visit-results";

// The view visit.start / visit.correct already returned, so opening the screen needs no
// second round trip.
const primed = new Map<string, VisitView>();
export function primeVisit(v: VisitView): void {
  primed.set(v.visit_id, v);
}

interface Pending {
  timer: number;
  answer: Answer | null;
  release: () => void;
}

export async function visitScreen(id: string, sectionParam?: string): Promise<View> {
  let view = primed.get(id) ?? (await track(visit.open(id)));
  primed.delete(id);
  const sections = view.template.sections;
  let si = Math.min(Math.max((parseInt(sectionParam ?? "1", 10) || 1) - 1, 0), sections.length - 1);

  const widgets = new Map<string, ItemWidget>();
  const pending = new Map<string, Pending>();
  const sending = new Map<string, number>();
  let queue: Promise<unknown> = Promise.resolve();

  // Commands on one visit run one after another, in the order the user made the changes;
  // the app counts as busy from the moment one is queued.
  function enqueue<T>(f: () => Promise<T>): Promise<T> {
    const release = holdBusy();
    const p = queue.then(f, f);
    queue = p.catch(() => undefined);
    p.then(release, release);
    return p;
  }

  function send(key: string, answer: Answer | null): void {
    sending.set(key, (sending.get(key) ?? 0) + 1);
    enqueue(() => track(visit.answer(id, key, answer))).then(
      (v) => {
        sending.set(key, (sending.get(key) ?? 1) - 1);
        apply(v);
      },
      (e: unknown) => {
        sending.set(key, (sending.get(key) ?? 1) - 1);
        const err = toError(e);
        const w = widgets.get(err.field ?? key) ?? widgets.get(key);
        if (w) w.reject(err.message || errorText(err));
        else msg.show("error", errorText(err));
      },
    );
  }

  function flushKey(key: string): void {
    const p = pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(key);
    send(key, p.answer);
    p.release();
  }

  function flushAll(): void {
    for (const k of Array.from(pending.keys())) flushKey(k);
  }

  const ctx: ItemCtx = {
    readonly: () => !view.editable,
    busy: (key) => pending.has(key) || (sending.get(key) ?? 0) > 0,
    answer(key, a, later) {
      if (!view.editable) return;
      const old = pending.get(key);
      if (old) {
        clearTimeout(old.timer);
        old.release();
      }
      if (!later) {
        pending.delete(key);
        send(key, a);
        return;
      }
      pending.set(key, { answer: a, timer: window.setTimeout(() => flushKey(key), 300), release: holdBusy() });
    },
    flush: flushKey,
    attach(key, files, status) {
      void (async () => {
        for (const file of files) {
          status("正在处理照片…");
          try {
            const staged = await track(photos.stage(file));
            status("正在保存照片…");
            apply(await enqueue(() => track(visit.attachPhoto(id, key, staged))));
            status(null);
          } catch (e) {
            status(`照片没有保存：${errorText(e)}`, true);
            return;
          }
        }
      })();
    },
    detach(key, photoId) {
      enqueue(() => track(visit.detachPhoto(id, key, photoId))).then(apply, (e: unknown) => msg.show("error", "删除照片失败：", errorText(e)));
    },
  };

  // --- the screen -----------------------------------------------------------------------
  const results = new VisitResults();
  const evidence = new VisitEvidence(view, {
    locate: () => enqueue(() => track(visit.locate(id))),
    setPresent: (list) => enqueue(() => track(visit.setPresent(id, list))),
    applied: (v) => apply(v),
  });
  const title = h("h2", { id: "section-title", class: "section-title" });
  const tocBtn = h("button.btn.btn-plain.toc-btn", { "aria-expanded": "false", "aria-controls": "visit-toc" }, "目录");
  const toc = h("ol.toc", { id: "visit-toc", hidden: true });
  const progress = h("div.sec-progress", { "aria-hidden": "true" }, h("span"));
  const saved = h("p.saved-line", { id: "visit-saved-at" });
  const msg = bannerSlot("visit-message");
  const finalNote = h("div.final-note");
  const itemsEl = h("div.items");
  const noneNote = h("p.empty", { hidden: true }, "根据前面的回答，本部分不需要填写，请点“下一部分”。");
  const outstandingEl = h("div.outstanding", { id: "outstanding" });
  const savedRow = h("div.saved-row", saved);
  const body = h("div.visit-body", h("div.sec-head", title, tocBtn), toc, progress, savedRow, finalNote, msg.el, evidence.el, itemsEl, noneNote, outstandingEl);
  const footer = h("div.visit-foot");

  tocBtn.addEventListener("click", () => {
    toc.hidden = !toc.hidden;
    tocBtn.setAttribute("aria-expanded", String(!toc.hidden));
    if (!toc.hidden) paintToc();
  });

  const prevBtn = button("‹ 上一部分", { id: "section-prev", icon: "back" }, () => showSection(si - 1));
  prevBtn.setAttribute("aria-label", "上一部分");
  const nextBtn = button("下一部分 ›", { id: "section-next", kind: "primary" }, () => showSection(si + 1));
  const saveBtn = button(
    "保存草稿",
    { id: "visit-save" },
    async () => {
      flushAll();
      try {
        apply(await enqueue(() => track(visit.saveDraft(id))));
        msg.clear();
        saved.classList.remove("flash");
        void saved.offsetWidth; // restart the highlight
        saved.classList.add("flash");
      } catch (e) {
        msg.show("error", "保存草稿失败：", errorText(e));
      }
    },
    "正在保存…",
  );
  const finaliseBtn = button(
    "定稿提交",
    { id: "visit-finalise", kind: "primary" },
    async () => {
      flushAll();
      try {
        apply(await enqueue(() => track(visit.finalise(id))));
        rebuild();
        msg.show("ok", "已定稿提交。有信号时会自动上传。");
        body.scrollTop = 0;
      } catch (e) {
        msg.show("error", errorText(e));
        paintOutstanding();
        outstandingEl.scrollIntoView({ block: "start" });
      }
    },
    "正在提交…",
  );
  const correctBtn = button(
    "更正",
    { id: "visit-correct", kind: "primary" },
    async () => {
      try {
        const v = await track(visit.correct(id));
        primeVisit(v);
        replace("visit", v.visit_id, String(si + 1));
      } catch (e) {
        msg.show("error", "无法更正：", errorText(e));
      }
    },
    "正在准备…",
  );

  function sectionOf(key: string): number {
    return sections.findIndex((s) => s.items.some((i) => i.key === key));
  }

  function renderItems(): void {
    const vis = new Set(view.evaluation.visible);
    const wanted = sections[si].items.filter((i) => vis.has(i.key));
    const wantedKeys = new Set(wanted.map((i) => i.key));
    for (const [k, w] of widgets) {
      if (!wantedKeys.has(k)) {
        flushKey(k);
        w.el.remove();
        widgets.delete(k);
      }
    }
    // Insert new items in template order without moving existing ones: moving a node would
    // take the keyboard away from the field being typed in.
    let ref: ChildNode | null = itemsEl.firstChild;
    for (const it of wanted) {
      let w = widgets.get(it.key);
      if (!w) {
        w = buildItem(it, ctx);
        widgets.set(it.key, w);
      }
      if (w.el === ref) ref = ref.nextSibling;
      else itemsEl.insertBefore(w.el, ref);
      w.update(view);
    }
    noneNote.hidden = wanted.length > 0;
  }

  function paintEvidence(): void {
    evidence.el.hidden = si !== 0;
  }

  function paintTitle(): void {
    title.textContent = `第${si + 1}/${sections.length}部分 ${sections[si].title_zh}`;
    (progress.firstChild as HTMLElement).style.width = `${((si + 1) / sections.length) * 100}%`;
  }

  function paintToc(): void {
    const open = new Set(view.outstanding.map((o) => sectionOf(o.item)));
    replaceChildren(
      toc,
      sections.map((s, i) => {
        const b = h("button", { class: `toc-item${i === si ? " toc-current" : ""}` }, `${i + 1}. ${s.title_zh}`, h("span", { class: open.has(i) ? "toc-todo" : "toc-done" }, open.has(i) ? " · 未完成" : " · ✓"));
        b.addEventListener("click", () => {
          toc.hidden = true;
          tocBtn.setAttribute("aria-expanded", "false");
          showSection(i);
        });
        return h("li", b);
      }),
    );
  }

  function paintSaved(): void {
    const parts = [view.last_saved_at ? `已保存草稿 ${clock(view.last_saved_at)}` : "还没有保存草稿"];
    replaceChildren(saved, parts[0], view.unsaved_changes && view.editable ? h("span.unsaved", " · 有未保存的修改") : null);
  }

  function paintOutstanding(): void {
    const last = si === sections.length - 1;
    outstandingEl.hidden = !last || !view.editable;
    if (outstandingEl.hidden) return;
    const list = view.outstanding;
    if (!list.length) {
      replaceChildren(outstandingEl, banner("ok", "全部填写完毕，可以定稿提交。"));
      return;
    }
    replaceChildren(
      outstandingEl,
      h("h3", `定稿前还需完成 ${list.length} 项（点一项去填写）：`),
      h(
        "ul",
        { class: "out-list" },
        list.map((o) => {
          const s = sectionOf(o.item);
          const b = h("button.out-item", { "data-outstanding-item": o.item }, o.message_zh, s >= 0 ? h("span.hint", `（第${s + 1}部分）`) : null);
          b.addEventListener("click", () => jumpTo(o.item));
          return h("li", b);
        }),
      ),
    );
  }

  function paintFooter(): void {
    prevBtn.disabled = si === 0;
    const last = si === sections.length - 1;
    const end = view.final ? correctBtn : view.editable ? finaliseBtn : null;
    replaceChildren(footer, h("div.foot-row", prevBtn, last ? end : nextBtn));
    if (!view.editable) saveBtn.remove();
    else if (!saveBtn.parentNode) savedRow.appendChild(saveBtn);
  }

  function paintFinal(): void {
    replaceChildren(
      finalNote,
      view.final
        ? banner("info", `已定稿${view.finalized_at ? `（${when(view.finalized_at)}）` : ""}，只能查看。需要修改请在最后一部分点“更正”。`)
        : !view.editable
          ? banner("info", "这是其他人填写的核查，只能查看。")
          : view.supersedes
          ? banner("warn", "这是对已定稿核查的更正。")
          : null,
    );
  }

  function apply(v: VisitView): void {
    view = v;
    results.update(v.evaluation);
    evidence.update(v);
    paintSaved();
    renderItems();
    paintOutstanding();
    if (!toc.hidden) paintToc();
    statusSoon();
  }

  function rebuild(): void {
    for (const w of widgets.values()) w.el.remove();
    widgets.clear();
    paintFinal();
    paintFooter();
    renderItems();
    paintOutstanding();
    el.dataset.final = String(view.final);
    el.dataset.editable = String(view.editable);
  }

  function showSection(i: number): void {
    if (i < 0 || i >= sections.length) return;
    flushAll();
    si = i;
    for (const w of widgets.values()) w.el.remove();
    widgets.clear();
    msg.clear();
    paintTitle();
    paintEvidence();
    renderItems();
    paintOutstanding();
    paintFooter();
    body.scrollTop = 0;
    replaceQuiet("visit", id, String(si + 1));
  }

  function jumpTo(key: string): void {
    const s = sectionOf(key);
    if (s < 0) return;
    if (s !== si) showSection(s);
    const w = widgets.get(key);
    if (!w) return;
    w.el.scrollIntoView({ block: "center" });
    w.el.classList.remove("flash");
    void w.el.offsetWidth; // restart the highlight animation
    w.el.classList.add("flash");
    w.focus();
  }

  const el = h(
    "section",
    { "data-screen": "visit", "data-visit-id": id, class: "screen screen-visit", "data-final": String(view.final) },
    results.el,
    body,
    footer,
  );

  results.update(view.evaluation);
  paintTitle();
  paintEvidence();
  paintSaved();
  rebuild();
  evidence.update(view);
  evidence.locateIfMissing();

  const onHide = (): void => {
    if (document.visibilityState === "hidden") flushAll();
  };
  document.addEventListener("visibilitychange", onHide);

  return {
    el,
    title: view.household_name ? `${view.household_name}家 · ${view.purpose_zh}` : view.purpose_zh,
    noStatus: true,
    tab: "none",
    back: view.case_id || view.household_id ? ["household", view.household_id] : ["inbox"],
    flush: flushAll,
    leave: () => {
      flushAll();
      document.removeEventListener("visibilitychange", onHide);
    },
  };
}
