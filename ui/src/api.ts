// The contract between the screens and the Rust side: every command the app exposes, with the
// shapes it takes and returns. Names and fields are snake_case because domain objects (the
// checklist template, answers, evaluation) cross the IPC exactly as yijian-core serialises
// them; converting them on both sides would be two more places to get wrong.
//
// Errors: every command rejects with a CommandError. `kind` is what the screens branch on;
// `message` is Chinese for the worker; `field` names the form field at fault (when one is).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type ErrorKind =
  | "invalid" // a field or input is wrong: show `message` beside `field`
  | "not_found" // the thing asked for is not on this phone (or the QR code is unknown)
  | "locked" // PIN needed, or too many wrong PINs: `retry_after_s` says how long to wait
  | "network" // no signal / server down: everything is kept, sync retries by itself
  | "unauthenticated" // the server no longer accepts this phone's login: log in again
  | "server" // the server refused the request: show `message`
  | "storage" // the phone's database or files failed
  | "internal";

export interface CommandError {
  kind: ErrorKind;
  message: string;
  /** The (first) form field at fault. */
  field?: string;
  /** Every field at fault → its message (forms that are checked as a whole: the proxy form). */
  fields?: Record<string, string>;
  retry_after_s?: number;
}

export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && "kind" in e && "message" in e;
}

// ---------------------------------------------------------------------------------------------
// Session: first run, PIN, lock
// ---------------------------------------------------------------------------------------------

export type Role =
  | "village_worker"
  | "township"
  | "county"
  | "city"
  | "province"
  | "department_liaison"
  | "admin";

export interface Account {
  id: string;
  login: string;
  name: string;
  role: Role;
  role_zh: string; // 村级网格员 …
  scope: string; // division code
  scope_name: string; // 鲁家沟镇太平村 (full path without the province)
}

/** Where the app stands: which screen to show. */
export type AppStage =
  | "first_run" // no login on this phone: show the login screen
  | "set_pin" // logged in, no PIN yet: ask for a new 6-digit PIN (twice)
  | "locked" // PIN set: ask for it (works offline)
  | "unlocked"; // show the inbox

export interface AppState {
  stage: AppStage;
  version: string;
  platform: string; // "linux", "android", "ios", …
  server?: string;
  user?: Account;
  /** The server rejected the saved login (revoked): sync is paused until a new login. */
  login_expired: boolean;
}

export const app = {
  /** Call first: it also tells the IPC layer which platform it runs on. */
  state: async () => {
    const s = await invoke<AppState>("app_state");
    setPlatform(s.platform);
    return s;
  },
  /** First run: sign in online. Resolves with stage "set_pin". */
  login: (server: string, login: string, password: string) =>
    invoke<AppState>("login", { server, login, password }),
  /** Read a device-setup QR code (from the camera or a photo): prefills server and login. */
  parseSetupQr: (text: string) => invoke<{ server: string; login: string }>("parse_setup_qr", { text }),
  /** 6 digits; `field` "pin" on error. Resolves with stage "unlocked". */
  setPin: (pin: string) => invoke<AppState>("set_pin", { pin }),
  /** Wrong PIN: kind "invalid"; too many: kind "locked" with retry_after_s. */
  unlock: (pin: string) => invoke<AppState>("unlock", { pin }),
  lock: () => invoke<AppState>("lock"),
  /** Sign out (the server revokes the token); unsent work stays on the phone. */
  logout: () => invoke<AppState>("logout"),
};

// ---------------------------------------------------------------------------------------------
// Inbox
// ---------------------------------------------------------------------------------------------

export type Urgency = "overdue" | "due_soon" | "on_time";

export interface DueInfo {
  step: string; // deadline step key, e.g. "home_verification"
  step_zh: string; // 入户核查
  due_on: string; // YYYY-MM-DD
  urgency: Urgency;
  label_zh: string; // the step and its state: 入户核查已逾期3个工作日 / 乡镇受理今日到期 / …
  /** The due date falls in a year whose holidays are not published yet. */
  provisional: boolean;
}

