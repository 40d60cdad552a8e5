// DEV ONLY: answers every command of src/api.ts with realistic fake data, so the screens can
// be laid out and tried in a plain browser (dev.html) while the Rust side is being written.
// Never imported by index.html, so it never reaches the production bundle.
//
// URL parameters: ?stage=first_run|set_pin|locked|unlocked  ?n=30000 (cases)  ?latency=120 (ms)
// ?expired=1 (login revoked)  ?syncfail=1  ?problems=0 (no quarantine/conflicts)  ?empty=1
/* eslint-disable @typescript-eslint/no-explicit-any */
import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type {
  Account, Answer, AnswerProblem, AppState, CaseView, CommandError, ConflictEntry, DueInfo, Evaluation, HouseholdFile, InboxQuery, InboxRow,
  MemberView, PhotoView, ProxyForm, QuarantineEntry, ReadBackLine, StagedPhoto, SyncStatus, Verdict, VisitSummary, VisitView,
} from "../src/api";
import type { Attendee, CadreRole, DeadlineStep, Stage } from "../src/bindings";
import { RISKS, TEMPLATE, type Aspect, type Condition } from "./template";

const params = new URLSearchParams(location.search);
const LATENCY = Number(params.get("latency") ?? 120);
const N = params.get("empty") ? 0 : Number(params.get("n") ?? 2000);

// ---------------------------------------------------------------------------------------------
// Deterministic fake people
// ---------------------------------------------------------------------------------------------
let seed = 20250605;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

const SURNAMES = "王李张刘马杨赵陈何魏周罗牛韩董郭党".split("");
const GIVEN = ["建国", "秀兰", "玉梅", "志强", "永福", "桂英", "德明", "海燕", "成林", "文娟", "福贵", "春花", "国栋", "兰英", "振华", "小军", "凤霞", "全有", "彦平", "巧莲", "生财", "淑琴", "满仓", "金花"];
const VILLAGES = [
  { code: "621102105201", name: "太平村" },
  { code: "621102105202", name: "红崖村" },
  { code: "621102105203", name: "柳树湾村" },
  { code: "621102105204", name: "石门村" },
];
const STAGES: [Stage, string, number][] = [
  ["declared", "已申报待受理", 8],
  ["accepted", "已受理待入户", 30],
  ["verifying", "入户核查中", 14],
  ["verified_qualifies", "核查符合条件", 6],
  ["verified_not_qualified", "核查不符合条件待告知", 3],
  ["cross_checked", "信息比对已完成", 4],
  ["publicly_noticed", "公示已完成", 4],
  ["township_reviewed", "乡镇复核通过待县审批", 5],
  ["plan_made", "已制定帮扶计划", 6],
  ["assisting", "帮扶中", 16],
  ["risk_elimination_proposed", "风险消除申请中", 4],
];
const SOURCES = ["群众自主申报", "群众自主申报", "群众自主申报", "代申报", "网格员排查", "部门预警", "绿色通道"];

const today = new Date();
const ymd = (d: Date): string => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
const addDays = (n: number): Date => new Date(today.getFullYear(), today.getMonth(), today.getDate() + n, 9, 30);
const iso = (d: Date): string => d.toISOString();

function due(offset: number, step_zh: string, step: DueInfo["step"]): DueInfo {
  const urgency = offset < 0 ? "overdue" : offset <= 2 ? "due_soon" : "on_time";
  const label_zh = offset < 0 ? `已逾期${-offset}个工作日` : offset === 0 ? "今日到期" : `还剩${offset}个工作日`;
  return { step, step_zh, due_on: ymd(addDays(Math.round(offset * 1.4))), urgency, label_zh, provisional: offset > 20 };
}

interface MockCase { row: InboxRow; offset: number; idNumber: string; phone: string; members: number; declaredAt: string; description: string; seq: number }

function idNumber(): string {
  const base = `6211021${int(950, 999) + 1000}${String(int(1, 12)).padStart(2, "0")}${String(int(1, 28)).padStart(2, "0")}${int(100, 999)}`.slice(0, 17);
  return base + checksum(base);
}
function checksum(first17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * w[i];
  return "10X98765432"[s % 11];
}

const cases: MockCase[] = [];
for (let i = 0; i < N; i++) {
  const [stage, stage_zh] = weighted();
  const v = VILLAGES[i % 7 === 0 ? int(1, 3) : 0];
  const name = pick(SURNAMES) + pick(GIVEN);
  const id = idNumber();
  const hasHousehold = stage !== "declared" || rnd() < 0.3;
  const plate = `${v.code}-${String(i + 1).padStart(3, "0")}`;
  const clocked = !["assisting", "plan_made"].includes(stage) || rnd() < 0.2;
  const offset = int(-6, 14);
  const step: [DeadlineStep, string] = stage === "declared" ? ["accept", "乡镇受理"] : stage === "accepted" || stage === "verifying" ? ["home_verification", "入户核查"] : stage === "plan_made" || stage === "assisting" ? ["follow_up", "回访"] : ["county_approval", "县级审批"];
  const risks = [pick(RISKS)[1]];
  if (rnd() < 0.4) risks.push(pick(RISKS)[1]);
  const row: InboxRow = {
    case_id: `C${String(i + 1).padStart(6, "0")}`,
    household_id: hasHousehold ? `H${i + 1}` : null,
    name,
    id_last4: id.slice(-4),
    door_plate: hasHousehold ? plate : null,
    address: `${v.name}${pick(["一", "二", "三", "四", "五", "六"])}社${int(1, 60)}号`,
    village_name: v.name,
    stage,
    stage_zh,
    source_zh: pick(SOURCES),
    risks_zh: Array.from(new Set(risks)),
    receipt_no: rnd() < 0.7 ? `SB${ymd(addDays(-int(1, 40))).replace(/-/g, "")}${String(int(1, 9999)).padStart(4, "0")}` : null,
    due: clocked ? due(offset, step[1], step[0]) : null,
    pending: rnd() < 0.06,
  };
  cases.push({ row, offset: clocked ? offset : 999, idNumber: id, phone: `1${int(30, 99)}${int(1000, 9999)}${int(1000, 9999)}`, members: int(1, 7), declaredAt: iso(addDays(-int(1, 30))), description: pick(["老伴去年患脑梗住院，自付医疗费两万多元，家里没有别的收入。", "儿子在外打工受伤，不能干活，孙子上高中花费大。", "今年冰雹把地膜玉米打了，收成不到往年一半。", "房子后墙裂了缝，下雨漏水，住着不放心。", "水窖干了，吃水要到两里外去拉。"]), seq: i });
}
// The inbox's order: most overdue first, then by due date, then cases without a clock.
cases.sort((a, b) => a.offset - b.offset);
if (cases[0]) { cases[0].row.name = "王建国"; cases[0].row.id_last4 = "1234"; }

