// One checklist item on the visit screen, by kind. Each widget updates itself in place from a
// new VisitView, so re-rendering after every answer never disturbs what is being typed.
import type { Answer, ChecklistItem, PhotoView, VisitView } from "../api";
import { h, replaceChildren, type Child } from "../dom";
import { fenToInput, parseInteger, parseYuan } from "../format";
import { confirmDialog, optButton, photoButton, press, showPhoto, uploadWord } from "../ui/widgets";

export interface ItemCtx {
  readonly(): boolean;
  /** The user is typing here or a change to it is on its way: do not overwrite the input. */
  busy(key: string): boolean;
  /** Record an answer; `later` debounces (typing), otherwise it is sent at once. */
  answer(key: string, a: Answer | null, later: boolean): void;
  flush(key: string): void;
  attach(key: string, files: File[], status: (text: string | null, isError?: boolean) => void): void;
  detach(key: string, photoId: string): void;
}

export interface ItemWidget {
  key: string;
  el: HTMLElement;
  update(v: VisitView): void;
  /** The command rejected the last answer (kind "invalid"): say why beside the item. */
  reject(message: string): void;
  focus(): void;
}

const TYPING_PROBLEMS = new Set(["wrong_type", "out_of_range", "unknown_choice", "duplicate_choice", "too_long", "unknown_item"]);

export function buildItem(item: ChecklistItem, ctx: ItemCtx): ItemWidget {
  return new Item(item, ctx);
}

class Item implements ItemWidget {
  readonly key: string;
  readonly el: HTMLElement;
  private errEl = h("p.field-error", { role: "alert", hidden: true });
  private local: string | null = null; // the typed text is not a number, etc.
  private rejected: string | null = null;
  private remote: string | null = null;
  private control: Control;
  private photos: PhotoBlock | null = null;

  constructor(
    item: ChecklistItem,
    private readonly ctx: ItemCtx,
  ) {
    this.key = item.key;
    const labelId = `lbl-${item.key}`;
    this.control = makeControl(item, ctx, labelId, (m) => {
      this.local = m;
      this.rejected = null;
      this.showError();
    });
    const takesPhotos = item.kind.type === "photo" || item.kind.type === "signature" || item.photo.type !== "none";
    if (takesPhotos) this.photos = new PhotoBlock(item, ctx);
    const optional = !item.required && item.kind.type !== "signature";
    this.el = h(
      "div",
      { class: `item item-${item.kind.type}`, "data-item-key": item.key, id: `item-${item.key}` },
      h(this.control.labelFor ? "label" : "p", { class: "item-label", id: labelId, for: this.control.labelFor ?? null }, item.label_zh, optional ? h("span.tag-optional", "选填") : null),
      item.kind.type === "signature" ? h("p.sign-note", "请拍摄农户签字并按手印的《承诺授权书》") : null,
      item.help_zh ? h("p.hint", item.help_zh) : null,
      this.control.el,
      this.photos?.el ?? null,
      this.errEl,
    );
  }

  update(v: VisitView): void {
    this.control.update(v.answers[this.key], this.ctx.busy(this.key), this.ctx.readonly());
    this.photos?.update(v.item_photos[this.key] ?? [], this.ctx.readonly());
    const p = v.outstanding.find((o) => o.item === this.key && TYPING_PROBLEMS.has(o.kind));
    this.remote = p ? p.message_zh : null;
    this.showError();
  }

  reject(message: string): void {
    this.rejected = message;
    this.showError();
  }

  focus(): void {
    const f = this.el.querySelector<HTMLElement>("input:not([type=file]), textarea, button:not(:disabled)");
    f?.focus();
  }

  private showError(): void {
    if (!this.el) return; // a control reporting during construction
    const m = this.local ?? this.rejected ?? this.remote;
    this.errEl.hidden = !m;
    replaceChildren(this.errEl, m ? ["⚠ ", m] : null);
    this.el.classList.toggle("has-error", !!m);
  }
}

interface Control {
  el: HTMLElement | null;
  labelFor?: string;
  update(a: Answer | undefined, busy: boolean, readonly: boolean): void;
}