export interface InboxRow {
  case_id: string;
  household_id: string | null;
  name: string; // applicant
  id_last4: string; // last 4 characters of the ID number ("" if none)
  door_plate: string | null;
  address: string;
  village_name: string;
  stage: string; // workflow Stage key
  stage_zh: string;
  source_zh: string;
  risks_zh: string[];
  receipt_no: string | null;
  due: DueInfo | null;
  /** A change on this phone is not yet acknowledged by the server. */
  pending: boolean;
}

export type InboxFilter = "all" | "overdue" | "due_soon" | `stage:${string}`;

export interface InboxQuery {
  search: string; // name fragment, last 4 ID digits, door plate or receipt number; "" = all
  filter: InboxFilter;
  offset: number;
  limit: number;
}

export interface InboxPage {
  today: string;
  total: number; // cases on the phone
  matching: number; // cases matching search + filter (the virtual list's length)
  counts: {
    overdue: number;
    due_soon: number;
    by_stage: { stage: string; stage_zh: string; count: number }[];
  };
  offset: number;
  rows: InboxRow[];
}

export const inbox = {
  /** Sorted: overdue (most overdue first), then by due date, then cases without a clock. */
  page: (query: InboxQuery) => invoke<InboxPage>("inbox", { query }),
};

// ---------------------------------------------------------------------------------------------
// Household file
// ---------------------------------------------------------------------------------------------

export interface MemberView {
  id: string;
  name: string;
  relation_zh: string;
  id_number_masked: string | null; // 620102********1234
  age: number | null;
  health_zh: string;
  work_zh: string;
  schooling_zh: string | null;
  medical_insurance: boolean;
  living_together: boolean;
}

export interface TimelineEntry {
  at: string; // RFC 3339
  label_zh: string;
  by: string | null;
  note: string | null;
  /** Recorded on this phone and not yet acknowledged by the server. */
  pending: boolean;
}

export interface PhotoView {
  id: string;
  /** URLs the <img> can load (the app's photo protocol). null: the bytes are on the server only. */
  url: string | null;
  thumb_url: string | null;
  caption_zh: string; // what it documents: 住房照片, 水源照片, 承诺授权书 …
  taken_at: string | null;
  upload: "waiting" | "uploading" | "done" | "failed" | "remote";
}

export interface MeasureView {
  kind_zh: string;
  description: string;
  amount_yuan: string | null; // "1,500.00"
  responsible: string; // unit + person
  due_on: string | null;
  done_on: string | null;
}

export interface FollowUpView {
  id: string;
  due_on: string;
  done_on: string | null;
  overdue: boolean;
  note: string;
}

export interface VisitSummary {
  id: string;
  case_id: string | null;
  purpose_zh: string;
  started_at: string;
  final: boolean;
  finalized_at: string | null;
  supersedes: string | null;
  /** An unsaved or unsynced working copy exists on this phone. */
  has_working_copy: boolean;
  /** Filled by this user (others' visits are read-only). */
  mine: boolean;
  pending: boolean;
}

export interface CaseView {
  case_id: string;
  household_id: string | null;
  receipt_no: string | null;
  stage: string;
  stage_zh: string;
  source_zh: string;
  risks_zh: string[];
  description: string;
  applicant_name: string;
  applicant_phone_masked: string | null;
  address: string;
  village_name: string;
  declared_at: string;
  green_channel: boolean;
  category_zh: string | null;
  due: DueInfo | null;
  timeline: TimelineEntry[];
  proxy: { filler_name: string; relation: string; confirmation_zh: string } | null;
  plan: { made_on: string; measures: MeasureView[] } | null;
  follow_ups: FollowUpView[];
  /** A visit may be started from the phone now: the home verification ("开始入户核查") or,
   * once the plan is made, the return visit ("开始回访"). */
  can_start_visit: boolean;
  visit_purpose: VisitPurpose | null;
  /** The risk-elimination check may be made now ("风险消除核查"). */
  can_check_risk_elimination: boolean;
  /** This user's unfinished visit of the case: show "继续核查" and open it. */
  open_visit_id: string | null;
  pending: boolean;
}

