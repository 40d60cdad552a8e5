// The contract between the screens and the Rust side: every command the app exposes, with the
// shapes it takes and returns. Names and fields are snake_case because domain objects (the
// checklist template, answers, evaluation) cross the IPC exactly as yijian-core serialises
// them; converting them on both sides would be two more places to get wrong.
//
// Errors: every command rejects with a CommandError. `kind` is what the screens branch on;
// `message` is Chinese for the worker; `field` names the form field at fault (when one is).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AccountView,
  Answer,
  AppState,
  Attendee,
  CaseView,
  CommandError,
  ConflictEntry,
  HouseholdFile,
  InboxPage,
  InboxQuery,
  NoticeList,
  ProxyForm,
  QuarantineEntry,
  ReadBackLine,
  RiskOption,
  SyncDone,
  SyncProgress,
  SyncStatus,
  VisitPurpose,
  VisitView,
  StagedPhotoView,
} from "./bindings";

// The shapes below are generated from the Rust types (./bindings.ts, checked in `make test`).
export type {
  AccountView,
  Answer,
  AnswerProblem,
  AnswerProblemKind,
  AppStage,
  AppState,
  Aspect,
  Attendee,
  CadreRole,
  CaseId,
  CaseView,
  Check,
  CheckOutcome,
  ChecklistItem,
  ChecklistSection,
  ChecklistTemplate,
  ChoiceOption,
  CommandError,
  Conclusion,
  Condition,
  ConflictChoice,
  ConflictEntry,
  DeadlineStep,
  Derivation,
  DueInfo,
  ErrorKind,
  Evaluation,
  FollowUpView,
  Found,
  HouseholdFile,
  HouseholdId,
  InboxCounts,
  InboxPage,
  InboxQuery,
  InboxRow,
  IncomeSummary,
  ItemKind,
  LineStatus,
  MeasureView,
  MemberView,
  MonitoringCategory,
  NoticeList,
  NoticeView,
  Phase,
  PhotoId,
  PhotoRequirement,
  PhotoView,
  PlanView,
  ProxyForm,
  ProxyView,
  QuarantineEntry,
  ReadBackLine,
  RiskOption,
  RiskType,
  Role,
  Scalar,
  Stage,
  StageCount,
  StagedPhotoView,
  Submitted,
  SyncDone,
  SyncProgress,
  SyncStatus,
  TemplateId,
  TimelineEntry,
  UploadState,
  Urgency,
  Verdict,
  VillageOption,
  VisitId,
  VisitPurpose,
  VisitSummary,
  VisitView,
  WaterSafety,
} from "./bindings";
/** The signed-in user as the app shows them. */
export type Account = AccountView;
/** A photo staged on the phone, with the URLs the screens load it from. */
export type StagedPhoto = StagedPhotoView;



export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && "kind" in e && "message" in e;
}

// ---------------------------------------------------------------------------------------------
// Session: first run, PIN, lock
// ---------------------------------------------------------------------------------------------





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
  /** Sign out: the server revokes the token and this phone's data is erased. With unsent
   * work it fails with kind "unsent_work" unless `eraseUnsent` confirms. */
  logout: (eraseUnsent = false) => invoke<AppState>("logout", { erase_unsent: eraseUnsent }),
  /** An administrator revoked this phone: its data is gone (the state says why). */
  onWiped: (f: () => void): Promise<UnlistenFn> => listen("device-wiped", () => f()),
};

// ---------------------------------------------------------------------------------------------
// Inbox
// ---------------------------------------------------------------------------------------------




export type InboxFilter = "all" | "overdue" | "due_soon" | `stage:${string}`;



export const inbox = {
  /** Sorted: overdue (most overdue first), then by due date, then cases without a clock. */
  page: (query: InboxQuery) => invoke<InboxPage>("inbox", { query }),
};

// ---------------------------------------------------------------------------------------------
// Household file
// ---------------------------------------------------------------------------------------------










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
  /** Record where the visit is made (the phone's position, or why there is none). */
  locate: (visitId: string) => invoke<VisitView>("visit_locate", { visit_id: visitId }),
  /** Record who is present (the whole list). */
  setPresent: (visitId: string, present: Attendee[]) =>
    invoke<VisitView>("visit_set_present", { visit_id: visitId, present }),
};

// ---------------------------------------------------------------------------------------------
// Proxy declaration (代申报) and form drafts
// ---------------------------------------------------------------------------------------------




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






// ---------------------------------------------------------------------------------------------
// The office's messages (new declarations, deadlines, escalations), fetched with each sync
// ---------------------------------------------------------------------------------------------



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