function makeControl(item: ChecklistItem, ctx: ItemCtx, labelId: string, setLocal: (m: string | null) => void): Control {
  const k = item.kind;
  switch (k.type) {
    case "yes_no":
      return optionButtons(item, ctx, labelId, [
        { value: "true", label_zh: "是" },
        { value: "false", label_zh: "否" },
      ], false);
    case "choice":
      return optionButtons(item, ctx, labelId, k.options, false);
    case "multi_choice":
      return optionButtons(item, ctx, labelId, k.options, true);
    case "integer":
      return numberInput(item, ctx, k.unit_zh, "numeric", setLocal, (s) => {
        const n = parseInteger(s);
        if (n === null) return { answer: null };
        if (isNaN(n)) return { error: "请输入整数，例如 3" };
        if (k.min !== null && n < k.min) return { error: `不能小于${k.min}${k.unit_zh}` };
        if (k.max !== null && n > k.max) return { error: `不能大于${k.max}${k.unit_zh}` };
        return { answer: { type: "integer", value: n } };
      }, (a) => (a.type === "integer" ? String(a.value) : ""));
    case "money":
      return numberInput(item, ctx, "元", "decimal", setLocal, (s) => {
        const fen = parseYuan(s);
        if (fen === null) return { answer: null };
        if (isNaN(fen)) return { error: "请输入金额，例如 1200 或 1200.50" };
        return { answer: { type: "money", value: { fen } } };
      }, (a) => (a.type === "money" ? fenToInput(a.value.fen) : ""));
    case "text":
      return textArea(item, ctx, k.max_chars, setLocal);
    case "date":
      return dateInput(item, ctx);
    case "photo":
    case "signature":
      return { el: null, update() {} };
  }
}

function optionButtons(item: ChecklistItem, ctx: ItemCtx, labelId: string, options: { value: string; label_zh: string }[], multi: boolean): Control {
  const yesNo = item.kind.type === "yes_no";
  let local: string[] = [];
  const buttons = options.map((o) => {
    const b = optButton(o.label_zh, { "data-answer": o.value });
    b.addEventListener("click", () => {
      if (ctx.readonly()) return;
      if (multi) {
        local = local.includes(o.value) ? local.filter((v) => v !== o.value) : options.map((x) => x.value).filter((v) => v === o.value || local.includes(v));
      } else local = [o.value];
      paint();
      const answer: Answer | null = yesNo
        ? { type: "bool", value: o.value === "true" }
        : multi
          ? local.length
            ? { type: "choices", value: local.slice() }
            : null
          : { type: "choice", value: o.value };
      ctx.answer(item.key, answer, false);
    });
    return b;
  });
  const paint = (): void => {
    for (const b of buttons) press(b, local.includes(b.dataset.answer ?? ""));
  };

  const short = options.every((o) => o.label_zh.length <= 4);
  const el = h("div", { class: `opts${yesNo ? " opts-yn" : short ? " opts-grid" : ""}`, role: "group", "aria-labelledby": labelId }, buttons);
  return {
    el,
    update(a, busy, readonly) {
      for (const b of buttons) b.disabled = readonly;
      // While our own change is on its way the local state is newer than the view's.
      if (busy) return;
      if (!a) local = [];
      else if (a.type === "bool") local = [String(a.value)];
      else if (a.type === "choice") local = [a.value];
      else if (a.type === "choices") local = a.value.slice();
      paint();
    },
  };
}

type Parsed = { answer: Answer | null } | { error: string };

function numberInput(
  item: ChecklistItem,
  ctx: ItemCtx,
  unit: string,
  mode: "numeric" | "decimal",
  setLocal: (m: string | null) => void,
  parse: (s: string) => Parsed,
  show: (a: Answer) => string,
): Control {
  const id = `in-${item.key}`;
  const input = h("input.num", { type: "text", inputmode: mode, id, "data-input": item.key, autocomplete: "off", enterkeyhint: "next" });
  const onChange = (): void => {
    const r = parse(input.value);
    if ("error" in r) {
      setLocal(r.error);
      return;
    }
    setLocal(null);
    ctx.answer(item.key, r.answer, true);
  };
  // change too: a field emptied by a script or some IMEs fires no input event.
  input.addEventListener("input", onChange);
  input.addEventListener("change", onChange);
  input.addEventListener("blur", () => ctx.flush(item.key));
  const el = h("div.num-row", input, unit ? h("span.unit", unit) : null);
  return {
    el,
    labelFor: id,
    update(a, busy, readonly) {
      input.readOnly = readonly;
      if (busy || document.activeElement === input) return;
      input.value = a ? show(a) : "";
    },
  };
}

