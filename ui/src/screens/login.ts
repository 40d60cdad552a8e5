// First run: sign in online once; afterwards the PIN opens the app offline.
import { app, qr } from "../api";
import { h } from "../dom";
import { errorText, toError, track } from "../ipc";
import { appState, setAppState } from "../session";
import type { View } from "../shell";
import { bannerSlot, field, onSubmit, photoButton, setFieldError } from "../ui/widgets";

/** Why the password is asked for: a first sign-in, a forgotten PIN, an expired login. */
export type LoginReason = "first" | "forgot" | "expired";

export function loginScreen(reason: LoginReason = "first"): View {
  const st = appState();
  const server = h("input", { id: "login-server", type: "url", inputmode: "url", autocomplete: "url", autocapitalize: "off", spellcheck: "false", value: st?.server || "http://" });
  const phone = h("input", { id: "login-phone", type: "tel", inputmode: "tel", autocomplete: "username", maxlength: 20, value: st?.user?.login ?? "" });
  const password = h("input", { id: "login-password", type: "password", autocomplete: "current-password" });
  const show = h("button.btn.btn-plain.show-pw", { "aria-pressed": "false" }, "显示密码");
  show.addEventListener("click", () => {
    const visible = password.type === "password";
    password.type = visible ? "text" : "password";
    show.textContent = visible ? "隐藏密码" : "显示密码";
    show.setAttribute("aria-pressed", String(visible));
  });
  const submit = h("button.btn.btn-primary.btn-block", { type: "submit", id: "login-submit" }, "登录");
  const msg = bannerSlot("login-message");

  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("服务器地址", server, { name: "server", hint: "由乡镇或县里提供，也可以扫描设备登录码自动填写" }),
    field("手机号", phone, { name: "login" }),
    h("div.field", { "data-field": "password" }, h("label.field-label", { for: "login-password" }, "密码"), h("div.input-row", password, show)),
    msg.el,
    submit,
  );

  // Editing a field takes its complaint away; the typed values are never touched.
  for (const [el, name] of [[server, "server"], [phone, "login"], [password, "password"]] as const) {
    el.addEventListener("input", () => setFieldError(form, name, null));
  }

  onSubmit(
    form,
    submit,
    async () => {
      msg.clear();
      for (const f of ["server", "login", "password"]) setFieldError(form, f, null);
      let bad = false;
      if (!/^https?:\/\/\S+$/.test(server.value.trim()) || /^https?:\/\/$/.test(server.value.trim())) {
        setFieldError(form, "server", "请填写服务器地址，例如 http://10.1.2.3:8080");
        bad = true;
      }
      if (!phone.value.trim()) {
        setFieldError(form, "login", "请填写手机号");
        bad = true;
      }
      if (!password.value) {
        setFieldError(form, "password", "请填写密码");
        bad = true;
      }
      if (bad) return;
      try {
        setAppState(await track(app.login(server.value.trim(), phone.value.trim(), password.value)));
      } catch (e) {
        const err = toError(e);
        if (err.kind === "invalid" && err.field && ["server", "login", "password"].includes(err.field)) {
          setFieldError(form, err.field, err.message);
        } else if (err.kind === "network") {
          msg.show("error", "无法连接服务器。请检查服务器地址，并在有信号的地方再试。", err.message ? h("br") : null, err.message);
        } else if (err.kind === "unauthenticated") {
          setFieldError(form, "password", "手机号或密码不正确");
        } else {
          msg.show("error", errorText(err));
        }
      }
    },
    "正在登录…",
  );

  const scan = photoButton(
    "扫描设备登录码",
    { id: "login-scan-file" },
    (files) => {
      void (async () => {
        msg.show("info", "正在识别登录码…");
        try {
          const text = await track(qr.decodeImage(files[0]));
          if (!text) {
            msg.show("error", "没有识别到登录码，请把二维码拍清楚、拍完整再试");
            return;
          }
          const setup = await track(app.parseSetupQr(text));
          server.value = setup.server;
          phone.value = setup.login;
          setFieldError(form, "server", null);
          setFieldError(form, "login", null);
          msg.show("ok", "已读取登录码，服务器地址和手机号已填好。请输入密码后登录。");
          password.focus();
        } catch (e) {
          msg.show("error", errorText(e));
        }
      })();
    },
    { capture: false },
  );
  scan.el.id = "login-scan";

  const el = h(
    "section",
    { "data-screen": "login", class: "screen screen-pad" },
    st?.wiped
      ? h("p.banner.banner-error", { id: "login-wiped", role: "alert" }, st.wiped.reason_zh)
      : null,
    h("p.lead", { id: "login-lead" }, leadText(reason, st?.stage)),
    form,
    h("div.divider", h("span", "或者")),
    scan.el,
  );
  return { el, title: "一键申报 · 登录", bare: true };
}

function leadText(reason: LoginReason, stage: string | undefined): string {
  if (stage === "password_required") {
    return "PIN输错次数过多，已不能用PIN打开。请联网用手机号和密码登录，本机未上传的记录都会保留。";
  }
  if (reason === "forgot") return "忘记PIN：请联网用手机号和密码登录，本机的记录都会保留，之后设置新的PIN。";
  if (reason === "expired") return "登录已失效：请用手机号和密码重新登录，未上传的记录会继续上传。";
  return "第一次使用，请联网登录。登录后没有信号也能使用。";
}
