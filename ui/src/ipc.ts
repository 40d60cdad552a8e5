// Every call to Rust goes through track(): it keeps body[data-busy] right (tests and the
// "正在…" states wait on it) and turns a surprise lock or revoked login into a screen change
// instead of an error message on whatever screen happens to be open.
import { isCommandError, type CommandError, type ErrorKind } from "./api";

let inFlight = 0;
let onSessionLost: ((kind: ErrorKind) => void) | null = null;

function mark(): void {
  document.body.dataset.busy = inFlight > 0 ? "1" : "0";
}

/**
 * Count something about to become a command (a debounced answer) as busy, so "wait until
 * idle" also waits for typing that has not been sent yet. Returns the release.
 */
export function holdBusy(): () => void {
  inFlight++;
  mark();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    inFlight--;
    mark();
  };
}

export function setSessionLostHandler(f: (kind: ErrorKind) => void): void {
  onSessionLost = f;
}

export function track<T>(p: Promise<T>): Promise<T> {
  inFlight++;
  mark();
  return p.then(
    (v) => {
      inFlight--;
      mark();
      return v;
    },
    (e: unknown) => {
      inFlight--;
      mark();
      const err = toError(e);
      // "locked" without a wait time means the app locked itself (timeout, another window):
      // the PIN screen must come back. A wait time belongs to the unlock screen itself.
      if (onSessionLost && err.kind === "locked" && err.retry_after_s === undefined) onSessionLost("locked");
      if (onSessionLost && err.kind === "unauthenticated") onSessionLost("unauthenticated");
      throw err;
    },
  );
}

/** Anything a command may reject with, as a CommandError with a Chinese message. */
export function toError(e: unknown): CommandError {
  if (isCommandError(e)) return e;
  const text = e instanceof Error ? e.message : typeof e === "string" ? e : "";
  return { kind: "internal", message: text ? `出现意外错误：${text}` : "出现意外错误，请重试" };
}

export function errorText(e: unknown): string {
  const err = toError(e);
  if (err.kind === "network" && !err.message) return "无法连接服务器，请在有信号的地方再试";
  return err.message || "出现意外错误，请重试";
}