function textArea(item: ChecklistItem, ctx: ItemCtx, max: number, setLocal: (m: string | null) => void): Control {
  const id = `in-${item.key}`;
  const area = h("textarea.text", { id, "data-input": item.key, rows: 3 });
  const counter = h("span.counter", { "aria-live": "polite" });
  const countNow = (): void => {
    const n = Array.from(area.value).length;
    counter.textContent = `${n}/${max}字`;
    counter.classList.toggle("counter-over", n > max);
    setLocal(n > max ? `最多${max}个字，现在有${n}个字，请删减` : null);
  };
  const onChange = (): void => {
    countNow();
    const t = area.value;
    ctx.answer(item.key, t.trim() ? { type: "text", value: t } : null, true);
  };
  area.addEventListener("input", onChange);
  area.addEventListener("change", onChange);
  area.addEventListener("blur", () => ctx.flush(item.key));
  countNow();
  return {
    el: h("div.text-wrap", area, counter),
    labelFor: id,
    update(a, busy, readonly) {
      area.readOnly = readonly;
      if (busy || document.activeElement === area) return;
      area.value = a && a.type === "text" ? a.value : "";
      countNow();
    },
  };
}

function dateInput(item: ChecklistItem, ctx: ItemCtx): Control {
  const id = `in-${item.key}`;
  const input = h("input.date", { type: "date", id, "data-input": item.key });
  const send = (later: boolean): void => ctx.answer(item.key, input.value ? { type: "date", value: input.value } : null, later);
  input.addEventListener("input", () => send(true));
  input.addEventListener("change", () => send(false));
  input.addEventListener("blur", () => ctx.flush(item.key));
  return {
    el: input,
    labelFor: id,
    update(a, busy, readonly) {
      input.readOnly = readonly;
      input.disabled = readonly;
      if (busy || document.activeElement === input) return;
      input.value = a && a.type === "date" ? a.value : "";
    },
  };
}

class PhotoBlock {
  readonly el: HTMLElement;
  private thumbs = h("div.thumbs");
  private countEl = h("p.photo-count");
  private status = h("p.photo-status", { "aria-live": "polite", hidden: true });
  private picker: ReturnType<typeof photoButton>;
  private shownIds = "";
  private min: number;

  constructor(
    private readonly item: ChecklistItem,
    private readonly ctx: ItemCtx,
  ) {
    this.min = item.photo.type === "required" ? item.photo.min : item.kind.type === "signature" ? 1 : 0;
    this.picker = photoButton(item.kind.type === "signature" ? "拍摄授权书" : "拍照", { "data-photo-input": item.key }, (files) =>
      ctx.attach(item.key, files, (text, isError) => {
        this.status.hidden = !text;
        this.status.textContent = text ?? "";
        this.status.classList.toggle("text-danger", !!isError);
      }),
    );
    this.el = h("div.photos", this.thumbs, this.countEl, this.status, this.picker.el);
  }

  update(list: PhotoView[], readonly: boolean): void {
    const ids = list.map((p) => p.id + p.upload).join(",");
    if (ids !== this.shownIds || this.thumbs.classList.contains("ro") !== readonly) {
      this.shownIds = ids;
      this.thumbs.classList.toggle("ro", readonly);
      replaceChildren(this.thumbs, list.map((p) => this.thumb(p, readonly)));
    }
    const n = list.length;
    const parts: Child[] = [n ? `已拍${n}张` : "还没有照片"];
    if (this.min > 0) parts.push(n >= this.min ? " ✓" : `，至少需要${this.min}张`);
    replaceChildren(this.countEl, parts);
    this.countEl.classList.toggle("text-danger", this.min > 0 && n < this.min);
    this.picker.el.hidden = readonly;
    this.picker.setLabel(n ? (this.item.kind.type === "signature" ? "重拍或再拍一张" : "再拍一张") : this.item.kind.type === "signature" ? "拍摄授权书" : "拍照");
  }

  private thumb(p: PhotoView, readonly: boolean): HTMLElement {
    const open = h("button.thumb-open", { "aria-label": `${p.caption_zh || "照片"}，点击查看大图` }, p.thumb_url ? h("img", { src: p.thumb_url, alt: "" }) : h("span.photo-none", "无预览"));
    open.addEventListener("click", () => showPhoto(p));
    const remove = readonly
      ? null
      : h("button.thumb-remove", { "aria-label": "删除这张照片" }, "×");
    remove?.addEventListener("click", () => {
      void confirmDialog("删除这张照片吗？", "删除", "不删除", true).then((ok) => {
        if (ok) this.ctx.detach(this.item.key, p.id);
      });
    });
    return h("div.thumb", { "data-photo-id": p.id }, open, remove, h("span", { class: `thumb-state photo-${p.upload}` }, uploadWord(p)));
  }
}
