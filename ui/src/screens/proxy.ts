// 代申报: a cadre fills the declaration for an elderly or illiterate villager, reads it back,
// and photographs the applicant's thumbprint or signature. Entirely offline; every keystroke
// is kept as a draft so a closed app or a dead battery loses nothing.
import { drafts, household, photos, proxy, type ProxyForm, type ReadBackLine, type RiskOption, type StagedPhoto } from "../api";
import { h, replaceChildren } from "../dom";
import { halfWidth } from "../format";
import { errorText, toError, track } from "../ipc";
import { back, go, href, replace } from "../router";
import { appState, statusSoon } from "../session";
import type { View } from "../shell";
import { banner, bannerSlot, button, field, optButton, photoButton, press, setFieldError } from "../ui/widgets";

const DRAFT_KEY = "proxy";
const RELATIONS = ["驻村干部", "帮扶干部", "网格员", "亲属"];

interface Flow {
  form: ProxyForm | null;
  householdName: string | null;
  lines: ReadBackLine[] | null;
  staged: StagedPhoto | null;
  done: { case_id: string; household_id: string; name: string } | null;
}

const flow: Flow = { form: null, householdName: null, lines: null, staged: null, done: null };

function blankForm(village: string, householdId: string | null): ProxyForm {
  return {
    household_id: householdId,
    applicant_name: "",
    id_number: "",
    phone: "",
    village,
    address: "",
    household_size: "",
    risk_types: [],
    description: "",
    filler_name: appState()?.user?.name ?? "",
    filler_relation: "",
    confirmation: "thumbprint",
  };
}

function typedSomething(f: ProxyForm): boolean {
  return !!(f.applicant_name.trim() || f.id_number.trim() || f.phone.trim() || f.address.trim() || f.description.trim() || f.household_size.trim() || f.risk_types.length);
}

// Drafts are written on every change, but never two at once: the newest form wins.
let writing = false;
let rewrite = false;
function persist(onError: (m: string) => void): void {
  if (!flow.form) return;
  if (writing) {
    rewrite = true;
    return;
  }
  writing = true;
  track(drafts.put(DRAFT_KEY, flow.form))
    .catch((e: unknown) => onError(`草稿没有保存：${errorText(e)}`))
    .then(() => {
      writing = false;
      if (rewrite) {
        rewrite = false;
        persist(onError);
      }
    });
}