function weighted(): [Stage, string] {
  const total = STAGES.reduce((s, x) => s + x[2], 0);
  let r = rnd() * total;
  for (const s of STAGES) {
    if ((r -= s[2]) < 0) return [s[0], s[1]];
  }
  return [STAGES[0][0], STAGES[0][1]];
}

const byHousehold = new Map<string, MockCase>();
for (const c of cases) if (c.row.household_id) byHousehold.set(c.row.household_id, c);

// ---------------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------------
const user: Account = { id: "U1", login: "13800000001", name: "李明", role: "village_worker", role_zh: "村级网格员", scope: "621102105201", scope_name: "鲁家沟镇太平村" };
let stage = (params.get("stage") as AppState["stage"]) ?? "unlocked";
let pin = "123456";
let wrongPins = 0;
let server = "http://10.62.1.8:8080";
const loginExpired = params.get("expired") === "1";

function state(): AppState {
  return { stage, version: "0.1.0", platform: "linux", server: stage === "first_run" ? null : server, user: stage === "first_run" ? null : user, login_expired: loginExpired, wiped: null, idle_lock_s: 300, pin_failures: wrongPins, max_pin_failures: 10 };
}

function fail(kind: CommandError["kind"], message: string, extra: Partial<CommandError> = {}): never {
  throw { kind, message, ...extra } satisfies CommandError;
}