/** Why a visit is made (the engine's `VisitPurpose`). */
export type VisitPurpose = "verification" | "follow_up" | "risk_elimination_check";

export interface HouseholdFile {
  household_id: string;
  head_name: string;
  address: string;
  door_plate: string | null;
  village: string;
  village_name: string;
  phone_masked: string | null;
  category_zh: string | null;
  monitoring_zh: string;
  formerly_poor: boolean;
  members: MemberView[];
  cases: CaseView[];
  visits: VisitSummary[];
  photos: PhotoView[];
  pending: boolean;
}

export const household = {
  file: (householdId: string) => invoke<HouseholdFile>("household_file", { household_id: householdId }),
  /** A case that has no household yet (household_id null in the inbox). */
  caseView: (caseId: string) => invoke<CaseView>("case_view", { case_id: caseId }),
  /** Door-plate scan: the text of a QR code → the household id; kind "not_found" if unknown. */
  lookupDoorPlate: (text: string) => invoke<{ household_id: string }>("lookup_door_plate", { text }),
};

// ---------------------------------------------------------------------------------------------
// Photos and QR decoding
// ---------------------------------------------------------------------------------------------

/** A photo shrunk by the Rust pipeline and saved on the phone, not yet attached to anything. */
export interface StagedPhoto {
  sha256: string;
  width: number;
  height: number;
  bytes: number;
  thumb_sha256: string;
  thumb_bytes: number;
  taken_at: string | null;
  url: string;
  thumb_url: string;
}

// Android's webview cannot hand a raw request body to Rust, so there the bytes travel as
// base64 inside JSON; everywhere else as the raw body (no copy, no 33% inflation).
let rawIpc = true;
export function setPlatform(platform: string): void {
  rawIpc = platform !== "android";
}

function payloadOf(bytes: Uint8Array): Uint8Array | { base64: string } {
  if (rawIpc) return bytes;
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return { base64: btoa(binary) };
}

async function bytesOf(blob: Blob): Promise<Uint8Array | { base64: string }> {
  return payloadOf(new Uint8Array(await blob.arrayBuffer()));
}

export const photos = {
  /** Run the capture pipeline on a camera photo (EXIF turned upright, metadata stripped). */
  stage: async (file: Blob) => invoke<StagedPhoto>("photo_stage", await bytesOf(file)),
};

export const qr = {
  /** Decode the QR code in a photo or picture file; null when none is found. */
  decodeImage: async (file: Blob) => invoke<string | null>("decode_qr", await bytesOf(file)),
  /** Decode one camera frame given as 8-bit grey values (width × height bytes). */
  decodeLuma: (luma: Uint8Array, width: number, height: number) =>
    invoke<string | null>("decode_qr_luma", payloadOf(luma), {
      headers: { "x-width": String(width), "x-height": String(height) },
    }),
};

// ---------------------------------------------------------------------------------------------
// Home visit (入户核查)
// ---------------------------------------------------------------------------------------------

// Checklist types exactly as yijian-core serialises them.
export type ItemKind =
  | { type: "yes_no" }
  | { type: "integer"; min: number | null; max: number | null; unit_zh: string }
  | { type: "money" }
  | { type: "choice"; options: { value: string; label_zh: string }[] }
  | { type: "multi_choice"; options: { value: string; label_zh: string }[] }
  | { type: "text"; max_chars: number }
  | { type: "date" }
  | { type: "photo" }
  | { type: "signature" };

export type PhotoRequirement = { type: "none" } | { type: "optional" } | { type: "required"; min: number };

export interface ChecklistItem {
  key: string;
  label_zh: string;
  help_zh?: string;
  kind: ItemKind;
  required: boolean;
  show_if?: unknown; // evaluated in Rust; the screens use `evaluation.visible`
  photo: PhotoRequirement;
}

export interface ChecklistSection {
  key: string;
  title_zh: string;
  items: ChecklistItem[];
}

export interface ChecklistTemplate {
  id: string;
  code: string;
  version: number;
  title_zh: string;
  monitoring_line_yuan: number;
  sections: ChecklistSection[];
}

