// Small building blocks shared by the screens.
import type { DueInfo, PhotoView } from "../api";
import { h, icon, replaceChildren, type Attrs, type Child, type IconName } from "../dom";

/**
 * Run `fn` on a tap, at most once at a time: a second tap while the first is still working is
 * ignored (double taps on slow phones must never send twice). While it runs the button is
 * disabled and may show `busyLabel`.
 */
export function onTap(btn: HTMLButtonElement, fn: () => Promise<unknown> | void, busyLabel?: string): void {
  let running = false;
  btn.addEventListener("click", (ev) => {
    ev.preventDefault();
    if (running || btn.disabled) return;
    running = true;
    const target = btn.querySelector<HTMLElement>(".btn-label") ?? btn;
    const label = target.textContent;
    const r = fn();
    if (!r) {
      running = false;
      return;
    }
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    if (busyLabel) target.textContent = busyLabel;
    r.then(done, done);
    function done(): void {
      running = false;
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
      if (busyLabel && target.textContent === busyLabel) target.textContent = label;
    }
  });
}

/** The same guard for a form's submit (Enter on the keyboard or the submit button). */
export function onSubmit(form: HTMLFormElement, submit: HTMLButtonElement, fn: () => Promise<unknown>, busyLabel: string): void {
  let running = false;
  const label = submit.textContent;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (running || submit.disabled) return;
    running = true;
    submit.disabled = true;
    submit.textContent = busyLabel;
    fn().then(done, done);
    function done(): void {
      running = false;
      if (submit.textContent === busyLabel) submit.textContent = label;
      submit.disabled = false;
    }
  });
}

export interface ButtonOpts {
  id?: string;
  kind?: "primary" | "secondary" | "danger" | "link" | "plain";
  icon?: IconName;
  type?: "button" | "submit";
  attrs?: Record<string, string>;
}

export function button(label: Child, opts: ButtonOpts = {}, fn?: () => Promise<unknown> | void, busyLabel?: string): HTMLButtonElement {
  const b = h(
    "button",
    { type: opts.type ?? "button", id: opts.id, class: `btn btn-${opts.kind ?? "secondary"}` },
    opts.icon ? icon(opts.icon) : null,
    h("span.btn-label", label),
  );
  if (opts.attrs) for (const k of Object.keys(opts.attrs)) b.setAttribute(k, opts.attrs[k]);
  if (fn) onTap(b, fn, busyLabel);
  return b;
}

/** A labelled form field with room for its error message right below it. */
export function field(label: string, control: HTMLElement, opts: { hint?: string; optional?: boolean; name?: string } = {}): HTMLElement {
  const id = control.id;
  return h(
    "div",
    { class: "field", "data-field": opts.name ?? id },
    h("label.field-label", { for: id }, label, opts.optional ? h("span.tag-optional", "选填") : null),
    opts.hint ? h("p.hint", { id: `${id}-hint` }, opts.hint) : null,
    control,
  );
}

/**
 * Show (or with null remove) the error for a field, right after the field's control. The
 * element carries data-error-for so tests and screen readers find it.
 */
export function setFieldError(scope: HTMLElement, name: string, message: string | null, after?: HTMLElement | null): void {
  const old = scope.querySelector(`[data-error-for="${name}"]`);
  if (old) old.remove();
  const fieldEl = scope.querySelector<HTMLElement>(`[data-field="${name}"]`);
  if (fieldEl) fieldEl.classList.toggle("has-error", !!message);
  if (!message) return;
  const err = h("p.field-error", { role: "alert", "data-error-for": name }, h("span", { "aria-hidden": "true" }, "⚠ "), message);
  const anchor = after ?? fieldEl;
  if (anchor && anchor !== fieldEl) anchor.insertAdjacentElement("afterend", err);
  else if (fieldEl) fieldEl.appendChild(err);
  else scope.prepend(err);
}

export type BannerKind = "error" | "warn" | "info" | "ok";

export function banner(kind: BannerKind, ...content: Child[]): HTMLElement {
  const mark = kind === "error" ? "⚠ " : kind === "warn" ? "! " : kind === "ok" ? "✓ " : "";
  return h("div", { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" }, mark ? h("span", { "aria-hidden": "true" }, mark) : null, ...content);
}

/** A slot that shows one banner at a time (or none). */
export function bannerSlot(id?: string): { el: HTMLElement; show(kind: BannerKind, ...c: Child[]): void; clear(): void } {
  const el = h("div.banner-slot", { id, "aria-live": "polite" });
  return {
    el,
    show(kind, ...c) {
      replaceChildren(el, banner(kind, ...c));
    },
    clear() {
      replaceChildren(el);
    },
  };
}

/** A modal question with two large buttons. Resolves true for the first. */
export function confirmDialog(question: string, ok: string, cancel = "取消", danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    const prev = document.activeElement as HTMLElement | null;
    const close = (v: boolean): void => {
      overlay.remove();
      document.removeEventListener("keydown", onKey);
      prev?.focus?.();
      resolve(v);
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === "Escape") close(false);
    };
    const okBtn = h("button", { id: "confirm-ok", class: `btn ${danger ? "btn-danger" : "btn-primary"}`, onclick: () => close(true) }, ok);
    const overlay = h(
      "div",
      { class: "overlay", role: "dialog", "aria-modal": "true", "aria-labelledby": "confirm-q" },
      h(
        "div",
        { class: "dialog" },
        h("p.dialog-q", { id: "confirm-q" }, question),
        h("div.dialog-actions", h("button.btn.btn-secondary", { id: "confirm-cancel", onclick: () => close(false) }, cancel), okBtn),
      ),
    );
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
    okBtn.focus();
  });
}

