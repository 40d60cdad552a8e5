// 设置: who is signed in, the 字号, lock and sign out.
import { app } from "../api";
import { h } from "../dom";
import { errorText, toError, track } from "../ipc";
import { FONT_SIZES, fontSize, setFontSize } from "../prefs";
import { type Lang, lang, setLang } from "../i18n";
import { appState, setAppState } from "../session";
import type { View } from "../shell";
import { bannerSlot, button, confirmDialog, kv, optButton, press } from "../ui/widgets";

export function settingsScreen(): View {
  const st = appState();
  const u = st?.user;
  const msg = bannerSlot();
  const sizes = FONT_SIZES.map((f) => {
    const b = optButton(h("span", { style: `font-size:${f.percent / 125}em` }, f.label), { id: `font-${f.value}`, "data-font-size": f.value });
    press(b, fontSize() === f.value);
    b.addEventListener("click", () => {
      setFontSize(f.value);
      for (const x of sizes) press(x, x.dataset.fontSize === f.value);
    });
    return b;
  });
  // The language's own name on each choice: a Tibetan reader finds 藏文 by its Tibetan name.
  const LANGS: { value: Lang; label: Node }[] = [
    { value: "zh", label: h("span", { translate: "no" }, "中文") },
    { value: "bo", label: h("span", { translate: "no" }, h("span", { lang: "bo" }, "བོད་ཡིག"), " 藏文＋中文") },
  ];
  const langs = LANGS.map((l) => {
    const b = optButton(l.label, { id: `lang-${l.value}`, "data-lang": l.value });
    press(b, lang() === l.value);
    b.addEventListener("click", () => {
      setLang(l.value);
      for (const x of langs) press(x, x.dataset.lang === l.value);
      note.hidden = l.value !== "bo";
    });
    return b;
  });
  const note = h("p.lang-note", { id: "lang-note" }, `藏文译文尚未经母语人士审校，以中文为准。`);
  note.hidden = lang() !== "bo";
  const lock = button(
    "锁定",
    { id: "settings-lock" },
    async () => {
      try {
        setAppState(await track(app.lock()));
      } catch (e) {
        msg.show("error", errorText(e));
      }
    },
    "正在锁定…",
  );
  const logout = button(
    "退出登录",
    { id: "settings-logout", kind: "danger" },
    async () => {
      const ok = await confirmDialog("退出登录会清除这部手机上保存的全部农户资料和照片，再用时需要联网登录。确定退出吗？", "退出登录", "取消", true);
      if (!ok) return;
      try {
        setAppState(await track(app.logout()));
      } catch (e) {
        const err = toError(e);
        if (err.kind !== "unsent_work") {
          msg.show("error", errorText(err));
          return;
        }
        // Unsent work: say so plainly, and erase only on a second, explicit yes.
        const erase = await confirmDialog(`${err.message}。仍要退出并删除吗？`, "删除并退出", "先不退出", true);
        if (!erase) return;
        try {
          setAppState(await track(app.logout(true)));
        } catch (e2) {
          msg.show("error", errorText(e2));
        }
      }
    },
    "正在退出…",
  );
  const el = h(
    "section",
    { "data-screen": "settings", class: "screen screen-scroll" },
    h(
      "div",
      { class: "card" },
      h("p.head-name", u?.name ?? "未登录"),
      h("dl.kvs", kv("身份", u?.role_zh), kv("负责范围", u?.scope_name), kv("手机号", u?.login), kv("服务器", st?.server)),
    ),
    h("h2.sec-title", "字号"),
    h("div.opts.opts-yn.opts-3", { role: "group", "aria-label": "字号" }, sizes),
    h("p.hint", "字号会保存在这部手机上。"),
    h("h2.sec-title", "语言"),
    h("div.opts.opts-yn", { role: "group", "aria-label": "语言" }, langs),
    h("p.hint", "语言会保存在这部手机上。藏文旁边始终显示中文。"),
    note,
    msg.el,
    h("div.stack.settings-actions", lock, h("p.hint", "锁定后需要输入PIN才能打开。"), logout),
    h("p.about", `一键申报 版本 ${st?.version ?? ""}`),
  );
  return { el, title: "设置", back: ["inbox"], tab: "none" };
}