export async function proxyFormScreen(forHousehold: string | null): Promise<View> {
  const [villages, risks, draft] = await Promise.all([track(proxy.villages()), track(proxy.riskOptions()), track(drafts.get<ProxyForm>(DRAFT_KEY))]);
  const firstVillage = villages[0]?.code ?? "";
  const msg = bannerSlot("pf-message");
  const choice = h("div.draft-choice");
  let form: ProxyForm = flow.form ?? (draft ? { ...blankForm(firstVillage, null), ...draft } : blankForm(firstVillage, forHousehold));

  const prefill = async (hid: string): Promise<void> => {
    try {
      const f = await track(household.file(hid));
      flow.householdName = f.head_name;
      const v = villages.find((x) => x.code === f.village);
      form = { ...blankForm(v?.code ?? firstVillage, hid), applicant_name: f.head_name, address: f.address, household_size: String(f.members.filter((m) => m.living_together).length || "") };
    } catch {
      form = blankForm(firstVillage, hid);
    }
  };

  if (forHousehold && form.household_id !== forHousehold) {
    if (typedSomething(form)) {
      // An unfinished declaration for someone else: never drop it silently.
      const other = form.applicant_name.trim() || "未填姓名";
      const keep = button("继续填写上次的", {}, () => {
        replaceChildren(choice);
      });
      const fresh = button(
        "放弃上次的，为此户新填",
        { kind: "danger" },
        async () => {
          await prefill(forHousehold);
          flow.form = form;
          flow.lines = null;
          persist((m) => msg.show("warn", m));
          replace("proxy", "for", forHousehold);
        },
        "正在准备…",
      );
      replaceChildren(choice, banner("warn", `上次为“${other}”填写的代申报还没有提交。`, h("div.btn-row", keep, fresh)));
    } else await prefill(forHousehold);
  }
  flow.form = form;

  const set = <K extends keyof ProxyForm>(k: K, v: ProxyForm[K]): void => {
    form[k] = v;
    flow.lines = null; // what was read back no longer matches
    setFieldError(el, k, null);
    persist((m) => msg.show("warn", m));
  };

  const text = (id: string, key: "applicant_name" | "id_number" | "phone" | "address" | "household_size" | "filler_name" | "filler_relation", attrs: Record<string, string> = {}): HTMLInputElement => {
    const input = h("input", { id, type: "text", autocomplete: "off", value: form[key], ...attrs });
    const on = (): void => {
      if (input.value !== form[key]) set(key, input.value);
    };
    input.addEventListener("input", on);
    input.addEventListener("change", on);
    return input;
  };

  const name = text("pf-name", "applicant_name");
  const idNo = text("pf-id", "id_number", { autocapitalize: "characters", spellcheck: "false", class: "mono" });
  const idCount = h("p.hint", { "aria-live": "polite" });
  const countId = (): void => {
    const n = idNo.value.replace(/\s/g, "").length;
    idCount.textContent = `已输入${n}位，共18位${n === 18 ? " ✓" : ""}`;
  };
  idNo.addEventListener("input", () => {
    // Full-width digits and a lower-case x are what Chinese keyboards type.
    const clean = halfWidth(idNo.value).replace(/x/g, "X");
    if (clean !== idNo.value) {
      idNo.value = clean;
      set("id_number", clean);
    }
    countId();
  });
  countId();
  const phone = text("pf-phone", "phone", { type: "tel", inputmode: "tel" });
  const village = h("select", { id: "pf-village" }, villages.map((v) => h("option", { value: v.code, selected: v.code === form.village }, v.name)));
  if (!villages.some((v) => v.code === form.village)) set("village", firstVillage);
  village.value = form.village;
  village.addEventListener("change", () => set("village", village.value));
  const address = text("pf-address", "address");
  const size = text("pf-size", "household_size", { inputmode: "numeric", class: "num" });

  const riskButtons = risks.map((r: RiskOption) => {
    const b = optButton(r.label_zh, { "data-risk": r.value }, "opt.opt-small");
    b.addEventListener("click", () => {
      const on = form.risk_types.includes(r.value);
      set("risk_types", on ? form.risk_types.filter((x) => x !== r.value) : risks.map((x) => x.value).filter((x) => x === r.value || form.risk_types.includes(x)));
      paintToggles();
    });
    return b;
  });

  const description = h("textarea", { id: "pf-description", rows: 4 });
  description.value = form.description;
  const descCount = h("p.hint.counter");
  const countDesc = (): void => {
    descCount.textContent = `${Array.from(description.value).length}字`;
  };
  description.addEventListener("input", () => {
    set("description", description.value);
    countDesc();
  });
  countDesc();

  const filler = text("pf-filler", "filler_name");
  const relation = text("pf-relation", "filler_relation", { placeholder: "也可以直接填写" });
  const relButtons = RELATIONS.map((r) => {
    const b = h("button.chip", { "data-relation": r, "aria-pressed": "false" }, r);
    b.addEventListener("click", () => {
      relation.value = r;
      set("filler_relation", r);
      paintToggles();
    });
    return b;
  });
  relation.addEventListener("input", () => paintToggles());

  const confirmBtn = (value: "thumbprint" | "signature", label: string): HTMLButtonElement => {
    const b = optButton(label, { id: `pf-confirmation-${value}` });
    b.addEventListener("click", () => {
      set("confirmation", value);
      paintToggles();
    });
    return b;
  };
  const thumb = confirmBtn("thumbprint", "按手印");
  const sign = confirmBtn("signature", "签字");

  function paintToggles(): void {
    for (const b of riskButtons) press(b, form.risk_types.includes(b.dataset.risk ?? ""));
    for (const b of relButtons) press(b, relation.value === b.dataset.relation);
    press(thumb, form.confirmation === "thumbprint");
    press(sign, form.confirmation === "signature");
  }
  paintToggles();

  const group = (label: string, key: string, ...content: (HTMLElement | null)[]): HTMLElement =>
    h("div.field", { "data-field": key, role: "group", "aria-label": label }, h("p.field-label", label), ...content);

  const next = button(
    "下一步：读给申请人听",
    { id: "pf-next", kind: "primary" },
    async () => {
      msg.clear();
      for (const k of Object.keys(form)) setFieldError(el, k, null);
      try {
        flow.lines = await track(proxy.check(form));
        go("proxy", "readback");
      } catch (e) {
        const err = toError(e);
        // Every field at fault at once (fields), else the one named (field).
        const faults: Record<string, string> = {};
        for (const [k, m] of Object.entries(err.fields ?? {})) if (m !== undefined) faults[k] = m;
        if (err.field && !faults[err.field]) faults[err.field] = err.message;
        const shown = Object.keys(faults).filter((k) => el.querySelector(`[data-field="${k}"]`));
        if (err.kind === "invalid" && shown.length) {
          for (const k of shown) setFieldError(el, k, faults[k]);
          if (shown.length > 1) msg.show("error", `有${shown.length}处需要修改，请看标红的地方`);
          // The first one in the form's order, scrolled to and focused.
          const first = el.querySelector<HTMLElement>(".field.has-error");
          first?.scrollIntoView({ block: "center" });
          first?.querySelector<HTMLElement>("input, select, textarea, button")?.focus();
        } else msg.show("error", errorText(err));
      }
    },
    "正在检查…",
  );

  const forWho = form.household_id ? h("p.lead", `为${flow.householdName ?? "该户"}家代申报（已有档案）`) : null;

  const el = h(
    "section",
    { "data-screen": "proxy-form", class: "screen screen-scroll" },
    choice,
    forWho,
    h("p.hint", "填写的内容会自动保存，没有信号也能填。"),
    h("h2.sec-title", "申请人"),
    field("申请人姓名", name, { name: "applicant_name" }),
    h("div.field", { "data-field": "id_number" }, h("label.field-label", { for: "pf-id" }, "身份证号"), idNo, idCount),
    field("手机号", phone, { name: "phone", optional: true }),
    field("村", village, { name: "village" }),
    field("详细地址", address, { name: "address", hint: "例如：太平村三社18号" }),
    h("div.field", { "data-field": "household_size" }, h("label.field-label", { for: "pf-size" }, "家庭人口数"), h("div.num-row", size, h("span.unit", "人"))),
    group("困难类型（可多选）", "risk_types", h("div.opts.opts-grid", riskButtons)),
    h("div.field", { "data-field": "description" }, h("label.field-label", { for: "pf-description" }, "困难情况简述"), h("p.hint", "用申请人自己的话，写清楚遇到了什么困难"), description, descCount),
    h("h2.sec-title", "代填人"),
    field("代填人姓名", filler, { name: "filler_name" }),
    h("div.field", { "data-field": "filler_relation" }, h("label.field-label", { for: "pf-relation" }, "与申请人关系"), h("div.chips.chips-wrap", relButtons), relation),
    group("确认方式", "confirmation", h("div.opts.opts-yn", thumb, sign)),
    msg.el,
    h("div.action-bar", next),
  );
  return {
    el,
    title: "代申报",
    tab: "proxy",
    back: forHousehold ? ["household", forHousehold] : undefined,
    flush: () => persist(() => undefined),
  };
}

