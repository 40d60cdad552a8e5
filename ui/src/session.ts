// What the whole app shares: the AppState from Rust (which screen stage we are in, who is
// signed in) and the last known sync status (the header line and the 同步 badge).
import { sync, type AppState, type SyncDone, type SyncStatus } from "./api";
import { track } from "./ipc";
import { when } from "./format";

let state: AppState | null = null;
let status: SyncStatus | null = null;
const statusListeners = new Set<(s: SyncStatus | null) => void>();
let onStage: (() => void) | null = null;

export function appState(): AppState | null {
  return state;
}

/** Replace the AppState; when the stage changes the router shows the right screen. */
export function setAppState(s: AppState): void {
  const changed = !state || state.stage !== s.stage;
  state = s;
  if (changed && onStage) onStage();
}

export function onStageChange(f: () => void): void {
  onStage = f;
}

export function syncStatus(): SyncStatus | null {
  return status;
}

export function setSyncStatus(s: SyncStatus): void {
  status = s;
  for (const f of statusListeners) f(s);
}

// "今天 14:05" becomes "昨天 14:05" at midnight: repaint the words every minute.
window.setInterval(() => {
  if (status) setSyncStatus(status);
}, 60000);

export function onSyncStatus(f: (s: SyncStatus | null) => void): () => void {
  statusListeners.add(f);
  f(status);
  return () => statusListeners.delete(f);
}

export async function refreshStatus(): Promise<void> {
  if (!state || state.stage !== "unlocked") return;
  try {
    setSyncStatus(await track(sync.status()));
  } catch {
    // the status line keeps its last value; the sync screen shows errors itself
  }
}

let refreshTimer: number | undefined;
/** After a change that queues work (an answer, a declaration): refresh the counts soon. */
export function statusSoon(): void {
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => {
    refreshTimer = undefined;
    void refreshStatus();
  }, 1200);
}

let listening = false;
const doneListeners = new Set<(d: SyncDone) => void>();

export function onSyncDone(f: (d: SyncDone) => void): () => void {
  doneListeners.add(f);
  return () => doneListeners.delete(f);
}

/** Subscribe once to the background sync's rounds, for the whole app's lifetime. */
export function listenSync(): void {
  if (listening) return;
  listening = true;
  sync
    .onDone((d) => {
      // A round whose counts could not be read keeps the last ones shown.
      if (d.status) setSyncStatus(d.status);
      for (const f of doneListeners) f(d);
    })
    .catch(() => {
      listening = false;
    });
}

export function needsAttention(s: SyncStatus | null): boolean {
  return !!s && (s.login_expired || s.quarantine > 0 || s.conflicts > 0 || s.photos_failed > 0);
}

/** The unobtrusive one-liner: "上次同步：今天 14:05 · 3条待上传". */
export function statusLine(s: SyncStatus | null): string {
  const parts: string[] = [];
  if (typeof navigator !== "undefined" && navigator.onLine === false) parts.push("无网络");
  if (!s) return parts.concat("正在读取同步状态…").join(" · ");
  if (s.login_expired) parts.push("登录已失效");
  if (s.running) parts.push("正在同步…");
  else parts.push(s.last_sync_at ? `上次同步：${when(s.last_sync_at)}` : "还没有同步过");
  if (s.outbox > 0) parts.push(`${s.outbox}条待上传`);
  if (s.photos_waiting > 0) parts.push(`${s.photos_waiting}张照片待上传`);
  const problems = s.quarantine + s.conflicts;
  if (problems > 0) parts.push(`${problems}个问题待处理`);
  if (!s.running && s.last_error) parts.push("上次同步没有成功");
  if (s.outbox === 0 && s.photos_waiting === 0 && problems === 0 && s.last_sync_at && !s.last_error) parts.push("全部已上传");
  return parts.join(" · ");
}
