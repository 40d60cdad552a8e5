// 农户档案: the household, its members, its cases, visits and photos, and the one thing to do
// next (start or continue the home visit).
import { household, visit, type CaseView, type HouseholdFile, type MemberView, type PhotoView, type VisitPurpose, type VisitSummary } from "../api";
import { h, type Child } from "../dom";
import { day, when } from "../format";
import { errorText, track } from "../ipc";
import { go, href } from "../router";
import type { View } from "../shell";
import { bannerSlot, button, dueBadge, empty, kv, pendingMark, showPhoto, uploadWord } from "../ui/widgets";
import { primeVisit } from "./visit";

export async function householdScreen(id: string): Promise<View> {
  const file = await track(household.file(id));
  const msg = bannerSlot();
  // The one next step: this user's unfinished visit first, else a case that may be visited now.
  const openId = file.cases.find((c) => c.open_visit_id)?.open_visit_id ?? file.visits.find((v) => v.mine && v.has_working_copy && !v.final)?.id ?? null;
  const startable = file.cases.find((c) => c.can_start_visit && c.visit_purpose);
  const riskCheck = openId ? undefined : file.cases.find((c) => c.can_check_risk_elimination);
  const start = (c: CaseView, purpose: VisitPurpose) => async () => {
    msg.clear();
    try {
      const v = await track(visit.start(file.household_id, c.case_id, purpose));
      primeVisit(v);
      go("visit", v.visit_id);
    } catch (e) {
      msg.show("error", "无法开始核查：", errorText(e));
    }
  };
  let action: HTMLElement | null = null;
  if (openId) {
    action = button("继续核查", { id: "continue-visit", kind: "primary" }, () => go("visit", openId));
  } else if (startable?.visit_purpose) {
    const followUp = startable.visit_purpose === "follow_up";
    action = button(
      followUp ? "开始回访" : "开始入户核查",
      { id: "start-visit", kind: "primary" },
      start(startable, startable.visit_purpose),
      "正在准备核查表…",
    );
  }
  // A second, rarer job: the check that may end the monitoring. Never the main button.
  const riskButton = riskCheck
    ? button("风险消除核查", { id: "start-risk-check", kind: "secondary" }, start(riskCheck, "risk_elimination_check"), "正在准备核查表…")
    : null;

  const el = h(
    "section",
    { "data-screen": "household", "data-household-id": file.household_id, class: "screen screen-scroll" },
    headerCard(file),
    msg.el,
    h("div.secondary-actions", h("a.btn.btn-secondary", { href: href("proxy", "for", file.household_id), id: "new-proxy" }, "为此户代申报"), riskButton),
    h("h2.sec-title", `案件（${file.cases.length}）`),
    file.cases.length ? file.cases.map(caseCard) : empty("这户没有正在办理的案件"),
    h("h2.sec-title", `家庭成员（${file.members.length}人）`),
    file.members.length ? h("div.cards", file.members.map(memberCard)) : empty("还没有登记家庭成员"),
    h("h2.sec-title", `核查记录（${file.visits.length}）`),
    file.visits.length ? h("ul.visit-list", file.visits.map(visitLine)) : empty("还没有核查记录"),
    h("h2.sec-title", `照片（${file.photos.length}）`),
    file.photos.length ? photoGrid(file.photos) : empty("还没有照片"),
    action ? h("div.action-bar", action) : null,
  );
  return { el, title: `${file.head_name}家`, back: ["inbox"], tab: "none" };
}

function headerCard(f: HouseholdFile): HTMLElement {
  return h(
    "div",
    { class: "card card-head" },
    h("p.head-name", f.head_name, h("span.head-role", "户主"), f.pending ? pendingMark() : null),
    h(
      "dl",
      { class: "kvs" },
      kv("住址", f.address),
      kv("门牌号", f.door_plate),
      kv("村", f.village_name),
      kv("电话", f.phone_masked),
      kv("户类型", [f.category_zh ?? "", f.formerly_poor ? "（脱贫户）" : ""].join("") || null),
      kv("监测状态", f.monitoring_zh),
    ),
  );
}

export function caseCard(c: CaseView): HTMLElement {
  return h(
    "article",
    { class: "card case-card", "data-case-id": c.case_id },
    h("div.case-top", h("span.case-stage", c.stage_zh), c.pending ? pendingMark() : null, c.green_channel ? h("span.tag.tag-green", "绿色通道") : null),
    c.due ? h("p.case-due", dueBadge(c.due), h("span.hint", ` 截止 ${day(c.due.due_on)}`)) : null,
    h(
      "dl",
      { class: "kvs" },
      kv("申请人", c.applicant_name + (c.applicant_phone_masked ? `（${c.applicant_phone_masked}）` : "")),
      kv("回执号", c.receipt_no),
      kv("来源", c.source_zh),
      kv("申报时间", when(c.declared_at)),
      kv("困难类型", c.risks_zh.join("、")),
      kv("监测类型", c.category_zh),
      kv("情况说明", c.description),
      c.proxy ? kv("代申报", `${c.proxy.filler_name}（${c.proxy.relation}）· ${c.proxy.confirmation_zh}`) : null,
    ),
    c.plan ? planBlock(c.plan) : null,
    c.follow_ups.length ? followUps(c) : null,
    c.timeline.length ? timeline(c) : null,
  );
}