// ---------------------------------------------------------------------------------------------
// Photos: coloured placeholders (data: URLs pass the app's CSP) and what the user picks
// ---------------------------------------------------------------------------------------------
function svgPhoto(label: string, hue: number, w = 320, h = 240): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="hsl(${hue},35%,62%)"/><rect x="10%" y="55%" width="80%" height="35%" fill="hsl(${hue},30%,40%)"/><circle cx="75%" cy="25%" r="12%" fill="hsl(50,90%,75%)"/><text x="50%" y="48%" font-size="${Math.round(w / 10)}" text-anchor="middle" fill="#fff" font-family="sans-serif">${label}</text></svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
const staged = new Map<string, StagedPhoto>();
let photoSeq = 0;
function hex(n: number): string {
  let s = "";
  while (s.length < n) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Household files
// ---------------------------------------------------------------------------------------------
const RELS = ["户主", "配偶", "长子", "长女", "次子", "孙子", "孙女", "母亲"];
function members(c: MockCase): MemberView[] {
  const out: MemberView[] = [];
  for (let i = 0; i < c.members; i++) {
    const age = i === 0 ? 50 + (c.seq % 25) : i === 1 ? 48 + (c.seq % 20) : i === 7 ? 80 : 6 + ((c.seq * (i + 3)) % 30);
    out.push({
      id: `${c.row.household_id}-M${i}`,
      name: i === 0 ? c.row.name : c.row.name[0] + GIVEN[(c.seq + i * 5) % GIVEN.length],
      relation_zh: RELS[i] ?? "其他",
      id_number_masked: `6211********${String((c.seq * 37 + i * 11) % 10000).padStart(4, "0")}`,
      age,
      health_zh: i === 0 && c.row.risks_zh.includes("因病") ? "大病" : (c.seq + i) % 9 === 0 ? "慢性病" : (c.seq + i) % 17 === 0 ? "残疾" : "健康",
      work_zh: age < 16 ? "无" : age > 65 ? "无劳动能力" : (c.seq + i) % 3 === 0 ? "省外务工（6个月）" : "务农",
      schooling_zh: age >= 6 && age <= 18 ? (age <= 12 ? "小学在读" : age <= 15 ? "初中在读" : "高中在读") : null,
      medical_insurance: (c.seq + i) % 13 !== 0,
      living_together: (c.seq + i) % 11 !== 0,
    });
  }
  return out;
}

const extraHouseholds = new Map<string, HouseholdFile>();
const visits = new Map<string, MockVisit>();
let visitSeq = 0;

interface MockVisit {
  id: string;
  purpose: VisitView["purpose"];
  household_id: string;
  case_id: string | null;
  purpose_zh: string;
  household_name: string;
  address: string;
  final: boolean;
  finalized_at: string | null;
  supersedes: string | null;
  started_at: string;
  answers: Record<string, Answer>;
  item_photos: Record<string, PhotoView[]>;
  saved: string;
  last_saved_at: string | null;
  place: VisitView["place"];
  present: Attendee[];
}

function caseView(c: MockCase): CaseView {
  const r = c.row;
  const after = (s: string): boolean => STAGES.findIndex((x) => x[0] === r.stage) >= STAGES.findIndex((x) => x[0] === s);
  const timeline: CaseView["timeline"] = [
    { at: c.declaredAt, label_zh: r.source_zh === "代申报" ? "代申报提交" : "群众申报", by: r.source_zh === "代申报" ? "李明（驻村干部）" : null, note: null, pending: false },
  ];
  if (after("accepted")) timeline.push({ at: iso(addDays(-int(1, 20))), label_zh: "乡镇受理，转村入户核查", by: "鲁家沟镇 张丽", note: null, pending: false });
  if (after("verifying")) timeline.push({ at: iso(addDays(-int(0, 5))), label_zh: "开始入户核查", by: user.name, note: null, pending: r.pending });
  if (after("verified_qualifies")) timeline.push({ at: iso(addDays(-3)), label_zh: "入户核查完成：符合条件", by: user.name, note: "人均纯收入低于监测线", pending: false });
  if (after("cross_checked")) timeline.push({ at: iso(addDays(-2)), label_zh: "信息比对完成", by: "县乡村振兴局", note: null, pending: false });
  if (after("publicly_noticed")) timeline.push({ at: iso(addDays(-1)), label_zh: "村内公示5天，无异议", by: "太平村委会", note: null, pending: false });
  const planned = after("plan_made");
  const open = Array.from(visits.values()).find((v) => v.case_id === r.case_id && !v.final);
  return {
    case_id: r.case_id,
    household_id: r.household_id,
    address: r.address,
    village_name: r.village_name,
    open_visit_id: open ? open.id : null,
    receipt_no: r.receipt_no,
    stage: r.stage,
    stage_zh: r.stage_zh,
    source_zh: r.source_zh,
    risks_zh: r.risks_zh,
    description: c.description,
    applicant_name: r.name,
    applicant_phone_masked: c.phone ? `${c.phone.slice(0, 3)}****${c.phone.slice(-4)}` : null,
    declared_at: c.declaredAt,
    green_channel: r.source_zh === "绿色通道",
    category_zh: planned ? "边缘易致贫户" : null,
    due: r.due,
    timeline,
    proxy: r.source_zh === "代申报" ? { filler_name: "李明", relation: "驻村干部", confirmation_zh: "按手印确认" } : null,
    plan: planned
      ? {
          made_on: ymd(addDays(-20)),
          measures: [
            { kind_zh: "医疗救助", description: "住院费用二次报销", amount_yuan: "3,200.00", responsible: "县医保局 王芳", due_on: ymd(addDays(-5)), done_on: ymd(addDays(-8)) },
            { kind_zh: "公益岗位", description: "村保洁员，每月800元", amount_yuan: null, responsible: "鲁家沟镇 刘强", due_on: ymd(addDays(10)), done_on: null },
          ],
        }
      : null,
    follow_ups: planned ? [{ id: "F1", due_on: ymd(addDays(-3)), done_on: null, overdue: true, note: "季度回访" }, { id: "F2", due_on: ymd(addDays(60)), done_on: null, overdue: false, note: "" }] : [],
    can_start_visit: !open && ["accepted", "verifying", "assisting", "plan_made"].includes(r.stage),
    visit_purpose: open ? null : ["accepted", "verifying"].includes(r.stage) ? "verification" : ["assisting", "plan_made"].includes(r.stage) ? "follow_up" : null,
    can_check_risk_elimination: !open && r.stage === "assisting",
    pending: r.pending,
  };
}

function householdFile(hid: string): HouseholdFile {
  const extra = extraHouseholds.get(hid);
  if (extra) return { ...extra, visits: visitSummaries(hid), cases: cases.filter((c) => c.row.household_id === hid).map(caseView) };
  const c = byHousehold.get(hid);
  if (!c) fail("not_found", "这户的档案不在这部手机上");
  // A case in 入户核查中 has a working copy already on the phone.
  if (c.row.stage === "verifying" && !Array.from(visits.values()).some((v) => v.household_id === hid)) {
    const v = newVisit(hid, c.row.case_id);
    v.answers = { household_size: { type: "integer", value: c.members }, labour_count: { type: "integer", value: 1 }, income_wages: { type: "money", value: { fen: 1200000 } }, income_crops: { type: "money", value: { fen: 350000 } } };
    v.saved = JSON.stringify(v.answers);
    v.last_saved_at = iso(new Date(Date.now() - 3600e3 * 3));
  }
  const r = c.row;
  const ph: PhotoView[] = r.stage === "accepted" ? [] : [
    { id: `${hid}-P1`, url: svgPhoto("住房", 20, 1200, 900), thumb_url: svgPhoto("住房", 20), caption_zh: "住房照片", taken_at: iso(addDays(-3)), upload: "done" },
    { id: `${hid}-P2`, url: svgPhoto("水窖", 200, 1200, 900), thumb_url: svgPhoto("水窖", 200), caption_zh: "水源照片", taken_at: iso(addDays(-3)), upload: "waiting" },
    { id: `${hid}-P3`, url: null, thumb_url: null, caption_zh: "承诺授权书", taken_at: iso(addDays(-10)), upload: "remote" },
  ];
  return {
    household_id: hid,
    head_name: r.name,
    address: r.address,
    door_plate: r.door_plate,
    village: VILLAGES.find((v) => v.name === r.village_name)?.code ?? VILLAGES[0].code,
    village_name: r.village_name,
    phone_masked: `${c.phone.slice(0, 3)}****${c.phone.slice(-4)}`,
    category_zh: ["plan_made", "assisting"].includes(r.stage) ? "边缘易致贫户" : null,
    monitoring_zh: ["plan_made", "assisting", "risk_elimination_proposed"].includes(r.stage) ? "监测帮扶中" : "未纳入监测",
    formerly_poor: c.seq % 3 === 0,
    members: members(c),
    cases: cases.filter((x) => x.row.household_id === hid).map(caseView),
    visits: visitSummaries(hid),
    photos: ph,
    pending: r.pending,
  };
}

function visitSummaries(hid: string): VisitSummary[] {
  return Array.from(visits.values())
    .filter((v) => v.household_id === hid)
    .map((v) => ({ id: v.id, case_id: v.case_id, purpose_zh: v.purpose_zh, started_at: v.started_at, final: v.final, finalized_at: v.finalized_at, supersedes: v.supersedes, has_working_copy: !v.final, mine: true, pending: true }))
    .reverse();
}

// ---------------------------------------------------------------------------------------------
// Home visits: the evaluation the Rust core would compute, on the real template
// ---------------------------------------------------------------------------------------------
const PURPOSE: Record<string, string> = { verification: "入户核查", follow_up: "帮扶回访", risk_elimination_check: "风险消除核查" };

function newVisit(hid: string, caseId: string | null, purpose = "verification", supersedes: string | null = null): MockVisit {
  const f = extraHouseholds.get(hid);
  const c = byHousehold.get(hid);
  const v: MockVisit = {
    id: `V${++visitSeq}`,
    purpose: (purpose as VisitView["purpose"]) ?? "verification",
    household_id: hid,
    case_id: caseId,
    purpose_zh: PURPOSE[purpose] ?? "入户核查",
    household_name: f?.head_name ?? c?.row.name ?? "",
    address: f?.address ?? c?.row.address ?? "",
    final: false,
    finalized_at: null,
    supersedes,
    started_at: iso(new Date()),
    answers: {},
    item_photos: {},
    saved: "{}",
    last_saved_at: null,
    place: null,
    present: [],
  };
  visits.set(v.id, v);
  return v;
}

const items = TEMPLATE.sections.flatMap((s) => s.items);
const itemByKey = new Map(items.map((i) => [i.key, i]));

function visibleSet(answers: Record<string, Answer>): Set<string> {
  const vis = new Set<string>();
  for (const it of items) {
    const cond = it.show_if as Condition | undefined;
    if (!cond || evalCond(cond, answers, vis) === true) vis.add(it.key);
  }
  return vis;
}

function evalCond(c: Condition, answers: Record<string, Answer>, vis: Set<string>): boolean | null {
  const get = (k: string): Answer | undefined => (vis.has(k) ? answers[k] : undefined);
  const num = (a: Answer | undefined): number | null => (a?.type === "integer" ? a.value : a?.type === "money" ? a.value.fen : null);
  switch (c.op) {
    case "equals": {
      const a = get(c.item);
      if (!a) return null;
      if (a.type === "choices") return a.value.includes(String(c.value));
      if (a.type === "money") return a.value.fen === c.value;
      return (a as { value: unknown }).value === c.value;
    }
    case "any_of":
      return anyOf(c.values.map((value) => evalCond({ op: "equals", item: c.item, value }, answers, vis)));
    case "at_least": {
      const n = num(get(c.item));
      return n === null ? null : n >= c.value;
    }
    case "at_most": {
      const n = num(get(c.item));
      return n === null ? null : n <= c.value;
    }
    case "answered":
      return !!get(c.item);
    case "not": {
      const v = evalCond(c.condition, answers, vis);
      return v === null ? null : !v;
    }
    case "all": {
      const vs = c.conditions.map((x) => evalCond(x, answers, vis));
      return vs.includes(false) ? false : vs.includes(null) ? null : true;
    }
    case "any":
      return anyOf(c.conditions.map((x) => evalCond(x, answers, vis)));
  }
}
function anyOf(vs: (boolean | null)[]): boolean | null {
  return vs.includes(true) ? true : vs.includes(null) ? null : false;
}

function evaluate(v: MockVisit): Evaluation {
  const vis = visibleSet(v.answers);
  const get = (k: string): Answer | undefined => (vis.has(k) ? v.answers[k] : undefined);
  const fen = (k: string): number | null => {
    const a = get(k);
    return a?.type === "money" ? a.value.fen : null;
  };
  const d = TEMPLATE.derivation;
  const sizeA = d.household_size === null ? undefined : get(d.household_size);
  const size = sizeA?.type === "integer" ? sizeA.value : null;
  let income: Evaluation["income"] = null;
  if (size) {
    const gross = d.income.reduce((s, k) => s + (fen(k) ?? 0), 0);
    const ded = d.deductions.reduce((s, k) => s + (fen(k) ?? 0), 0);
    const rigid = d.rigid_spending.reduce((s, k) => s + (fen(k) ?? 0), 0);
    const net = gross - ded;
    const per = Math.floor(net / size);
    const perYuan = per / 100;
    income = {
      household_size: size, gross_income_fen: gross, deductions_fen: ded, net_income_fen: net, per_person_fen: per, per_person_yuan: perYuan,
      monitoring_line_yuan: TEMPLATE.monitoring_line_yuan, line_year: null, line_provisional: false, line_status: perYuan < TEMPLATE.monitoring_line_yuan ? "below" : "at_or_above",
      gap_yuan: perYuan - TEMPLATE.monitoring_line_yuan, rigid_spending_fen: rigid, per_person_after_rigid_yuan: Math.floor((net - rigid) / size) / 100,
      complete: [...d.income, ...d.deductions].every((k) => fen(k) !== null),
    };
  }
  const byAspect = new Map<Aspect, Verdict[]>();
  const problems: string[] = [];
  for (const ch of d.checks) {
    const r = evalCond(ch.pass_if, v.answers, vis);
    const verdict: Verdict = r === true ? "pass" : r === false ? "fail" : "unknown";
    if (verdict === "fail") problems.push(ch.problem_zh);
    byAspect.set(ch.aspect, [...(byAspect.get(ch.aspect) ?? []), verdict]);
  }
  const agg = (vs: Verdict[] | undefined): Verdict => (!vs ? "unknown" : vs.includes("fail") ? "fail" : vs.every((x) => x === "pass") ? "pass" : "unknown");
  const food = agg(byAspect.get("food"));
  const clothing = agg(byAspect.get("clothing"));
  const water_tests: [Verdict, Verdict, Verdict, Verdict] = [agg(byAspect.get("water_quantity")), agg(byAspect.get("water_quality")), agg(byAspect.get("water_convenience")), agg(byAspect.get("water_reliability"))];
  const conclusionA = get("conclusion");
  const unanswered = items.filter((i) => vis.has(i.key) && (i.required || i.kind.type === "signature") && !get(i.key) && !(i.kind.type === "photo" || i.kind.type === "signature" ? (v.item_photos[i.key]?.length ?? 0) > 0 : false)).map((i) => i.key);
  return {
    household_size: size,
    income,
    food,
    clothing,
    two_no_worries: agg([food, clothing]),
    compulsory_education: agg(byAspect.get("compulsory_education")),
    basic_medical: agg(byAspect.get("basic_medical")),
    safe_housing: agg(byAspect.get("safe_housing")),
    water_tests,
    water: water_tests.includes("fail") ? "unsafe" : water_tests.every((x) => x === "pass") ? "safe" : "unknown",
    problems,
    conclusion: conclusionA?.type === "choice" ? (conclusionA.value as "qualifies" | "does_not_qualify") : null,
    checks: d.checks.map((ch) => {
      const r = evalCond(ch.pass_if, v.answers, vis);
      return { key: ch.key, aspect: ch.aspect, verdict: r === true ? "pass" : r === false ? "fail" : "unknown" };
    }),
    risk_types: [],
    category: null,
    visible: items.filter((i) => vis.has(i.key)).map((i) => i.key),
    unanswered_required: unanswered,
  };
}

function visitView(v: MockVisit): VisitView {
  const evaluation = evaluate(v);
  const vis = new Set(evaluation.visible);
  const outstanding: AnswerProblem[] = [];
  for (const it of items) {
    if (!vis.has(it.key)) continue;
    const photosNow = v.item_photos[it.key]?.length ?? 0;
    const isPhoto = it.kind.type === "photo" || it.kind.type === "signature";
    const answered = isPhoto ? photosNow > 0 : !!v.answers[it.key];
    if ((it.required || it.kind.type === "signature") && !answered) {
      outstanding.push({ item: it.key, kind: it.kind.type === "signature" ? "missing_signature" : "missing", message_zh: `${isPhoto ? "请拍照" : "请填写"}：${it.label_zh}` });
      if (isPhoto) continue;
    }
    const min = it.photo.type === "required" ? it.photo.min : 0;
    if (min > photosNow && !(isPhoto && !answered)) outstanding.push({ item: it.key, kind: "missing_photos", message_zh: `请拍照：${it.label_zh}（至少${min}张，现有${photosNow}张）` });
    const a = v.answers[it.key];
    if (a?.type === "text" && it.kind.type === "text" && Array.from(a.value).length > it.kind.max_chars) outstanding.unshift({ item: it.key, kind: "too_long", message_zh: `“${it.label_zh}”最多${it.kind.max_chars}个字` });
  }
  return {
    visit_id: v.id, household_id: v.household_id, case_id: v.case_id, purpose: v.purpose, purpose_zh: v.purpose_zh, editable: !v.final, household_name: v.household_name, address: v.address,
    final: v.final, finalized_at: v.finalized_at, supersedes: v.supersedes, template: TEMPLATE, answers: { ...v.answers }, item_photos: JSON.parse(JSON.stringify(v.item_photos)),
    evaluation, outstanding, unsaved_changes: JSON.stringify(v.answers) + JSON.stringify(v.item_photos) !== v.saved, last_saved_at: v.last_saved_at,
    place: v.place, present: v.present.map((a) => ({ ...a })),
    members: [{ member_id: `M-${v.household_id}`, name: v.household_name || "户主", relation: "head", relation_zh: "户主" }],
    cadre_roles: CADRE_ROLES.map(([role, name_zh]) => ({ role, name_zh })),
  };
}

const CADRE_ROLES: [CadreRole, string][] = [
  ["village_cadre", "村干部"],
  ["work_team", "驻村工作队员"],
  ["help_responsible", "帮扶责任人"],
  ["grid_worker", "网格员"],
  ["township_cadre", "乡镇干部"],
  ["other", "其他人员"],
];

function visitOf(id: string): MockVisit {
  const v = visits.get(id);
  if (!v) fail("not_found", "这次核查不在这部手机上");
  return v;
}
function editable(id: string): MockVisit {
  const v = visitOf(id);
  if (v.final) fail("invalid", "这次核查已经定稿，不能再修改；需要修改请点“更正”");
  return v;
}

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------
const noProblems = params.get("problems") === "0";
const status: SyncStatus = {
  online_known: true, running: false, last_sync_at: iso(new Date(Date.now() - 47 * 60e3)), last_error: null, outbox: 3, quarantine: noProblems ? 0 : 2, conflicts: noProblems ? 0 : 2,
  photos_waiting: 4, photos_failed: 0, photos_done: 212, records: N * 6, login_expired: loginExpired,
};
let quarantine: QuarantineEntry[] = noProblems ? [] : [
  { command_id: "Q1", what_zh: "入户核查（马福贵）", reason_zh: "这户已由乡镇转给红崖村办理，本村不能再提交核查结果", code: "out_of_scope", quarantined_at: iso(new Date(Date.now() - 26 * 3600e3)) },
  { command_id: "Q2", what_zh: "代申报（张秀兰）", reason_zh: "身份证号与公安数据不一致，请核对后重新提交", code: "id_mismatch", quarantined_at: iso(new Date(Date.now() - 3 * 3600e3)) },
];
let conflicts: ConflictEntry[] = noProblems ? [] : [
  { household_id: "H12", household_name: cases[11]?.row.name ?? "王玉梅", field: "phone", field_zh: "联系电话", base_zh: "139****2211", theirs_zh: "151****0876", mine_zh: "139****3310" },
  { household_id: "H40", household_name: cases[39]?.row.name ?? "李成林", field: "address", field_zh: "住址", base_zh: "太平村三社18号", theirs_zh: "太平村三社18号（新宅）", mine_zh: "太平村四社2号" },
];
function syncState(): SyncStatus {
  return { ...status, quarantine: quarantine.length, conflicts: conflicts.length };
}

async function runSync(): Promise<void> {
  status.running = true;
  const total = status.outbox;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i <= total; i++) {
    await emit("sync-progress", { phase: "push", records_done: i, records_total: total, bytes_done: i * 900, bytes_total: total * 900, photo: null });
    await sleep(350);
  }
  for (let p = 0; p < status.photos_waiting; p++) {
    const size = 280000 + p * 40000;
    for (let b = 0; b <= size; b += size / 5) {
      await emit("sync-progress", { phase: "photos", records_done: total, records_total: total, bytes_done: b, bytes_total: size, photo: [`sha${p}`, b, size] });
      await sleep(150);
    }
  }
  for (let i = 0; i < 6; i++) {
    await emit("sync-progress", { phase: "pull", records_done: i * 40, records_total: 0, bytes_done: 0, bytes_total: 0, photo: null });
    await sleep(250);
  }
  status.running = false;
  if (params.get("syncfail")) {
    status.last_error = "无法连接服务器";
    await emit("sync-done", { ok: false, error: { kind: "network", message: "无法连接服务器：网络不通。有信号后会自动再试。" }, status: syncState() });
    return;
  }
  status.photos_done += status.photos_waiting;
  status.outbox = 0;
  status.photos_waiting = 0;
  status.last_error = null;
  status.last_sync_at = iso(new Date());
  for (const c of cases) c.row.pending = false;
  await emit("sync-done", { ok: true, error: null, status: syncState() });
}

