// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs). Do not edit:
// change the Rust type, then run `YIJIAN_WRITE_BINDINGS=1 cargo test -p yijian-app bindings`.
// Integers are `number`: serde writes JSON numbers, and every count, size and amount the
// app handles is far below 2^53.

export type AccountView = { id: string, login: string, name: string, role: Role, role_zh: string, scope: string, scope_name: string, };

export type Answer = { "type": "bool", "value": boolean } | { "type": "integer", "value": number } | { "type": "money", "value": { fen: number, } } | { "type": "choice", "value": string } | { "type": "choices", "value": Array<string> } | { "type": "text", "value": string } | { "type": "date", "value": string } | { "type": "photos", "value": Array<PhotoId> };

export type AnswerProblem = { item: string, kind: AnswerProblemKind, message_zh: string, };

export type AnswerProblemKind = "unknown_item" | "wrong_type" | "out_of_range" | "unknown_choice" | "duplicate_choice" | "too_long" | "missing" | "missing_photos" | "missing_signature";

export type AppStage = "first_run" | "password_required" | "set_pin" | "locked" | "unlocked";

export type AppState = { stage: AppStage, version: string, platform: string, server: string | null, user: AccountView | null, login_expired: boolean, 
/**
 * Why the phone was emptied (revoked by an administrator), shown on the first screen.
 */
wiped: WipeNote | null, 
/**
 * Screens lock after this many seconds without use.
 */
idle_lock_s: number, 
/**
 * Wrong PINs so far (the lock screen says how many tries are left).
 */
pin_failures: number, max_pin_failures: number, };

export type Aspect = "food" | "clothing" | "compulsory_education" | "basic_medical" | "safe_housing" | "water_quantity" | "water_quality" | "water_convenience" | "water_reliability" | "other";

export type Attendee = { "kind": "member", member_id: MemberId, name: string, relation: Relation, } | { "kind": "cadre", name: string, role: CadreRole, };

export type CadreRole = "village_cadre" | "work_team" | "help_responsible" | "grid_worker" | "township_cadre" | "other";

export type CadreRoleOption = { role: CadreRole, name_zh: string, };

export type CaseId = string;

export type CaseView = { case_id: CaseId, household_id: HouseholdId | null, receipt_no: string | null, stage: Stage, stage_zh: string, source_zh: string, risks_zh: Array<string>, description: string, applicant_name: string, applicant_phone_masked: string | null, address: string, village_name: string, declared_at: string, green_channel: boolean, category_zh: string | null, due: DueInfo | null, timeline: Array<TimelineEntry>, proxy: ProxyView | null, plan: PlanView | null, follow_ups: Array<FollowUpView>, 
/**
 * A visit of this case may be started from the phone now: the home verification, or a
 * return visit once the plan is made.
 */
can_start_visit: boolean, 
/**
 * The purpose of that visit.
 */
visit_purpose: VisitPurpose | null, 
/**
 * The risk-elimination check may be made now (assisting, monitored long enough, a
 * measure in place): the visit that ends with the proposal to eliminate the risk.
 */
can_check_risk_elimination: boolean, 
/**
 * This user's unfinished visit for the case (its working copy is on the phone).
 */
open_visit_id: VisitId | null, pending: boolean, };

export type Check = { key: string, aspect: Aspect, label_zh: string, pass_if: Condition, 
/**
 * The problem in words, listed when the check fails.
 */
problem_zh: string, };

export type CheckOutcome = { key: string, aspect: Aspect, verdict: Verdict, };

export type ChecklistItem = { 
/**
 * Unique across the template; answers and conditions refer to it.
 */
key: string, label_zh: string, help_zh?: string | null, kind: ItemKind, 
/**
 * Must be answered (when shown) before the visit can be finalised. A shown
 * [`ItemKind::Signature`] item is always required, whatever this says.
 */
required: boolean, 
/**
 * Shown only when this holds; `None`: always shown.
 */
show_if?: Condition | null, photo: PhotoRequirement, };

export type ChecklistSection = { key: string, title_zh: string, items: Array<ChecklistItem>, };

export type ChecklistTemplate = { id: TemplateId, 
/**
 * Stable name of the form across versions, e.g. `gansu-home-verification`.
 */
code: string, 
/**
 * 1, 2, …: a visit records the version it was filled against.
 */
version: number, title_zh: string, 
/**
 * Annual net income per person below which a household is at risk, in yuan.
 */
monitoring_line_yuan: number, sections: Array<ChecklistSection>, 
/**
 * Which items feed which derived result.
 */
derivation: Derivation, };