export type Answer =
  | { type: "bool"; value: boolean }
  | { type: "integer"; value: number }
  | { type: "money"; value: { fen: number } }
  | { type: "choice"; value: string }
  | { type: "choices"; value: string[] }
  | { type: "text"; value: string }
  | { type: "date"; value: string }
  | { type: "photos"; value: string[] };

export type Verdict = "pass" | "fail" | "unknown";

export interface Evaluation {
  household_size: number | null;
  income: {
    household_size: number;
    gross_income_fen: number;
    deductions_fen: number;
    net_income_fen: number;
    per_person_fen: number;
    per_person_yuan: number;
    monitoring_line_yuan: number;
    line_status: "below" | "at_or_above";
    gap_yuan: number;
    rigid_spending_fen: number;
    per_person_after_rigid_yuan: number;
    complete: boolean;
  } | null;
  food: Verdict;
  clothing: Verdict;
  two_no_worries: Verdict;
  compulsory_education: Verdict;
  basic_medical: Verdict;
  safe_housing: Verdict;
  water_tests: [Verdict, Verdict, Verdict, Verdict]; // quantity, quality, convenience, reliability
  water: "safe" | "unsafe" | "unknown";
  problems: string[];
  conclusion: "qualifies" | "does_not_qualify" | null;
  visible: string[];
  unanswered_required: string[];
}

export interface AnswerProblem {
  item: string;
  kind: string;
  message_zh: string;
}

export interface VisitView {
  visit_id: string;
  household_id: string;
  case_id: string | null;
  purpose: VisitPurpose;
  purpose_zh: string;
  household_name: string;
  address: string;
  final: boolean;
  finalized_at: string | null;
  supersedes: string | null;
  /** This user may change it (their own visit, not final). */
  editable: boolean;
  template: ChecklistTemplate;
  answers: Record<string, Answer>;
  /** Photos per item key (for photo and signature items too), in the order taken. */
  item_photos: Record<string, PhotoView[]>;
  evaluation: Evaluation;
  /** Empty when the visit may be finalised. */
  outstanding: AnswerProblem[];
  /** The working copy differs from the last saved draft. */
  unsaved_changes: boolean;
  last_saved_at: string | null;
}

export const visit = {
  /** Start a home visit (入户核查) of a household, optionally for a case. */
  start: (householdId: string, caseId: string | null, purpose: VisitPurpose) =>
    invoke<VisitView>("visit_start", { household_id: householdId, case_id: caseId, purpose }),
  open: (visitId: string) => invoke<VisitView>("visit_open", { visit_id: visitId }),
  /** Set (answer) or clear (null) one item; the working copy is saved at once. */
  answer: (visitId: string, key: string, answer: Answer | null) =>
    invoke<VisitView>("visit_answer", { visit_id: visitId, key, answer }),
  attachPhoto: (visitId: string, key: string, staged: StagedPhoto) =>
    invoke<VisitView>("visit_attach_photo", { visit_id: visitId, key, sha256: staged.sha256 }),
  detachPhoto: (visitId: string, key: string, photoId: string) =>
    invoke<VisitView>("visit_detach_photo", { visit_id: visitId, key, photo_id: photoId }),
  /** Queue the working copy for the server as a draft. */
  saveDraft: (visitId: string) => invoke<VisitView>("visit_save_draft", { visit_id: visitId }),
  /** Lock it (kind "invalid" with the outstanding items if incomplete) and send the result. */
  finalise: (visitId: string) => invoke<VisitView>("visit_finalise", { visit_id: visitId }),
  /** A new draft correcting a finalised visit, linked to it. */
  correct: (visitId: string) => invoke<VisitView>("visit_correct", { visit_id: visitId }),
};

// ---------------------------------------------------------------------------------------------
// Proxy declaration (代申报) and form drafts
// ---------------------------------------------------------------------------------------------

export interface RiskOption {
  value: string; // RiskType key: illness, schooling, …
  label_zh: string;
}

