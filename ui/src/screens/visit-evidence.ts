// Where and before whom the visit is made: the phone's position (or, said plainly, why there
// is none) and who is present — household members ticked from the register, cadres typed in.
// It sits at the top of the visit's first part; nothing here stops a visit from being
// finished, but the township sees what is missing beside the checklist.
import type { Attendee, CadreRole, VisitView } from "../api";
import { h, replaceChildren } from "../dom";
import { clock } from "../format";
import { errorText } from "../ipc";
import { button, optButton, press } from "../ui/widgets";

export interface EvidenceCtx {
  locate(): Promise<VisitView>;
  setPresent(list: Attendee[]): Promise<VisitView>;
  applied(v: VisitView): void;
}

export class VisitEvidence {
  readonly el: HTMLElement;
  private view: VisitView;
  private readonly placeLine = h("p.place-line", { id: "visit-place", role: "status" });
  private readonly placeError = h("p.field-error", { id: "visit-place-error", hidden: true });
  private readonly members = h("div.opts.opts-grid", { id: "visit-present-members", role: "group", "aria-labelledby": "visit-present-label" });
  private readonly cadres = h("ul.cadre-list", { id: "visit-present-cadres" });
  private readonly presentError = h("p.field-error", { id: "visit-present-error", role: "alert", hidden: true });
  private readonly cadreName = h("input", { type: "text", id: "visit-cadre-name", maxlength: "30", autocomplete: "off", placeholder: "姓名" });
  private readonly cadreRole = h("select", { id: "visit-cadre-role", "aria-label": "在场干部的身份" });
  private readonly addForm: HTMLElement;
  private readonly locateBtn: HTMLButtonElement;

  constructor(view: VisitView, private readonly ctx: EvidenceCtx) {
    this.view = view;
    this.locateBtn = button("重新定位", { id: "visit-locate" }, () => this.locate(), "正在定位…");
    const addBtn = button("添加", { id: "visit-cadre-add" }, () => this.addCadre());
    this.cadreName.addEventListener("keydown", (e) => {
      if (e.key === "Enter") void this.addCadre();
    });
    this.addForm = h("div.cadre-add", h("label.field-label", { for: "visit-cadre-name" }, "在场干部"), h("div.cadre-add-row", this.cadreName, this.cadreRole, addBtn));
    this.el = h(
      "div.visit-evidence",
      { id: "visit-evidence" },
      h("h3.evidence-title", "核查地点"),
      this.placeLine,
      this.placeError,
      h("div.evidence-row", this.locateBtn),
      h("h3.evidence-title", { id: "visit-present-label" }, "在场人员（点选）"),
      this.members,
      this.cadres,
      this.addForm,
      this.presentError,
    );
    this.update(view);
  }

  /** Ask for the position when a visit of this worker's has none yet. */
  locateIfMissing(): void {
    if (this.view.editable && !this.view.place) void this.locate();
  }

  update(v: VisitView): void {
    this.view = v;
    const p = v.place;
    replaceChildren(
      this.placeLine,
      p ? h("strong", { class: p.fixed ? "ok-text" : "warn-text" }, p.describe_zh) : h("strong.warn-text", "还没有定位"),
      p ? ` · ${clock(p.at)}` : null,
    );
    this.locateBtn.hidden = !v.editable;
    this.addForm.hidden = !v.editable;
    replaceChildren(
      this.cadreRole,
      v.cadre_roles.map((r) => h("option", { value: r.role, selected: r.role === (this.cadreRole.value || "village_cadre") }, r.name_zh)),
    );
    const presentIds = new Set(v.present.flatMap((a) => (a.kind === "member" ? [a.member_id] : [])));
    replaceChildren(
      this.members,
      v.members.length
        ? v.members.map((m) => {
            const b = optButton(`${m.name}（${m.relation_zh}）`, { "data-member": m.member_id }, "opt opt-small");
            press(b, presentIds.has(m.member_id));
            b.disabled = !v.editable;
            b.addEventListener("click", () => void this.toggleMember(m.member_id));
            return b;
          })
        : h("p.hint", "本机没有该户成员信息"),
    );
    replaceChildren(
      this.cadres,
      v.present.flatMap((a, i) =>
        a.kind === "cadre"
          ? [
              h(
                "li.cadre",
                { "data-cadre": a.name },
                h("span", `${a.name}（${v.cadre_roles.find((r) => r.role === a.role)?.name_zh ?? ""}）`),
                v.editable ? button("移除", { attrs: { "aria-label": `移除${a.name}` } }, () => this.send(v.present.filter((_, j) => j !== i))) : null,
              ),
            ]
          : [],
      ),
    );
  }

  private async locate(): Promise<void> {
    this.placeError.hidden = true;
    try {
      this.ctx.applied(await this.ctx.locate());
    } catch (e) {
      this.placeError.textContent = `定位没有记录：${errorText(e)}`;
      this.placeError.hidden = false;
    }
  }

  private toggleMember(id: string): Promise<void> {
    const list = this.view.present;
    const has = list.some((a) => a.kind === "member" && a.member_id === id);
    if (has) return this.send(list.filter((a) => !(a.kind === "member" && a.member_id === id)));
    const m = this.view.members.find((x) => x.member_id === id);
    if (!m) return Promise.resolve();
    return this.send([...list, { kind: "member", member_id: m.member_id, name: m.name, relation: m.relation }]);
  }

  private addCadre(): Promise<void> {
    const name = this.cadreName.value.trim();
    if (!name) {
      this.showPresentError("请先填写在场干部的姓名");
      this.cadreName.focus();
      return Promise.resolve();
    }
    const role = this.cadreRole.value as CadreRole;
    return this.send([...this.view.present, { kind: "cadre", name, role }]).then(() => {
      // Keep what was typed when it was refused.
      if (this.presentError.hidden) this.cadreName.value = "";
    });
  }

  private showPresentError(text: string): void {
    this.presentError.textContent = text;
    this.presentError.hidden = false;
  }

  private async send(list: Attendee[]): Promise<void> {
    this.presentError.hidden = true;
    try {
      this.ctx.applied(await this.ctx.setPresent(list));
    } catch (e) {
      this.showPresentError(errorText(e));
    }
  }
}
