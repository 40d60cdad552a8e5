// Routes live in location.hash ("#/household/H1"), so Android's back button and the webview's
// history do the right thing without any framework.

export function currentPath(): string[] {
  const raw = location.hash.replace(/^#\/?/, "");
  return raw ? raw.split("/").map((p) => decodeURIComponent(p)) : [];
}

function hashOf(parts: string[]): string {
  return "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

// Our own record of the in-app history, so a "返回" button can go back when there is
// somewhere to go back to and otherwise replace the route with its parent.
const stack: string[] = [];

export function noteHashChange(): void {
  const now = location.hash;
  if (stack.length >= 2 && stack[stack.length - 2] === now) stack.pop();
  else if (stack[stack.length - 1] !== now) stack.push(now);
  if (stack.length > 50) stack.splice(0, stack.length - 50);
}

export function go(...parts: string[]): void {
  const hash = hashOf(parts);
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Navigate without leaving the current entry in history (done screens, redirects). */
export function replace(...parts: string[]): void {
  const hash = hashOf(parts);
  if (stack.length) stack[stack.length - 1] = hash;
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.replace(hash);
}

/** Change the address without showing a new screen (the visit's section number). */
export function replaceQuiet(...parts: string[]): void {
  const hash = hashOf(parts);
  if (stack.length) stack[stack.length - 1] = hash;
  history.replaceState(history.state, "", hash);
}

export function back(fallback: string[]): void {
  if (stack.length >= 2) history.back();
  else replace(...fallback);
}

export function href(...parts: string[]): string {
  return hashOf(parts);
}