export interface ProxyForm {
  /** Existing household (from the inbox or a door-plate scan), or null for a new one. */
  household_id: string | null;
  applicant_name: string;
  id_number: string;
  phone: string;
  village: string; // 12-digit code; defaults to the worker's village
  address: string;
  household_size: string; // as typed
  risk_types: string[];
  description: string;
  filler_name: string;
  filler_relation: string; // 驻村干部, 帮扶干部, 网格员, 亲属 …
  confirmation: "thumbprint" | "signature";
}

export interface ReadBackLine {
  label_zh: string;
  value_zh: string;
}

export const proxy = {
  riskOptions: () => invoke<RiskOption[]>("risk_options"),
  /** Villages this user may file for (code + name). */
  villages: () => invoke<{ code: string; name: string }[]>("my_villages"),
  /** Check the form; resolves with the read-back lines, rejects (kind "invalid", `field`). */
  check: (form: ProxyForm) => invoke<ReadBackLine[]>("proxy_check", { form }),
  /** Save the declaration with the applicant's confirmation photo; fully offline. */
  submit: (form: ProxyForm, confirmation: StagedPhoto) =>
    invoke<{ case_id: string; household_id: string }>("proxy_submit", { form, confirmation_sha256: confirmation.sha256 }),
};

/** Anything typed into a form is kept here on every change, so nothing typed is ever lost. */
export const drafts = {
  get: <T>(key: string) => invoke<T | null>("draft_get", { key }),
  put: (key: string, value: unknown) => invoke<void>("draft_put", { key, value }),
  clear: (key: string) => invoke<void>("draft_clear", { key }),
};

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------

export interface SyncStatus {
  online_known: boolean; // a sync has been tried since the app started
  running: boolean;
  last_sync_at: string | null;
  last_error: string | null;
  outbox: number; // changes waiting to be sent
  quarantine: number;
  conflicts: number;
  photos_waiting: number;
  photos_failed: number;
  photos_done: number;
  records: number;
  login_expired: boolean;
}

export interface SyncProgress {
  phase: "push" | "pull" | "snapshot" | "photos";
  records_done: number;
  records_total: number; // 0 = unknown
  bytes_done: number;
  bytes_total: number;
  photo: [string, number, number] | null; // sha256, bytes sent, bytes total
}

export interface SyncDone {
  ok: boolean;
  error: CommandError | null;
  status: SyncStatus;
}

export interface QuarantineEntry {
  command_id: string;
  what_zh: string; // 入户核查（王建国） …
  reason_zh: string; // the server's reason
  code: string;
  quarantined_at: string;
}

export interface ConflictEntry {
  household_id: string;
  household_name: string;
  field: string;
  field_zh: string;
  base_zh: string;
  theirs_zh: string;
  mine_zh: string;
}

// ---------------------------------------------------------------------------------------------
// The office's messages (new declarations, deadlines, escalations), fetched with each sync
// ---------------------------------------------------------------------------------------------

export interface NoticeView {
  id: number;
  case_id: string | null;
  /** The case is on the phone: link to it. */
  case_on_phone: boolean;
  household_id: string | null;
  kind: string;
  text_zh: string;
  at: string;
  read: boolean;
}

export interface NoticeList {
  unread: number;
  notices: NoticeView[];
}

export const notices = {
  list: () => invoke<NoticeList>("notices"),
  markRead: () => invoke<void>("notices_read"),
};

export const sync = {
  status: () => invoke<SyncStatus>("sync_status"),
  /** Start a round now (the background loop also runs on its own). */
  now: () => invoke<void>("sync_now"),
  quarantine: () => invoke<QuarantineEntry[]>("quarantine_list"),
  retry: (commandId: string | null) => invoke<number>("quarantine_retry", { command_id: commandId }),
  discard: (commandId: string) => invoke<void>("quarantine_discard", { command_id: commandId }),
  conflicts: () => invoke<ConflictEntry[]>("conflicts"),
  resolve: (householdId: string, field: string, choice: "base" | "theirs" | "mine") =>
    invoke<void>("resolve_conflict", { household_id: householdId, field, choice }),
  onProgress: (f: (p: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>("sync-progress", (e) => f(e.payload)),
  onDone: (f: (d: SyncDone) => void): Promise<UnlistenFn> => listen<SyncDone>("sync-done", (e) => f(e.payload)),
};