export type ChoiceOption = { value: string, label_zh: string, };

export type CommandError = { kind: ErrorKind, message: string, field?: string, fields?: { [key in string]?: string }, retry_after_s?: number, };

export type Conclusion = "qualifies" | "does_not_qualify";

export type Condition = { "op": "equals", item: string, value: Scalar, } | { "op": "any_of", item: string, values: Array<Scalar>, } | { "op": "at_least", item: string, value: number, } | { "op": "at_most", item: string, value: number, } | { "op": "answered", item: string, } | { "op": "not", condition: Condition, } | { "op": "all", conditions: Array<Condition>, } | { "op": "any", conditions: Array<Condition>, };

export type ConflictChoice = "base" | "theirs" | "mine";

export type ConflictEntry = { household_id: string, household_name: string, field: string, field_zh: string, base_zh: string, theirs_zh: string, mine_zh: string, };

export type DeadlineStep = "accept" | "home_verification" | "notify_not_qualified" | "county_approval" | "plan" | "follow_up" | "public_notice";

export type Derivation = { 
/**
 * Integer item: people living together (共同生活人口), the divisor of per-person income.
 */
household_size: string | null, 
/**
 * Money items added up as the household's annual income.
 */
income: Array<string>, 
/**
 * Money items subtracted from income to get net income (生产经营支出).
 */
deductions: Array<string>, 
/**
 * Money items of rigid spending after reimbursement (医疗自付、教育支出). Reported beside
 * net income; they do not change the comparison with the monitoring line.
 */
rigid_spending: Array<string>, 
/**
 * Multi-choice item whose option values are [`RiskType`] names (`illness`, …).
 */
risk_types: string | null, 
/**
 * Choice item whose option values are [`MonitoringCategory`] names.
 */
category: string | null, 
/**
 * Choice item whose option values include both [`Conclusion`] names.
 */
conclusion: string | null, 
/**
 * Rules deciding 两不愁、三保障、饮水安全 and other risks.
 */
checks: Array<Check>, };

export type DueInfo = { step: DeadlineStep, step_zh: string, due_on: string, urgency: Urgency, label_zh: string, 
/**
 * The due date is in a year whose holidays are not published yet.
 */
provisional: boolean, };

export type ErrorKind = "invalid" | "not_found" | "locked" | "network" | "unauthenticated" | "server" | "storage" | "revoked" | "unsent_work" | "internal";

export type Evaluation = { 
/**
 * People living together; `None` until answered (or if not positive).
 */
household_size: number | null, 
/**
 * `None` until the household size is known.
 */
income: IncomeSummary | null, food: Verdict, clothing: Verdict, 
/**
 * 两不愁: food and clothing.
 */
two_no_worries: Verdict, compulsory_education: Verdict, basic_medical: Verdict, safe_housing: Verdict, 
/**
 * One verdict per water test, in the order of [`Aspect::WATER_TESTS`].
 */
water_tests: [Verdict, Verdict, Verdict, Verdict], water: WaterSafety, 
/**
 * Every check of the template, in order.
 */
checks: Array<CheckOutcome>, 
/**
 * Risks found, in words, in the order: income, then failed checks.
 */
problems: Array<string>, risk_types: Array<RiskType>, category: MonitoringCategory | null, conclusion: Conclusion | null, 
/**
 * Keys of the items currently shown, in template order.
 */
visible: Array<string>, 
/**
 * Keys of shown required items not yet (validly) answered, in template order.
 */
unanswered_required: Array<string>, };

export type FollowUpView = { id: string, due_on: string, done_on: string | null, overdue: boolean, note: string, };

export type Found = { household_id: string, };

export type HouseholdFile = { household_id: HouseholdId, head_name: string, address: string, door_plate: string | null, village: string, village_name: string, phone_masked: string | null, category_zh: string | null, monitoring_zh: string, formerly_poor: boolean, members: Array<MemberView>, cases: Array<CaseView>, visits: Array<VisitSummary>, photos: Array<PhotoView>, pending: boolean, };

export type HouseholdId = string;

export type InboxCounts = { overdue: number, due_soon: number, by_stage: Array<StageCount>, };

export type InboxPage = { today: string, total: number, matching: number, counts: InboxCounts, offset: number, rows: Array<InboxRow>, };

