// The app shell. Screens arrive with the app issue; this one proves the Rust side is reachable
// and every string is Chinese.
import "./style.css";
import { invoke } from "@tauri-apps/api/core";

interface AppInfo {
  version: string;
  platform: string;
  villagesKnown: number;
}

interface CommandError {
  kind: "invalid" | "not_found" | "storage" | "internal";
  message: string;
}

function inTauri(): boolean {
  return "__TAURI_INTERNALS__" in window;
}

function render(body: string): void {
  const app = document.getElementById("app");
  if (app) app.innerHTML = body;
}

async function start(): Promise<void> {
  if (!inTauri()) {
    render(`<h1>一键申报</h1><p>这是应用界面的浏览器预览，请在应用中打开。</p>`);
    return;
  }
  try {
    const info = await invoke<AppInfo>("app_info");
    render(
      `<h1>一键申报</h1>
       <p>防止返贫动态监测：网格员入户核查、代申报、离线同步。</p>
       <p class="about">版本 ${info.version} · 已载入 ${info.villagesKnown.toLocaleString("zh-CN")} 个村</p>`,
    );
  } catch (e) {
    const err = e as CommandError;
    render(`<h1>一键申报</h1><p role="alert">启动失败：${err.message ?? "未知错误"}</p>`);
  }
}

void start();