// ---------------------------------------------------------------------------------------------
// Proxy declarations
// ---------------------------------------------------------------------------------------------
const drafts = new Map<string, unknown>(Object.entries(JSON.parse(localStorage.getItem("mock.drafts") ?? "{}") as Record<string, unknown>));
function saveDrafts(): void {
  localStorage.setItem("mock.drafts", JSON.stringify(Object.fromEntries(drafts)));
}

function checkProxy(f: ProxyForm): ReadBackLine[] {
  // Like the Rust side: the whole form is checked, every fault reported (fields), the first as field.
  const fields: Record<string, string> = {};
  const bad = (field: keyof ProxyForm, message: string): void => {
    if (!fields[field]) fields[field] = message;
  };
  if (!f.applicant_name.trim()) bad("applicant_name", "请填写申请人姓名");
  const id = f.id_number.replace(/\s/g, "").toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) bad("id_number", `身份证号应为18位（最后一位可以是X），现在是${id.length}位`);
  else if (checksum(id.slice(0, 17)) !== id[17]) bad("id_number", "身份证号校验不通过，请逐位核对");
  if (f.phone.trim() && !/^1\d{10}$/.test(f.phone.trim())) bad("phone", "手机号应为11位数字；没有手机可以不填");
  if (!VILLAGES.some((v) => v.code === f.village)) bad("village", "请选择村");
  if (!f.address.trim()) bad("address", "请填写详细地址");
  const n = Number(f.household_size);
  if (!/^\d+$/.test(f.household_size.trim()) || n < 1 || n > 30) bad("household_size", "家庭人口数请填1到30之间的整数");
  if (!f.risk_types.length) bad("risk_types", "请至少选择一种困难类型");
  if (!f.description.trim()) bad("description", "请简要写一下遇到的困难");
  if (!f.filler_name.trim()) bad("filler_name", "请填写代填人姓名");
  if (!f.filler_relation.trim()) bad("filler_relation", "请填写代填人与申请人的关系");
  const first = Object.keys(fields)[0];
  if (first) fail("invalid", fields[first], { field: first, fields });
  return [
    { label_zh: "申请人姓名", value_zh: f.applicant_name.trim() },
    { label_zh: "身份证号", value_zh: `${id.slice(0, 6)} ${id.slice(6, 14)} ${id.slice(14)}` },
    { label_zh: "手机号", value_zh: f.phone.trim() || "没有填写" },
    { label_zh: "村", value_zh: VILLAGES.find((v) => v.code === f.village)?.name ?? "" },
    { label_zh: "详细地址", value_zh: f.address.trim() },
    { label_zh: "家庭人口数", value_zh: `${n}人` },
    { label_zh: "困难类型", value_zh: f.risk_types.map((r) => RISKS.find((x) => x[0] === r)?.[1] ?? r).join("、") },
    { label_zh: "困难情况", value_zh: f.description.trim() },
    { label_zh: "代填人", value_zh: `${f.filler_name.trim()}（${f.filler_relation.trim()}）` },
    { label_zh: "确认方式", value_zh: f.confirmation === "thumbprint" ? "按手印" : "签字" },
  ];
}