export type InboxQuery = { 
/**
 * A name fragment, the last 4 ID characters, a door plate or receipt fragment; "" = all.
 */
search: string, 
/**
 * `all`, `overdue`, `due_soon` or `stage:<stage>`.
 */
filter: string, offset: number, limit: number, };

export type InboxRow = { case_id: string, household_id: string | null, name: string, id_last4: string, door_plate: string | null, address: string, village_name: string, stage: Stage, stage_zh: string, source_zh: string, risks_zh: Array<string>, receipt_no: string | null, due: DueInfo | null, pending: boolean, };

export type IncomeSummary = { household_size: number, 
/**
 * Sum of the income items.
 */
gross_income_fen: number, 
/**
 * Sum of the deduction items (生产经营支出).
 */
deductions_fen: number, 
/**
 * Gross income minus deductions; negative after a loss.
 */
net_income_fen: number, per_person_fen: number, per_person_yuan: number, monitoring_line_yuan: number, 
/**
 * The year the line was published for; `None` when it is the template's own figure (no
 * policy document was at hand).
 */
line_year: number | null, 
/**
 * The visit's year has no published line yet and the latest earlier one was used.
 */
line_provisional: boolean, line_status: LineStatus, 
/**
 * Line minus per-person income, in yuan: positive when below the line, otherwise zero or
 * negative (how far above).
 */
gap_yuan: number, 
/**
 * Sum of rigid spending after reimbursement (医疗自付、教育支出).
 */
rigid_spending_fen: number, 
/**
 * Net income minus rigid spending, per person, rounded down like `per_person_yuan`.
 */
per_person_after_rigid_yuan: number, 
/**
 * False while an income, deduction or rigid-spending item is still unanswered: the
 * figures are then a running total (unanswered amounts count as zero).
 */
complete: boolean, };

export type ItemKind = { "type": "yes_no" } | { "type": "integer", min: number | null, max: number | null, 
/**
 * Unit shown after the number, e.g. 人, 升, 分钟.
 */
unit_zh: string, } | { "type": "money" } | { "type": "choice", options: Array<ChoiceOption>, } | { "type": "multi_choice", options: Array<ChoiceOption>, } | { "type": "text", max_chars: number, } | { "type": "date" } | { "type": "photo" } | { "type": "signature" };

export type LineStatus = "below" | "at_or_above";

export type MeasureView = { kind_zh: string, description: string, amount_yuan: string | null, responsible: string, due_on: string | null, done_on: string | null, };

export type MemberChoice = { member_id: MemberId, name: string, relation: Relation, relation_zh: string, };

export type MemberId = string;

export type MemberView = { id: string, name: string, relation_zh: string, id_number_masked: string | null, age: number | null, health_zh: string, work_zh: string, schooling_zh: string | null, medical_insurance: boolean, living_together: boolean, };

export type MonitoringCategory = "unstable_formerly_poor" | "marginal_at_risk" | "sudden_severe_hardship";

export type NoFix = "no_location_service" | "permission_denied" | "no_signal";

export type NoticeList = { unread: number, notices: Array<NoticeView>, };

export type NoticeView = { id: number, 
/**
 * The case it is about.
 */
case_id: string | null, 
/**
 * The case is on the phone: the screen links to it.
 */
case_on_phone: boolean, 
/**
 * Its household, when the case has one on the phone: the link opens the household file.
 */
household_id: string | null, kind: string, text_zh: string, at: string, read: boolean, };

export type Phase = "push" | "pull" | "snapshot" | "photos";

export type PhotoId = string;

export type PhotoRequirement = { "type": "none" } | { "type": "optional" } | { "type": "required", min: number, };

export type PhotoView = { id: PhotoId, 
/**
 * `None` when the file is not on this phone.
 */
url: string | null, thumb_url: string | null, caption_zh: string, taken_at: string | null, upload: UploadState, };

export type PlaceView = { fixed: boolean, lat: number | null, lng: number | null, accuracy_m: number | null, no_fix: NoFix | null, 
/**
 * When the fix was taken or its absence noted.
 */
at: string, 
/**
 * "已定位（精度约12米）" or why there is no fix.
 */
describe_zh: string, };

export type PlanView = { made_on: string, measures: Array<MeasureView>, };

export type ProxyForm = { 
/**
 * An existing household (opened from the inbox or a door-plate scan), or none: new.
 */
household_id: string | null, applicant_name: string, id_number: string, phone: string, village: string, address: string, household_size: string, risk_types: Array<string>, description: string, filler_name: string, filler_relation: string, 
/**
 * `thumbprint` or `signature`.
 */
confirmation: string, };

