// A virtualised list for up to tens of thousands of rows on a cheap phone: rows have one fixed
// height (in rem, turned into px at runtime so the 字号 setting works), only the rows in view
// plus a margin are in the DOM, and rows are fetched a page at a time as the user scrolls.
import { h } from "../dom";
import { remPx } from "../prefs";

export interface PageResult<T> {
  matching: number;
  rows: T[];
}

export interface VListOptions<T> {
  /** Row height in rem, asked again on every relayout (the layout may change with the text size). */
  rowRem: () => number;
  pageSize: number;
  /** Rows kept rendered above and below the visible ones. */
  margin?: number;
  fetch(offset: number, limit: number): Promise<PageResult<T>>;
  render(row: T, index: number): HTMLElement;
  placeholder(index: number): HTMLElement;
  onLength?(n: number): void;
  onError?(e: unknown): void;
}

interface Shown {
  el: HTMLElement;
  fresh: boolean; // rendered from data of the current generation
}

const MAX_PAGES = 40;

export class VirtualList<T> {
  readonly inner: HTMLElement;
  private rows = new Map<number, Shown>();
  private pages = new Map<number, T[]>();
  private loading = new Set<number>();
  private gen = 0;
  private length = -1;
  private rowPx = 1;
  private frame = 0;
  private wantIndex: number | null = null;

  constructor(
    readonly el: HTMLElement,
    private readonly opt: VListOptions<T>,
  ) {
    this.inner = h("div.vlist-inner", { role: "list" });
    el.appendChild(this.inner);
    el.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.measure();
  }

  /** Forget everything (new search or filter) and start again from the top. */
  reset(): void {
    this.gen++;
    this.pages.clear();
    this.loading.clear();
    for (const r of this.rows.values()) r.el.remove();
    this.rows.clear();
    this.length = -1;
    this.inner.style.height = "0px";
    this.el.scrollTop = 0;
    this.load(0);
  }

  /** Same query, fresher data: rows stay on screen until their page is fetched again. */
  refresh(): void {
    this.gen++;
    this.pages.clear();
    this.loading.clear();
    for (const r of this.rows.values()) r.fresh = false;
    // The page in view first (also when the list was empty: its length may have changed).
    this.load(Math.floor(this.firstVisible() / this.opt.pageSize));
  }

  /** The first row at the top of the view, to come back to it later. */
  firstVisible(): number {
    return Math.floor(this.el.scrollTop / this.rowPx);
  }

  scrollToIndex(i: number): void {
    if (this.length < 0) this.wantIndex = i;
    else this.el.scrollTop = i * this.rowPx;
  }

  /** The row height follows the root font size: call after the 字号 changes. */
  relayout(): void {
    const first = this.firstVisible();
    this.measure();
    for (const r of this.rows.values()) r.el.remove();
    this.rows.clear();
    if (this.length >= 0) this.inner.style.height = `${this.length * this.rowPx}px`;
    this.el.scrollTop = first * this.rowPx;
    this.paint();
  }

  private measure(): void {
    this.rowPx = Math.round(this.opt.rowRem() * remPx());
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private rowAt(i: number): T | undefined {
    const page = this.pages.get(Math.floor(i / this.opt.pageSize));
    return page ? page[i % this.opt.pageSize] : undefined;
  }

  private setLength(n: number): void {
    if (n === this.length) return;
    this.length = n;
    this.inner.style.height = `${n * this.rowPx}px`;
    for (const [i, r] of this.rows) {
      if (i >= n) {
        r.el.remove();
        this.rows.delete(i);
      }
    }
    this.opt.onLength?.(n);
    if (this.wantIndex !== null) {
      this.el.scrollTop = this.wantIndex * this.rowPx;
      this.wantIndex = null;
    }
  }

  private paint(): void {
    if (this.length <= 0) return;
    const margin = this.opt.margin ?? 8;
    const top = this.el.scrollTop;
    const height = this.el.clientHeight || window.innerHeight;
    const first = Math.max(0, Math.floor(top / this.rowPx) - margin);
    const last = Math.min(this.length - 1, Math.ceil((top + height) / this.rowPx) + margin);
    for (const [i, r] of this.rows) {
      if (i < first || i > last) {
        r.el.remove();
        this.rows.delete(i);
      }
    }
    for (let i = first; i <= last; i++) {
      const shown = this.rows.get(i);
      const data = this.rowAt(i);
      if (shown && (shown.fresh || data === undefined)) continue;
      const el = data !== undefined ? this.opt.render(data, i) : this.opt.placeholder(i);
      el.style.top = `${i * this.rowPx}px`;
      el.style.height = `${this.rowPx}px`;
      if (shown) shown.el.replaceWith(el);
      else this.inner.appendChild(el);
      this.rows.set(i, { el, fresh: data !== undefined });
    }
    const ps = this.opt.pageSize;
    for (let p = Math.floor(first / ps); p <= Math.floor(last / ps); p++) {
      if (!this.pages.has(p)) this.load(p);
    }
  }

  private load(p: number): void {
    if (this.loading.has(p)) return;
    const gen = this.gen;
    this.loading.add(p);
    this.opt.fetch(p * this.opt.pageSize, this.opt.pageSize).then(
      (r) => {
        if (gen !== this.gen) return;
        this.loading.delete(p);
        this.pages.set(p, r.rows);
        this.evict(p);
        this.setLength(r.matching);
        this.paint();
      },
      (e: unknown) => {
        if (gen !== this.gen) return;
        this.loading.delete(p);
        this.opt.onError?.(e);
      },
    );
  }

  // 30,000 rows would be a lot of memory on a cheap phone: keep the pages near the view.
  private evict(current: number): void {
    if (this.pages.size <= MAX_PAGES) return;
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - current) - Math.abs(a - current));
    for (const p of far.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(p);
  }
}
