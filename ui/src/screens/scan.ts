// 扫门牌: point the camera at the household's door plate (or take a photo of it) to open its file.
import { household, qr } from "../api";
import { cameraAvailable, startScanner, type Scanner } from "../camera";
import { h, replaceChildren } from "../dom";
import { errorText, toError, track } from "../ipc";
import { go } from "../router";
import type { View } from "../shell";
import { banner, button, photoButton } from "../ui/widgets";

export function scanScreen(): View {
  const result = h("div", { id: "scan-result", "aria-live": "polite" });
  let scanner: Scanner | null = null;
  let left = false;
  let handling = false;
  let lastMiss = { text: "", at: 0 };

  const say = (kind: "error" | "info" | "ok", ...c: (string | HTMLElement)[]): void => replaceChildren(result, banner(kind, ...c));

  async function lookup(text: string, fromCamera: boolean): Promise<void> {
    // The camera sees the same unknown plate many times a second: complain once.
    if (fromCamera && text === lastMiss.text && Date.now() - lastMiss.at < 5000) return;
    if (handling) return;
    handling = true;
    say("info", "已识别，正在查找农户…");
    try {
      const r = await track(household.lookupDoorPlate(text));
      scanner?.stop();
      scanner = null;
      if (!left) go("household", r.household_id);
    } catch (e) {
      const err = toError(e);
      lastMiss = { text, at: Date.now() };
      if (err.kind === "not_found") say("error", h("strong", "未找到这个户码对应的农户"), h("br"), err.message);
      else say("error", errorText(err));
    } finally {
      handling = false;
    }
  }

  const video = h("video.scan-video", { muted: true, playsinline: true, autoplay: true, "aria-label": "摄像头画面" });
  const camNote = h("p.scan-note");
  const camBox = h("div.scan-box", { hidden: !cameraAvailable() }, video, h("div.scan-frame", { "aria-hidden": "true" }), camNote);

  const openCamera = async (): Promise<void> => {
    camNote.textContent = "正在打开摄像头…";
    try {
      scanner = await startScanner(video, (t) => void lookup(t, true));
      if (left || document.visibilityState === "hidden") {
        scanner.stop();
        scanner = null;
        return;
      }
      camNote.textContent = "把门牌上的二维码放进框里";
      retry.hidden = true;
    } catch {
      camNote.textContent = "";
      camBox.hidden = true;
      retry.hidden = false;
      // Not in #scan-result: a late camera failure must not hide a lookup's answer.
      replaceChildren(camError, banner("warn", "无法打开摄像头。请允许使用摄像头，或者用下面的“拍照识别”。"));
    }
  };
  const camError = h("div");
  const retry = button("重新打开摄像头", {}, () => {
    replaceChildren(camError);
    return openCamera();
  });
  retry.hidden = true;

  const photo = photoButton(
    "拍照识别",
    { id: "scan-file" },
    (files) => {
      void (async () => {
        say("info", "正在识别照片里的二维码…");
        try {
          const text = await track(qr.decodeImage(files[0]));
          if (!text) say("error", "没有识别到二维码，请对准门牌再试");
          else await lookup(text, false);
        } catch (e) {
          say("error", errorText(e));
        }
      })();
    },
    { kind: cameraAvailable() ? "secondary" : "primary" },
  );

  const plate = h("input", { id: "scan-plate", type: "text", autocomplete: "off", placeholder: "例如 621102105201-007", enterkeyhint: "search" });
  const find = h("button.btn.btn-secondary", { type: "submit" }, "查找");
  const manual = h(
    "form",
    { class: "manual", novalidate: true },
    h("label.field-label", { for: "scan-plate" }, "二维码坏了？输入门牌号"),
    h("div.input-row", plate, find),
  );
  manual.addEventListener("submit", (e) => {
    e.preventDefault();
    if (plate.value.trim()) void lookup(plate.value.trim(), false);
  });

  if (cameraAvailable()) void openCamera();
  // The camera is the battery's worst enemy: off while the app is in the background.
  const onVisibility = (): void => {
    if (document.visibilityState === "hidden") {
      scanner?.stop();
      scanner = null;
    } else if (!left && !scanner && !camBox.hidden) void openCamera();
  };
  document.addEventListener("visibilitychange", onVisibility);

  const el = h("section.screen.screen-scroll", { "data-screen": "scan" }, camBox, camError, retry, result, photo.el, manual);
  return {
    el,
    title: "扫门牌",
    tab: "scan",
    leave: () => {
      left = true;
      document.removeEventListener("visibilitychange", onVisibility);
      scanner?.stop();
      scanner = null;
    },
  };
}