// The office's messages: a few about the first cases, two of them unread.
const notices = cases.slice(0, Math.min(3, cases.length)).map((c, i) => ({
  id: 3 - i,
  case_id: c.row.case_id,
  case_on_phone: true,
  household_id: c.row.household_id,
  kind: ["due_soon", "escalated", "new_declaration"][i],
  text_zh: [
    `${c.row.village_name}${c.row.name.slice(0, 1)}**的入户核查明天到期，请及时办理。`,
    `${c.row.village_name}${c.row.name.slice(0, 1)}**的入户核查已逾期，已报乡镇。`,
    `${c.row.village_name}${c.row.name.slice(0, 1)}**通过扫码申报困难，请于5个工作日内入户核查。`,
  ][i],
  at: iso(addDays(-i)),
  read: i === 2,
}));

// ---------------------------------------------------------------------------------------------
// The command table
// ---------------------------------------------------------------------------------------------
let lumaFrames = 0;

function handle(cmd: string, a: any): unknown {
  switch (cmd) {
    case "app_state":
      return state();
    case "login": {
      if (!/^https?:\/\/[^/\s]+/.test(a.server)) fail("invalid", "服务器地址不对，应以 http:// 或 https:// 开头", { field: "server" });
      if (String(a.server).includes("offline")) fail("network", "连接超时（10秒）");
      if (!/^1\d{10}$/.test(a.login)) fail("invalid", "手机号应为11位数字", { field: "login" });
      if (a.password === "wrong") fail("unauthenticated", "手机号或密码不正确");
      server = a.server;
      stage = "set_pin";
      return state();
    }
    case "parse_setup_qr":
      if (!String(a.text).startsWith("YJSETUP1:")) fail("invalid", "这不是设备登录码");
      return { server: "http://10.62.1.8:8080", login: "13800000001" };
    case "set_pin":
      if (!/^\d{6}$/.test(a.pin)) fail("invalid", "PIN需要6位数字", { field: "pin" });
      pin = a.pin;
      stage = "unlocked";
      return state();
    case "unlock":
      if (a.pin !== pin) {
        wrongPins++;
        if (wrongPins >= 3) {
          wrongPins = 0;
          fail("locked", "PIN输错次数太多", { retry_after_s: 30 });
        }
        fail("invalid", `PIN不正确，还可以再试${3 - wrongPins}次`, { field: "pin" });
      }
      wrongPins = 0;
      stage = "unlocked";
      return state();
    case "lock":
      stage = "locked";
      return state();
    case "logout":
      stage = "first_run";
      return state();

    case "inbox": {
      const q = a.query as InboxQuery;
      const s = q.search.trim();
      let rows = cases;
      if (q.filter === "overdue") rows = rows.filter((c) => c.row.due?.urgency === "overdue");
      else if (q.filter === "due_soon") rows = rows.filter((c) => c.row.due?.urgency === "due_soon");
      else if (q.filter.startsWith("stage:")) rows = rows.filter((c) => c.row.stage === q.filter.slice(6));
      if (s) rows = rows.filter((c) => c.row.name.includes(s) || c.row.id_last4 === s.toUpperCase() || (c.row.door_plate ?? "").includes(s) || (c.row.receipt_no ?? "").includes(s));
      const stageCounts = new Map<string, number>();
      for (const c of cases) stageCounts.set(c.row.stage, (stageCounts.get(c.row.stage) ?? 0) + 1);
      return {
        today: ymd(today),
        total: cases.length,
        matching: rows.length,
        counts: {
          overdue: cases.filter((c) => c.row.due?.urgency === "overdue").length,
          due_soon: cases.filter((c) => c.row.due?.urgency === "due_soon").length,
          by_stage: STAGES.filter((x) => stageCounts.has(x[0])).map((x) => ({ stage: x[0], stage_zh: x[1], count: stageCounts.get(x[0]) ?? 0 })),
        },
        offset: q.offset,
        rows: rows.slice(q.offset, q.offset + q.limit).map((c) => ({ ...c.row })),
      };
    }
    case "household_file":
      return householdFile(a.household_id);
    case "case_view": {
      const c = cases.find((x) => x.row.case_id === a.case_id);
      if (!c) fail("not_found", "这个案件不在这部手机上");
      return caseView(c);
    }
    case "lookup_door_plate": {
      const t = String(a.text).trim();
      const hid = t.startsWith("YJHH1:") ? t.slice(6) : cases.find((c) => c.row.door_plate === t)?.row.household_id;
      if (!hid || (!byHousehold.has(hid) && !extraHouseholds.has(hid))) fail("not_found", `户码：${t}。可能不是本村的门牌，或者这户的档案还没有同步到手机上。`);
      return { household_id: hid };
    }

    case "photo_stage": {
      const bytes = a as Uint8Array;
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }));
      const p: StagedPhoto = { sha256: hex(64), width: 1600, height: 1200, bytes: Math.min(bytes.length, 380000), thumb_sha256: hex(64), thumb_bytes: 24000, taken_at: iso(new Date()), url, thumb_url: url };
      staged.set(p.sha256, p);
      return p;
    }
    case "decode_qr": {
      const bytes = a as Uint8Array;
      if (bytes.length < 2000) return null;
      return stage === "first_run" ? "YJSETUP1:mock" : `YJHH1:${cases.find((c) => c.row.household_id)?.row.household_id ?? "H1"}`;
    }
    case "decode_qr_luma":
      return ++lumaFrames % 16 === 0 ? `YJHH1:${cases[2]?.row.household_id ?? "H3"}` : null;

    case "visit_start": {
      const v = newVisit(a.household_id, a.case_id, a.purpose);
      return visitView(v);
    }
    case "visit_open":
      return visitView(visitOf(a.visit_id));
    case "visit_answer": {
      const v = editable(a.visit_id);
      const it = itemByKey.get(a.key);
      if (!it) fail("invalid", `核查表中没有“${a.key}”这一项`, { field: a.key });
      const ans = a.answer as Answer | null;
      if (ans?.type === "integer" && it.kind.type === "integer" && ((it.kind.min !== null && ans.value < it.kind.min) || (it.kind.max !== null && ans.value > it.kind.max)))
        fail("invalid", `“${it.label_zh}”应在${it.kind.min}到${it.kind.max}${it.kind.unit_zh}之间`, { field: a.key });
      if (ans) v.answers[a.key] = ans;
      else delete v.answers[a.key];
      return visitView(v);
    }
    case "visit_attach_photo": {
      const v = editable(a.visit_id);
      const p = staged.get(a.sha256);
      if (!p) fail("not_found", "照片已经不在手机上，请重拍");
      const it = itemByKey.get(a.key);
      (v.item_photos[a.key] ??= []).push({ id: `P${++photoSeq}`, url: p.url, thumb_url: p.thumb_url, caption_zh: it?.label_zh ?? "照片", taken_at: p.taken_at, upload: "waiting" });
      status.photos_waiting++;
      return visitView(v);
    }
    case "visit_detach_photo": {
      const v = editable(a.visit_id);
      v.item_photos[a.key] = (v.item_photos[a.key] ?? []).filter((p) => p.id !== a.photo_id);
      return visitView(v);
    }
    case "visit_save_draft": {
      const v = editable(a.visit_id);
      v.saved = JSON.stringify(v.answers) + JSON.stringify(v.item_photos);
      v.last_saved_at = iso(new Date());
      status.outbox++;
      return visitView(v);
    }
    case "visit_finalise": {
      const v = editable(a.visit_id);
      const view = visitView(v);
      if (view.outstanding.length) fail("invalid", `还有${view.outstanding.length}项没有完成，请先补齐（见下方列表）`);
      v.final = true;
      v.finalized_at = iso(new Date());
      v.saved = JSON.stringify(v.answers) + JSON.stringify(v.item_photos);
      v.last_saved_at = v.finalized_at;
      status.outbox++;
      return visitView(v);
    }
    case "visit_locate": {
      // The preview stands for a phone that got a fix near 鲁家沟镇.
      const v = editable(a.visit_id);
      v.place = { fixed: true, lat: 35.7521, lng: 104.6412, accuracy_m: 12, no_fix: null, at: iso(new Date()), describe_zh: "已定位（精度约12米）" };
      return visitView(v);
    }
    case "visit_set_present": {
      const v = editable(a.visit_id);
      const list = a.present as Attendee[];
      if (list.some((x) => !x.name.trim())) fail("invalid", "在场人员的姓名不能为空", { field: "present" });
      v.present = list.map((x) => ({ ...x, name: x.name.trim() }));
      return visitView(v);
    }
    case "visit_correct": {
      const old = visitOf(a.visit_id);
      const v = newVisit(old.household_id, old.case_id, "verification", old.id);
      v.answers = JSON.parse(JSON.stringify(old.answers));
      v.item_photos = JSON.parse(JSON.stringify(old.item_photos));
      v.place = old.place;
      v.present = old.present.map((x) => ({ ...x }));
      return visitView(v);
    }

    case "risk_options":
      return RISKS.map(([value, label_zh]) => ({ value, label_zh }));
    case "my_villages":
      return VILLAGES;
    case "proxy_check":
      return checkProxy(a.form);
    case "proxy_submit": {
      const f = a.form as ProxyForm;
      checkProxy(f);
      if (!staged.has(a.confirmation_sha256)) fail("not_found", "确认照片已经不在手机上，请重拍");
      const hid = f.household_id ?? `HN${cases.length + 1}`;
      const vname = VILLAGES.find((v) => v.code === f.village)?.name ?? "";
      const row: InboxRow = {
        case_id: `C${String(cases.length + 1).padStart(6, "0")}`, household_id: hid, name: f.applicant_name, id_last4: f.id_number.slice(-4), door_plate: null, address: f.address,
        village_name: vname, stage: "declared", stage_zh: "已申报待受理", source_zh: "代申报", risks_zh: f.risk_types.map((r) => RISKS.find((x) => x[0] === r)?.[1] ?? r), receipt_no: null,
        due: due(2, "乡镇受理", "accept"), pending: true,
      };
      const mc: MockCase = { row, offset: 2, idNumber: f.id_number, phone: f.phone, members: Number(f.household_size), declaredAt: iso(new Date()), description: f.description, seq: cases.length };
      cases.unshift(mc);
      if (!f.household_id) {
        extraHouseholds.set(hid, { household_id: hid, head_name: f.applicant_name, address: f.address, door_plate: null, village: f.village, village_name: vname, phone_masked: f.phone ? `${f.phone.slice(0, 3)}****${f.phone.slice(-4)}` : null, category_zh: null, monitoring_zh: "未纳入监测", formerly_poor: false, members: [], cases: [], visits: [], photos: [], pending: true });
      }
      status.outbox++;
      return { case_id: row.case_id, household_id: hid };
    }
    case "draft_get":
      return drafts.get(a.key) ?? null;
    case "draft_put":
      drafts.set(a.key, a.value);
      saveDrafts();
      return null;
    case "draft_clear":
      drafts.delete(a.key);
      saveDrafts();
      return null;

    case "notices":
      return { unread: notices.filter((n) => !n.read).length, notices };
    case "notices_read":
      for (const n of notices) n.read = true;
      return null;
    case "sync_status":
      return syncState();
    case "sync_now":
      if (!status.running) void runSync();
      return null;
    case "quarantine_list":
      return quarantine;
    case "quarantine_retry": {
      const n = a.command_id ? 1 : quarantine.length;
      quarantine = a.command_id ? quarantine.filter((q) => q.command_id !== a.command_id) : [];
      status.outbox += n;
      return n;
    }
    case "quarantine_discard":
      quarantine = quarantine.filter((q) => q.command_id !== a.command_id);
      return null;
    case "conflicts":
      return conflicts;
    case "resolve_conflict":
      conflicts = conflicts.filter((c) => !(c.household_id === a.household_id && c.field === a.field));
      status.outbox++;
      return null;
  }
  fail("internal", `预览中没有这个命令：${cmd}`);
}

mockIPC(
  (cmd, payload) =>
    new Promise((resolve, reject) => {
      const delay = cmd === "decode_qr_luma" ? 30 : cmd === "photo_stage" ? LATENCY * 5 : LATENCY;
      setTimeout(() => {
        try {
          resolve(handle(cmd, payload));
        } catch (e) {
          reject(e);
        }
      }, delay);
    }),
  { shouldMockEvents: true },
);
