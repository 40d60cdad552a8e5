// The 字号 setting. Percentages of the webview's default size, so the phone's own text-size
// setting still multiplies in; every size in the stylesheet is in rem and follows.

export type FontSize = "standard" | "large" | "xlarge";

export const FONT_SIZES: { value: FontSize; label: string; percent: number }[] = [
  { value: "standard", label: "标准", percent: 125 },
  { value: "large", label: "大", percent: 150 },
  { value: "xlarge", label: "特大", percent: 175 },
];

const KEY = "yijian.fontSize";
const listeners: (() => void)[] = [];

export function fontSize(): FontSize {
  let v: string | null = null;
  try {
    v = localStorage.getItem(KEY);
  } catch {
    // storage can be unavailable in a locked-down webview: fall back to the default
  }
  return FONT_SIZES.some((f) => f.value === v) ? (v as FontSize) : "standard";
}

export function setFontSize(v: FontSize): void {
  try {
    localStorage.setItem(KEY, v);
  } catch {
    // keep working with the new size for this session
  }
  applyFontSize();
  for (const f of listeners) f();
}

/** Root font size in CSS px right now (what 1rem is). */
export function remPx(): number {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 20;
}

export function applyFontSize(): void {
  const size = FONT_SIZES.find((f) => f.value === fontSize()) ?? FONT_SIZES[0];
  const root = document.documentElement;
  root.style.fontSize = `${size.percent}%`;
  // Very large text (特大, or the phone's own setting): the stylesheet trims decoration such
  // as nav icons so content keeps the room.
  root.classList.toggle("big-text", remPx() >= 28);
}

export function onFontSizeChange(f: () => void): () => void {
  listeners.push(f);
  return () => {
    const i = listeners.indexOf(f);
    if (i >= 0) listeners.splice(i, 1);
  };
}