function planBlock(plan: NonNullable<CaseView["plan"]>): HTMLElement {
  return h(
    "div",
    { class: "sub" },
    h("h3", `帮扶计划（${day(plan.made_on)}制定）`),
    plan.measures.length
      ? h(
          "ul",
          { class: "measures" },
          plan.measures.map((m) =>
            h(
              "li",
              null,
              h("strong", m.kind_zh),
              m.amount_yuan ? ` ${m.amount_yuan}元` : null,
              m.description ? h("div", m.description) : null,
              h("div.hint", `责任人：${m.responsible}`, m.due_on ? ` · 期限 ${day(m.due_on)}` : null, m.done_on ? ` · ✓ 已落实 ${day(m.done_on)}` : " · 未落实"),
            ),
          ),
        )
      : h("p", "还没有帮扶措施"),
  );
}

function followUps(c: CaseView): HTMLElement {
  return h(
    "div",
    { class: "sub" },
    h("h3", "回访"),
    h(
      "ul",
      { class: "plain-list" },
      c.follow_ups.map((f) =>
        h(
          "li",
          { class: f.overdue && !f.done_on ? "text-danger" : null },
          `${day(f.due_on)} `,
          f.done_on ? `✓ 已回访（${day(f.done_on)}）` : f.overdue ? "⚠ 已逾期未回访" : "待回访",
          f.note ? ` · ${f.note}` : null,
        ),
      ),
    ),
  );
}

function timeline(c: CaseView): HTMLElement {
  const items = c.timeline.map((t) =>
    h(
      "li",
      null,
      h("span.tl-when", when(t.at)),
      h("span.tl-what", t.label_zh, t.by ? `（${t.by}）` : null, t.pending ? pendingMark() : null),
      t.note ? h("span.tl-note", t.note) : null,
    ),
  );
  const list = h("ol.timeline", items);
  const LIMIT = 4;
  if (items.length <= LIMIT) return h("div.sub", h("h3", "办理过程"), list);
  // Long histories: the latest steps matter most; the rest on request.
  for (const li of items.slice(0, items.length - LIMIT)) li.hidden = true;
  const more = h("button.btn.btn-plain", `显示全部${items.length}条`);
  more.addEventListener("click", () => {
    for (const li of items) li.hidden = false;
    more.remove();
  });
  return h("div.sub", h("h3", "办理过程"), more, list);
}

function memberCard(m: MemberView): HTMLElement {
  const facts: Child[] = [
    m.age !== null ? `${m.age}岁` : null,
    m.health_zh,
    m.work_zh,
    m.schooling_zh,
    m.medical_insurance ? "已参加医保" : "⚠ 未参加医保",
    m.living_together ? null : "不在一起生活",
  ].filter((x) => !!x);
  return h(
    "div",
    { class: "card member" },
    h("p.member-name", m.name, h("span.member-rel", m.relation_zh)),
    m.id_number_masked ? h("p.hint.mono", m.id_number_masked) : null,
    h("p", facts.join(" · ")),
  );
}

function visitLine(v: VisitSummary): HTMLElement {
  const state = v.final ? `已定稿 ${when(v.finalized_at)}` : v.has_working_copy ? "未完成（草稿）" : "草稿";
  const who = v.mine ? "" : " · 他人填写";
  return h(
    "li",
    null,
    h(
      "a",
      { href: href("visit", v.id), class: "visit-link", "data-visit-id": v.id },
      h("span.visit-purpose", v.purpose_zh),
      h("span.hint", `${when(v.started_at)} 开始 · ${state}${who}`, v.supersedes ? " · 更正" : null),
      v.pending ? pendingMark() : null,
    ),
  );
}

export function photoGrid(photos: PhotoView[]): HTMLElement {
  return h(
    "div",
    { class: "photo-grid" },
    photos.map((p) => {
      const b = h(
        "button",
        { type: "button", class: "photo-cell", "data-photo-id": p.id, "aria-label": `${p.caption_zh}，${uploadWord(p)}，点击查看大图` },
        p.thumb_url ? h("img", { src: p.thumb_url, alt: "", loading: "lazy" }) : h("span.photo-none", "无预览"),
        h("span.photo-cap", p.caption_zh),
        h("span", { class: `photo-state photo-${p.upload}` }, uploadWord(p)),
      );
      b.addEventListener("click", () => showPhoto(p));
      return b;
    }),
  );
}

/** A case not yet linked to a household (a fresh declaration, household_id null). */
export async function caseOnlyScreen(caseId: string): Promise<View> {
  const c = await track(household.caseView(caseId));
  const el = h(
    "section",
    { "data-screen": "case", "data-case-id": caseId, class: "screen screen-scroll" },
    h(
      "div",
      { class: "card card-head" },
      h("p.head-name", c.applicant_name, c.pending ? pendingMark() : null),
      h("dl.kvs", kv("住址", c.address), kv("村", c.village_name)),
    ),
    h("p.hint", "这个申报还没有对应到农户档案。乡镇受理后，档案会在同步时下载到手机上。"),
    h("div.secondary-actions", h("a.btn.btn-secondary", { href: href("proxy"), id: "new-proxy" }, "代申报")),
    caseCard(c),
  );
  return { el, title: c.applicant_name, back: ["inbox"], tab: "none" };
}