export function readbackScreen(): View {
  if (!flow.lines || !flow.form) return redirectToForm();
  const el = h(
    "section",
    { "data-screen": "proxy-readback", class: "screen screen-scroll screen-flow" },
    h("p.lead", "请把下面每一条读给申请人听，问清楚对不对。"),
    h(
      "ol",
      { id: "readback", class: "readback" },
      flow.lines.map((l) => h("li", h("span.rb-label", l.label_zh), h("span.rb-value", l.value_zh || "（未填写）"))),
    ),
    h(
      "div",
      { class: "action-bar action-bar-2" },
      button("返回修改", { id: "readback-back" }, () => back(["proxy"])),
      button("申请人已确认无误", { id: "readback-ok", kind: "primary" }, () => go("proxy", "confirm")),
    ),
  );
  return { el, title: "读给申请人听", back: ["proxy"] };
}

export function confirmScreen(): View {
  const form = flow.form;
  if (!flow.lines || !form) return redirectToForm();
  const thumbprint = form.confirmation === "thumbprint";
  const msg = bannerSlot("pf-confirm-message");
  const img = h("img.confirm-preview", { alt: thumbprint ? "申请人手印照片" : "申请人签字照片" });
  const preview = h("div", { id: "pf-photo-preview", hidden: !flow.staged });
  if (flow.staged) {
    img.src = flow.staged.thumb_url || flow.staged.url;
    preview.appendChild(img);
  }
  const submit = button(
    "保存申报",
    { id: "pf-submit", kind: "primary" },
    async () => {
      const staged = flow.staged;
      if (!staged) {
        msg.show("error", "请先拍照");
        return;
      }
      msg.clear();
      try {
        const r = await track(proxy.submit(form, staged));
        try {
          await track(drafts.clear(DRAFT_KEY));
        } catch {
          // the declaration is saved; a stale draft only prefills the next form
        }
        flow.done = { ...r, name: form.applicant_name };
        flow.form = null;
        flow.lines = null;
        flow.staged = null;
        flow.householdName = null;
        statusSoon();
        replace("proxy", "done");
      } catch (e) {
        msg.show("error", "没有保存：", errorText(e));
      }
    },
    "正在保存…",
  );
  submit.disabled = !flow.staged;
  const pick = photoButton(
    flow.staged ? "重新拍照" : thumbprint ? "拍摄手印" : "拍摄签字",
    { id: "pf-photo-input" },
    (files) => {
      void (async () => {
        msg.show("info", "正在处理照片…");
        submit.disabled = true;
        try {
          const staged = await track(photos.stage(files[0]));
          flow.staged = staged;
          img.src = staged.thumb_url || staged.url;
          replaceChildren(preview, img);
          preview.hidden = false;
          pick.setLabel("重新拍照", "secondary");
          msg.show("ok", "照片已保存，请确认照片清楚后点“保存申报”。");
        } catch (e) {
          msg.show("error", "照片没有保存：", errorText(e));
        } finally {
          submit.disabled = !flow.staged;
        }
      })();
    },
    { kind: flow.staged ? "secondary" : "primary" },
  );
  const el = h(
    "section",
    { "data-screen": "proxy-confirm", class: "screen screen-scroll screen-flow" },
    h("p.lead", thumbprint ? "请申请人在申报单上按手印，然后拍一张清楚的照片。" : "请申请人在申报单上签字，然后拍一张清楚的照片。"),
    h("div.confirm-photo", preview, pick.el),
    msg.el,
    h("div.action-bar", submit),
  );
  return { el, title: thumbprint ? "按手印确认" : "签字确认", back: ["proxy", "readback"] };
}

export function doneScreen(): View {
  const done = flow.done;
  if (!done) {
    replace("inbox");
    return { el: h("section.screen", { "data-screen": "proxy-done" }), title: "代申报" };
  }
  const el = h(
    "section",
    { "data-screen": "proxy-done", class: "screen screen-pad center-col" },
    h("p.done-mark", { "aria-hidden": "true" }, "✓"),
    h("p.done-title", "已保存。有信号时会自动上传。"),
    h("p.lead", { id: "pf-done-case", "data-case-id": done.case_id }, `申请人：${done.name}`),
    h("p.hint", "回执号会在上传后生成，可在待办里查看。"),
    h("a.btn.btn-primary.btn-block", { href: href("inbox"), id: "pf-done-inbox" }, "回到待办"),
    h("a.btn.btn-secondary.btn-block", { href: href("household", done.household_id) }, "查看农户档案"),
  );
  return { el, title: "代申报", tab: "proxy" };
}

function redirectToForm(): View {
  replace("proxy");
  return { el: h("section.screen"), title: "代申报" };
}