export type ProxyView = { filler_name: string, relation: string, confirmation_zh: string, };

export type QuarantineEntry = { command_id: string, 
/**
 * What the worker did, e.g. "入户核查（王建国）".
 */
what_zh: string, reason_zh: string, code: string, quarantined_at: string, };

export type ReadBackLine = { label_zh: string, value_zh: string, };

export type Relation = "head" | "spouse" | "son" | "daughter" | "daughter_in_law" | "son_in_law" | "parent" | "grandchild" | "sibling" | "other";

export type RiskOption = { value: string, label_zh: string, };

export type RiskType = "illness" | "schooling" | "disability" | "disaster" | "accident" | "failed_enterprise" | "unstable_employment" | "lack_of_labour" | "housing_safety" | "drinking_water" | "other";

export type Role = "village_worker" | "township" | "county" | "city" | "province" | "department_liaison" | "admin";

export type Scalar = boolean | number | string;

export type Stage = "declared" | "accepted" | "verifying" | "verified_qualifies" | "verified_not_qualified" | "not_qualified_notified" | "cross_checked" | "democratic_reviewed" | "publicly_noticed" | "township_reviewed" | "approved" | "rejected" | "appealed" | "rejection_upheld" | "plan_made" | "assisting" | "risk_elimination_proposed" | "risk_elimination_assessed" | "risk_elimination_noticed" | "risk_elimination_reviewed" | "risk_eliminated" | "closed";

export type StageCount = { stage: Stage, stage_zh: string, count: number, };

export type StagedPhotoView = { url: string, thumb_url: string, sha256: string, thumb_sha256: string, width: number, height: number, bytes: number, thumb_bytes: number, taken_at: string | null, };

export type Submitted = { case_id: string, household_id: string, };

export type SyncDone = { ok: boolean, error: CommandError | null, status: SyncStatus | null, };

export type SyncProgress = { phase: Phase, records_done: number, records_total: number, bytes_done: number, bytes_total: number, 
/**
 * The photo being uploaded: `(sha256, bytes the server holds, bytes in all)`.
 */
photo: [string, number, number] | null, };

export type SyncStatus = { online_known: boolean, running: boolean, last_sync_at: string | null, last_error: string | null, outbox: number, quarantine: number, conflicts: number, photos_waiting: number, photos_failed: number, photos_done: number, records: number, login_expired: boolean, };

export type TemplateId = string;

export type TimelineEntry = { at: string, label_zh: string, by: string | null, note: string | null, pending: boolean, };

export type UploadState = "waiting" | "uploading" | "done" | "failed" | "remote";

export type Urgency = "overdue" | "due_soon" | "on_time";

export type Verdict = "pass" | "fail" | "unknown";

export type VillageOption = { code: string, name: string, };

export type VisitId = string;

export type VisitPurpose = "verification" | "follow_up" | "risk_elimination_check";

export type VisitSummary = { id: VisitId, case_id: CaseId | null, purpose_zh: string, started_at: string, final: boolean, finalized_at: string | null, supersedes: VisitId | null, has_working_copy: boolean, mine: boolean, pending: boolean, };

export type VisitView = { visit_id: VisitId, household_id: HouseholdId, case_id: CaseId | null, purpose: VisitPurpose, purpose_zh: string, household_name: string, address: string, final: boolean, finalized_at: string | null, supersedes: VisitId | null, 
/**
 * Whether this user may change it (their own, not final).
 */
editable: boolean, template: ChecklistTemplate, answers: { [key in string]?: Answer }, 
/**
 * Photos per item key, photo and signature items included, in the order taken.
 */
item_photos: { [key in string]?: Array<PhotoView> }, evaluation: Evaluation, outstanding: Array<AnswerProblem>, unsaved_changes: boolean, last_saved_at: string | null, 
/**
 * Where the visit was made, as recorded (none until the device has tried).
 */
place: PlaceView | null, 
/**
 * Who was present, as recorded.
 */
present: Array<Attendee>, 
/**
 * The household's members as the phone holds them, to tick who is present.
 */
members: Array<MemberChoice>, 
/**
 * The cadres' parts the screen offers.
 */
cadre_roles: Array<CadreRoleOption>, };

export type WaterSafety = "safe" | "unsafe" | "unknown";

export type WipeNote = { at: string, reason_zh: string, };
