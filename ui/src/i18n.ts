// Tibetan beside Chinese on the app's screens (the 语言 setting), for workers in 甘南.
//
// Chinese is the source: screens are written in Chinese, and the catalogue (i18n/bo.json) maps
// each Chinese text — or a template with {name} for a value — to Tibetan. With Tibetan on, every
// text a screen puts on the page that the catalogue knows is shown as Tibetan with its Chinese
// beside it (never Tibetan alone: the translations await a native speaker's review, and forms,
// names and the records stay Chinese). Texts the catalogue lacks stay Chinese. The screens do not
// change: one observer translates whatever text nodes appear, so a new screen is covered by
// adding its texts to the catalogue.
import catalogue from "./i18n/bo.json";

export type Lang = "zh" | "bo";

interface Message {
  zh: string;
  bo: string;
  reviewed: boolean;
}

type Piece = { text: string } | { value: string };

const exact = new Map<string, string>();
const templates: { pieces: Piece[]; bo: string }[] = [];

function pieces(template: string): Piece[] {
  const out: Piece[] = [];
  const re = /\{([a-z0-9_]+)\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    if (m.index > last) out.push({ text: template.slice(last, m.index) });
    out.push({ value: m[1] });
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push({ text: template.slice(last) });
  return out;
}

for (const m of (catalogue as { messages: Message[] }).messages) {
  const p = pieces(m.zh);
  if (p.some((x) => "value" in x)) templates.push({ pieces: p, bo: m.bo });
  else exact.set(m.zh, m.bo);
}
// The most literal text first: the most specific template wins.
const literal = (p: Piece[]) => p.reduce((n, x) => n + ("text" in x ? x.text.length : 0), 0);
templates.sort((a, b) => literal(b.pieces) - literal(a.pieces));

/** The values of `text` read against a template, or null when it does not fit. */
function readValues(p: Piece[], text: string): Map<string, string> | null {
  if (p.length === 0) return text === "" ? new Map() : null;
  const [first, ...rest] = p;
  if ("text" in first) return text.startsWith(first.text) ? readValues(rest, text.slice(first.text.length)) : null;
  const next = rest[0];
  if (!next) return text ? new Map([[first.value, text]]) : null;
  if (!("text" in next)) return null;
  for (let at = text.indexOf(next.text, 1); at > 0; at = text.indexOf(next.text, at + 1)) {
    const more = readValues(rest, text.slice(at));
    if (more) return more.set(first.value, text.slice(0, at));
  }
  return null;
}

/** The Tibetan for a Chinese text, or null. */
export function tibetan(zh: string): string | null {
  const hit = exact.get(zh);
  if (hit !== undefined) return hit;
  for (const t of templates) {
    const values = readValues(t.pieces, zh);
    if (values) return t.bo.replace(/\{([a-z0-9_]+)\}/g, (_, name: string) => exact.get(values.get(name) ?? "") ?? values.get(name) ?? "");
  }
  return null;
}

const KEY = "yijian.lang";

export function lang(): Lang {
  try {
    return localStorage.getItem(KEY) === "bo" ? "bo" : "zh";
  } catch {
    return "zh";
  }
}

const HAN = /[\u4e00-\u9fff]/;
// Where a text cannot be split into Tibetan and Chinese parts.
const SKIP = new Set(["SCRIPT", "STYLE", "TEXTAREA", "OPTION", "TITLE", "INPUT"]);
// Read aloud or shown on hover. Placeholders stay Chinese: an input's one line has no room for
// both languages.
const ATTRS = ["aria-label", "title"];

function translateText(node: Text): void {
  const parent = node.parentElement;
  if (!parent || SKIP.has(parent.tagName) || parent.closest(".bi, [translate=no]")) return;
  const raw = node.data;
  const zh = raw.trim();
  if (!zh || !HAN.test(zh)) return;
  const bo = tibetan(zh);
  if (!bo) return;
  const bi = document.createElement("span");
  bi.className = "bi";
  const b = document.createElement("span");
  b.className = "bo";
  b.lang = "bo";
  b.textContent = bo;
  const z = document.createElement("span");
  z.className = "zh";
  z.lang = "zh-CN";
  z.textContent = zh;
  bi.append(b, z);
  parent.replaceChild(bi, node);
}

function translateAttrs(el: Element): void {
  if (el.closest("[translate=no]")) return;
  for (const a of ATTRS) {
    const v = el.getAttribute(a);
    if (!v || !HAN.test(v) || v.includes("\u0f0b")) continue;
    const bo = tibetan(v.trim());
    if (bo) el.setAttribute(a, `${bo} ${v}`);
  }
}

function translateTree(root: Node): void {
  if (root.nodeType === Node.TEXT_NODE) {
    translateText(root as Text);
    return;
  }
  if (!(root instanceof Element) || root.closest(".bi")) return;
  translateAttrs(root);
  for (const el of root.querySelectorAll("*")) translateAttrs(el);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n as Text);
  for (const t of texts) translateText(t);
}

/** Chinese again: each pair back to its Chinese text, Chinese attributes restored. */
function untranslateTree(root: Element): void {
  for (const bi of root.querySelectorAll(".bi")) {
    const zh = bi.querySelector(".zh")?.textContent ?? "";
    bi.replaceWith(document.createTextNode(zh));
  }
  for (const el of root.querySelectorAll("[aria-label], [title]")) {
    for (const a of ATTRS) {
      const v = el.getAttribute(a);
      const i = v ? v.search(HAN) : -1;
      if (v && i > 0 && v.includes("\u0f0b")) el.setAttribute(a, v.slice(i));
    }
  }
}

const observer = new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === "characterData") translateText(r.target as Text);
    else for (const n of r.addedNodes) translateTree(n);
  }
});

/** Apply the saved language to the page (and to every screen shown from now on). */
export function applyLang(): void {
  const bo = lang() === "bo";
  document.documentElement.lang = bo ? "bo" : "zh-CN";
  document.documentElement.classList.toggle("lang-bo", bo);
  observer.disconnect();
  if (bo) {
    translateTree(document.body);
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  } else {
    untranslateTree(document.body);
  }
}

export function setLang(v: Lang): void {
  try {
    localStorage.setItem(KEY, v);
  } catch {
    // keep the language for this session
  }
  applyLang();
}

