// The PIN: set once after login, then asked for whenever the app is locked (works offline).
import { app } from "../api";
import { h } from "../dom";
import { errorText, toError, track } from "../ipc";
import { halfWidth } from "../format";
import { appState, setAppState } from "../session";
import type { View } from "../shell";
import { href } from "../router";
import { bannerSlot, field, onSubmit, setFieldError } from "../ui/widgets";

function pinInput(id: string, autofocus = false): HTMLInputElement {
  const el = h("input.pin-input", { id, type: "password", inputmode: "numeric", autocomplete: "off", maxlength: 6, pattern: "[0-9]*", autofocus });
  // Full-width digits from a Chinese keyboard count as digits; anything else is dropped.
  el.addEventListener("input", () => {
    const clean = halfWidth(el.value).replace(/\D/g, "").slice(0, 6);
    if (clean !== el.value) el.value = clean;
  });
  return el;
}

export function setPinScreen(): View {
  const pin = pinInput("pin-new", true);
  const again = pinInput("pin-repeat");
  const submit = h("button.btn.btn-primary.btn-block", { type: "submit", id: "pin-submit" }, "设置PIN");
  const msg = bannerSlot();
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("新PIN（6位数字）", pin, { name: "pin" }),
    field("再输入一次", again, { name: "pin-repeat" }),
    msg.el,
    submit,
  );
  pin.addEventListener("input", () => setFieldError(form, "pin", null));
  again.addEventListener("input", () => setFieldError(form, "pin-repeat", null));
  onSubmit(
    form,
    submit,
    async () => {
      msg.clear();
      if (!/^\d{6}$/.test(pin.value)) {
        setFieldError(form, "pin", "PIN需要6位数字");
        pin.focus();
        return;
      }
      if (again.value !== pin.value) {
        setFieldError(form, "pin-repeat", "两次输入的PIN不一样，请再输入一次");
        again.focus();
        return;
      }
      try {
        setAppState(await track(app.setPin(pin.value)));
      } catch (e) {
        const err = toError(e);
        if (err.kind === "invalid") setFieldError(form, "pin", err.message);
        else msg.show("error", errorText(err));
      }
    },
    "正在保存…",
  );
  const user = appState()?.user;
  const el = h(
    "section",
    { "data-screen": "set-pin", class: "screen screen-pad" },
    user ? h("p.lead", `${user.name}，登录成功。`) : null,
    h("p.lead", "请设置一个6位数字的PIN。", h("strong", "以后没有信号也能用PIN打开"), "应用。"),
    form,
    h("p.hint", "不要用生日或123456这样容易猜的数字。"),
  );
  return { el, title: "设置PIN", bare: true };
}

export function lockedScreen(): View {
  const user = appState()?.user;
  const pin = pinInput("pin-unlock", true);
  const submit = h("button.btn.btn-primary.btn-block", { type: "submit", id: "unlock-submit" }, "解锁");
  const msg = bannerSlot("unlock-message");
  const form = h("form.stack", { novalidate: true }, field("PIN", pin, { name: "pin" }), msg.el, submit);
  let timer: number | undefined;

  const wait = (seconds: number): void => {
    if (timer !== undefined) clearInterval(timer);
    const until = Date.now() + seconds * 1000;
    pin.disabled = true;
    const tick = (): void => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(timer);
        timer = undefined;
        pin.disabled = false;
        submit.disabled = false;
        msg.show("info", "现在可以再试了");
        pin.focus();
        return;
      }
      submit.disabled = true;
      const m = Math.floor(left / 60);
      const s = left % 60;
      msg.show("error", `PIN输错次数太多，请等 ${m > 0 ? `${m}分` : ""}${s}秒 后再试`);
    };
    tick();
    // Again after the submit handler has finished (it re-enables its button).
    window.setTimeout(tick, 0);
    timer = window.setInterval(tick, 1000);
  };

  pin.addEventListener("input", () => setFieldError(form, "pin", null));
  onSubmit(
    form,
    submit,
    async () => {
      msg.clear();
      if (!/^\d{6}$/.test(pin.value)) {
        setFieldError(form, "pin", "请输入6位数字PIN");
        return;
      }
      try {
        setAppState(await track(app.unlock(pin.value)));
      } catch (e) {
        const err = toError(e);
        pin.value = "";
        if (err.kind === "locked" && err.retry_after_s) {
          wait(err.retry_after_s);
          return;
        }
        if (err.kind === "invalid") setFieldError(form, "pin", err.message || "PIN不正确");
        else msg.show("error", errorText(err));
        pin.focus();
      }
    },
    "正在解锁…",
  );
  // A forgotten PIN is not a reason to lose anything: the password (online) opens the same store.
  const logout = h("a.btn.btn-link", { id: "locked-forgot", href: href("relogin") }, "忘记PIN？用密码登录");
  const el = h(
    "section",
    { "data-screen": "locked", class: "screen screen-pad" },
    h("p.user-big", user ? user.name : "已锁定"),
    user ? h("p.hint", `${user.role_zh} · ${user.scope_name}`) : null,
    form,
    h("div.center", logout),
  );
  return {
    el,
    title: "一键申报",
    bare: true,
    leave: () => {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
