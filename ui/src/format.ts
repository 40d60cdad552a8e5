// Times and amounts in the words a grid worker uses: "今天 14:05", "1,200.50".

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function dayStart(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** RFC 3339 → "今天 14:05" / "昨天 09:12" / "3月5日 14:05" / "2024年3月5日". */
export function when(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const days = Math.round((dayStart(now) - dayStart(d)) / 86400000);
  if (days === 0) return `今天 ${hm}`;
  if (days === 1) return `昨天 ${hm}`;
  if (days === -1) return `明天 ${hm}`;
  if (d.getFullYear() === now.getFullYear()) return `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`;
}

/** Only the clock time, for "已保存草稿 14:05" (older saves also name the day). */
export function clock(iso: string | null | undefined): string {
  const w = when(iso);
  return w.startsWith("今天 ") ? w.slice(3) : w;
}

/** YYYY-MM-DD → "2025年3月5日". */
export function day(ymd: string | null | undefined): string {
  if (!ymd) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd);
  if (!m) return ymd;
  return `${m[1]}年${Number(m[2])}月${Number(m[3])}日`;
}

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 12345.5 → "12,345.50"; whole amounts without decimals. */
export function yuan(n: number): string {
  const neg = n < 0;
  const fen = Math.round(Math.abs(n) * 100);
  const whole = group(String(Math.floor(fen / 100)));
  const cents = fen % 100;
  return (neg ? "-" : "") + (cents ? `${whole}.${pad(cents)}` : whole);
}

export function count(n: number): string {
  return group(String(n));
}

/** Chinese keyboards often type full-width digits and points; treat them as ASCII. */
export function halfWidth(s: string): string {
  return s
    .replace(/[\uff10-\uff19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\uff0e\u3002]/g, ".")
    .replace(/[,，\s]/g, "");
}

/** Typed yuan → fen; null for empty; NaN when it is not an amount. */
export function parseYuan(s: string): number | null {
  const t = halfWidth(s);
  if (t === "") return null;
  if (!/^\d+(\.\d{0,2})?$/.test(t) && !/^\.\d{1,2}$/.test(t)) return NaN;
  return Math.round(parseFloat(t) * 100);
}

export function parseInteger(s: string): number | null {
  const t = halfWidth(s);
  if (t === "") return null;
  if (!/^-?\d+$/.test(t)) return NaN;
  return parseInt(t, 10);
}

export function fenToInput(fen: number): string {
  return fen % 100 === 0 ? String(fen / 100) : (fen / 100).toFixed(2);
}