/**
 * A button that opens the camera (or the photo picker). The file input lies over the button,
 * invisible, so a tap reaches it directly (no click() forwarding, which some webviews block)
 * and WebDriver can set a file on it; the work happens on `change`.
 */
export function photoButton(
  label: string,
  inputAttrs: Record<string, string>,
  onFiles: (files: File[]) => void,
  opts: { capture?: boolean; kind?: "primary" | "secondary"; multiple?: boolean } = {},
): { el: HTMLLabelElement; input: HTMLInputElement; setLabel(s: string, kind?: "primary" | "secondary"): void } {
  const input = h("input.file-over", { type: "file", accept: "image/*", capture: opts.capture === false ? null : "environment", multiple: opts.multiple ?? false });
  for (const k of Object.keys(inputAttrs)) input.setAttribute(k, inputAttrs[k]);
  const text = h("span", label);
  const el = h("label", { class: `btn btn-${opts.kind ?? "secondary"} file-btn` }, icon("camera"), text, input);
  input.addEventListener("change", () => {
    const files = input.files ? Array.from(input.files) : [];
    // Clear now, so taking "the same" photo again still fires change.
    input.value = "";
    if (files.length) onFiles(files);
  });
  return {
    el,
    input,
    setLabel(s, kind) {
      text.textContent = s;
      if (kind) el.className = `btn btn-${kind} file-btn`;
    },
  };
}

/** A big option button; its ✓ comes from the stylesheet when aria-pressed is true. */
export function optButton(label: Child, attrs: Attrs = {}, cls = "opt"): HTMLButtonElement {
  return h(`button.${cls}`, { "aria-pressed": "false", ...attrs }, h("span.opt-mark", { "aria-hidden": "true" }), h("span.opt-text", label));
}

export function press(b: Element, on: boolean): void {
  b.setAttribute("aria-pressed", String(on));
}

export function uploadWord(p: PhotoView): string {
  switch (p.upload) {
    case "waiting":
      return "待上传";
    case "uploading":
      return "正在上传";
    case "done":
      return "已上传";
    case "failed":
      return "上传失败，会再试";
    case "remote":
      return "在服务器上";
  }
}

/** Full-size photo over everything, closed by a big button or the back key of the dialog. */
export function showPhoto(p: { url: string | null; thumb_url?: string | null; caption_zh?: string }): void {
  const close = (): void => {
    overlay.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === "Escape") close();
  };
  const src = p.url ?? p.thumb_url ?? null;
  const overlay = h(
    "div",
    { class: "overlay overlay-photo", role: "dialog", "aria-modal": "true", "aria-label": p.caption_zh ?? "照片" },
    src ? h("img.photo-full", { src, alt: p.caption_zh ?? "照片" }) : h("p.photo-missing", "照片只在服务器上，有信号同步后才能查看"),
    p.caption_zh ? h("p.photo-caption", p.caption_zh) : null,
    h("button.btn.btn-primary", { id: "photo-close", onclick: close }, "关闭"),
  );
  document.addEventListener("keydown", onKey);
  document.body.appendChild(overlay);
}

/** Deadline badge: words first, colour second (overdue red, due soon orange). `label_zh`
 *  already names the step ("入户核查还剩2个工作日"). */
export function dueBadge(due: DueInfo | null): HTMLElement | null {
  if (!due) return null;
  const mark = due.urgency === "overdue" ? "⚠ " : "";
  return h(
    "span",
    { class: `due due-${due.urgency}` },
    mark ? h("span", { "aria-hidden": "true" }, mark) : null,
    due.label_zh,
    due.provisional ? "（暂定）" : null,
  );
}

export function pendingMark(): HTMLElement {
  return h("span.pending-mark", "未上传");
}

export function empty(text: string, ...more: Child[]): HTMLElement {
  return h("div.empty", h("p", text), ...more);
}

/** A key/value line in a file: "门牌号  621102-007". Skipped when there is no value. */
export function kv(label: string, value: Child): HTMLElement | null {
  if (value === null || value === undefined || value === "" || value === false) return null;
  return h("div.kv", h("dt", label), h("dd", value));
}

export function debounce<A extends unknown[]>(ms: number, f: (...a: A) => void): { (...a: A): void; flush(): void; cancel(): void } {
  let t: number | undefined;
  let last: A | null = null;
  const d = (...a: A): void => {
    last = a;
    if (t !== undefined) clearTimeout(t);
    t = window.setTimeout(d.flush, ms);
  };
  d.flush = (): void => {
    if (t !== undefined) clearTimeout(t);
    t = undefined;
    if (last) {
      const a = last;
      last = null;
      f(...a);
    }
  };
  d.cancel = (): void => {
    if (t !== undefined) clearTimeout(t);
    t = undefined;
    last = null;
  };
  return d;
}
