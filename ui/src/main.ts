// Boot and routing. Rust's AppState decides between login, PIN and the app; inside the app the
// route lives in location.hash.
import "./style.css";
import { app } from "./api";
import { h } from "./dom";
import { errorText, setSessionLostHandler, track } from "./ipc";
import { applyFontSize } from "./prefs";
import { applyLang } from "./i18n";
import { currentPath, noteHashChange, replace, replaceQuiet } from "./router";
import { appState, listenSync, onStageChange, refreshStatus, setAppState, setSyncStatus, syncStatus } from "./session";
import { mount, watchKeyboard, type View } from "./shell";
import { householdScreen, caseOnlyScreen } from "./screens/household";
import { inboxScreen } from "./screens/inbox";
import { loginScreen } from "./screens/login";
import { noticesScreen } from "./screens/notices";
import { lockedScreen, setPinScreen } from "./screens/pin";
import { confirmScreen, doneScreen, proxyFormScreen, readbackScreen } from "./screens/proxy";
import { scanScreen } from "./screens/scan";
import { settingsScreen } from "./screens/settings";
import { syncScreen } from "./screens/sync";
import { visitScreen } from "./screens/visit";

declare global {
  interface Window {
    __yijianReady?: boolean;
  }
}

const root = document.getElementById("app") as HTMLElement;
let current: View | null = null;
let token = 0;

function screenFor(path: string[]): View | Promise<View> {
  const [top, a, b] = path;
  switch (top) {
    case undefined:
    case "":
    case "inbox":
      return inboxScreen();
    case "household":
      if (a) return householdScreen(a);
      break;
    case "case":
      if (a) return caseOnlyScreen(a);
      break;
    case "visit":
      if (a) return visitScreen(a, b);
      break;
    case "proxy":
      if (a === "for" && b) return proxyFormScreen(b);
      if (a === "readback") return readbackScreen();
      if (a === "confirm") return confirmScreen();
      if (a === "done") return doneScreen();
      return proxyFormScreen(null);
    case "scan":
      return scanScreen();
    case "sync":
      return syncScreen();
    case "notices":
      return noticesScreen();
    case "settings":
      return settingsScreen();
  }
  replace("inbox");
  return inboxScreen();
}

function leaveCurrent(): void {
  if (current?.leave) {
    try {
      current.leave();
    } catch {
      // a screen failing to clean up must not stop the next one
    }
  }
  current = null;
}

async function route(): Promise<void> {
  const my = ++token;
  const st = appState();
  if (!st) return;
  leaveCurrent();
  let factory: () => View | Promise<View>;
  const relogin = currentPath()[0] === "relogin";
  switch (st.stage) {
    case "first_run":
    case "password_required":
      factory = () => loginScreen("first");
      break;
    case "set_pin":
      factory = setPinScreen;
      break;
    case "locked":
      factory = relogin ? () => loginScreen("forgot") : lockedScreen;
      break;
    default:
      factory = relogin ? () => loginScreen("expired") : () => screenFor(currentPath());
  }
  // Slow screens (a big household file) show a loading line instead of the old screen.
  const slow = window.setTimeout(() => {
    if (my === token) root.replaceChildren(h("div.loading-full", { role: "status" }, "正在加载…"));
  }, 200);
  let view: View;
  try {
    view = await factory();
  } catch (e) {
    view = failedView(e);
  }
  clearTimeout(slow);
  if (my !== token) {
    // Another route started meanwhile; this screen never showed.
    view.leave?.();
    return;
  }
  current = view;
  mount(root, view);
  window.scrollTo(0, 0);
  if (!window.__yijianReady) window.__yijianReady = true;
}

function failedView(e: unknown): View {
  const el = h(
    "section",
    { "data-screen": "error", class: "screen screen-pad" },
    h("p.banner.banner-error", { role: "alert" }, "⚠ 打开失败：", errorText(e)),
    h("button.btn.btn-secondary.btn-block", { onclick: () => void route() }, "再试一次"),
  );
  return { el, title: "一键申报", back: ["inbox"], tab: "none" };
}

/** Lock the screens after the configured idle time (Rust enforces it too, at the next command). */
function watchIdle(): void {
  let last = Date.now();
  const seen = () => {
    last = Date.now();
  };
  for (const ev of ["pointerdown", "keydown", "touchstart", "wheel"]) {
    window.addEventListener(ev, seen, { passive: true, capture: true });
  }
  window.setInterval(() => {
    const st = appState();
    if (st?.stage !== "unlocked" || !st.idle_lock_s) return;
    if (Date.now() - last < st.idle_lock_s * 1000) return;
    flushCurrent();
    track(app.lock()).then(setAppState, () => undefined);
  }, 5000);
}

function flushCurrent(): void {
  try {
    current?.flush?.();
  } catch {
    // best effort while the app goes to the background
  }
}

async function boot(): Promise<void> {
  document.body.dataset.busy = "0";
  applyFontSize();
  applyLang();
  watchKeyboard();
  window.addEventListener("hashchange", () => {
    noteHashChange();
    const stage = appState()?.stage;
    if (stage === "unlocked" || stage === "locked") void route();
  });
  window.addEventListener("pagehide", flushCurrent);
  // The phone's own text size can change while the app runs (and arrives as a resize).
  window.addEventListener("resize", applyFontSize);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushCurrent();
    else void refreshStatus();
  });
  window.addEventListener("online", () => void refreshStatus());
  window.addEventListener("offline", () => {
    const s = syncStatus();
    if (s) setSyncStatus(s); // repaint the line with "无网络"
  });
  onStageChange(() => {
    const st = appState();
    if (st?.stage === "unlocked" || st?.stage === "set_pin") {
      if (currentPath()[0] === "relogin") replaceQuiet("inbox");
    }
    if (st?.stage === "unlocked") {
      listenSync();
      void refreshStatus();
      if (!location.hash) replaceQuiet("inbox");
    }
    // A new sign-in starts at the inbox, not wherever the last user was.
    if (st?.stage === "first_run") replaceQuiet("inbox");
    void route();
  });
  watchIdle();
  // A revoked phone erases itself; the first screen then says why.
  void app.onWiped(() => {
    replaceQuiet("inbox");
    track(app.state()).then(setAppState, () => undefined);
  });
  setSessionLostHandler((kind) => {
    if (kind === "unauthenticated") {
      void refreshStatus();
      return;
    }
    // Locked behind our back: ask Rust where we stand; the PIN screen comes back if so.
    track(app.state()).then(setAppState, () => undefined);
  });
  noteHashChange();
  try {
    setAppState(await track(app.state()));
  } catch (e) {
    root.replaceChildren(
      h(
        "section",
        { "data-screen": "error", class: "screen screen-pad" },
        h("h1", "一键申报"),
        h("p.banner.banner-error", { role: "alert" }, "⚠ 启动失败：", errorText(e)),
        h("button.btn.btn-primary.btn-block", { onclick: () => location.reload() }, "重新启动"),
      ),
    );
    window.__yijianReady = true;
  }
}

void boot();
