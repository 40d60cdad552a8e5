// DOM building without a framework. Text always goes in as text nodes, never as markup, so a
// name or a server message can never inject HTML; the only markup strings are the constant
// icons below.

export type Child = Node | string | number | null | undefined | false | readonly Child[];

// `never` lets handlers declare the event type they expect (MouseEvent, InputEvent …) or none.
type Handler = (ev: never) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

type TagOf<S extends string> = S extends `${infer T}.${string}` ? T : S;
type El<S extends string> = TagOf<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement;

/**
 * h("div.card.card-head", { id: "x", onclick: f }, child, …): an element with its classes,
 * attributes (functions become listeners; false/null are left out) and children. The
 * attributes may be left out: h("p.hint", "text").
 */
export function h<S extends string>(sel: S, attrs?: Attrs | null, ...children: Child[]): El<S>;
export function h<S extends string>(sel: S, ...children: Child[]): El<S>;
export function h(sel: string, attrs?: Attrs | Child | null, ...children: Child[]): HTMLElement {
  const dot = sel.indexOf(".");
  const el = document.createElement(dot < 0 ? sel : sel.slice(0, dot));
  if (dot > 0) el.className = sel.slice(dot + 1).replace(/\./g, " ");
  // Buttons never submit a form unless they say so.
  if (el.tagName === "BUTTON") el.setAttribute("type", "button");
  if (attrs && typeof attrs === "object" && !(attrs instanceof Node) && !Array.isArray(attrs)) {
    const a = attrs as Attrs;
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === "function") el.addEventListener(k.slice(2), v as unknown as EventListener);
      else if (k === "value") (el as HTMLInputElement).value = String(v);
      else if (k === "class") el.className = (el.className ? el.className + " " : "") + v;
      // Through the CSSOM: the app's CSP has no 'unsafe-inline' for style attributes.
      else if (k === "style") el.style.cssText = String(v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  } else children.unshift(attrs as Child);
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c as readonly Child[]);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replaceChildren(el: Node, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

/** For the rare place that must build markup from a string: escapes the five specials. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Stroke icons, 24×24, drawn in currentColor so they follow the text colour.
const ICONS = {
  inbox: '<path d="M4 4h16v16H4zM4 14h5l1 2h4l1-2h5"/>',
  scan: '<path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5M7 12h10"/>',
  proxy: '<path d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21c0-4 3-6 7-6M14 20l7-7-3-3-7 7v3z"/>',
  sync: '<path d="M20 8A8 8 0 0 0 5 6L3 8M4 16a8 8 0 0 0 15 2l2-2M3 3v5h5M21 21v-5h-5"/>',
  gear: '<path d="M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"/><path d="M19 12l2-1-1-3-2 .3-1.3-1.3.3-2-3-1-1 2h-2l-1-2-3 1 .3 2L6.3 7.3 4.3 7l-1 3 2 1v2l-2 1 1 3 2-.3 1.3 1.3-.3 2 3 1 1-2h2l1 2 3-1-.3-2 1.3-1.3 2 .3 1-3-2-1z"/>',
  back: '<path d="M15 4l-8 8 8 8"/>',
  camera: '<path d="M3 7h4l2-3h6l2 3h4v13H3z"/><circle cx="12" cy="13" r="4"/>',
  search: '<circle cx="10" cy="10" r="6"/><path d="M15 15l6 6"/>',
} as const;

export type IconName = keyof typeof ICONS;

export function icon(name: IconName, cls = ""): HTMLElement {
  const span = h("span", { class: `icon ${cls}`, "aria-hidden": "true" });
  span.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round">' +
    ICONS[name] +
    "</svg>";
  return span;
}
