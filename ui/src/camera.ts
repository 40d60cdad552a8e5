// Live QR scanning: the camera preview is sampled about four times a second, shrunk (long side
// at most 640 px, enough for a door plate and cheap to send), turned into 8-bit grey and
// decoded in Rust. Frames are dropped while one is still being decoded, so a slow phone never
// builds a queue.
import { qr } from "./api";

export interface Scanner {
  stop(): void;
}

const INTERVAL_MS = 250;
const MAX_SIDE = 640;

export function cameraAvailable(): boolean {
  return !!(navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function");
}

export async function startScanner(video: HTMLVideoElement, onText: (text: string) => void): Promise<Scanner> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play().catch(() => undefined);

  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true } as CanvasRenderingContext2DSettings);
  let stopped = false;
  let timer: number | undefined;
  let busy = false;

  const tick = (): void => {
    if (stopped) return;
    timer = window.setTimeout(tick, INTERVAL_MS);
    if (busy || !ctx || document.visibilityState === "hidden" || video.readyState < 2 || !video.videoWidth) return;
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const w = Math.max(1, Math.round(video.videoWidth * scale));
    const hgt = Math.max(1, Math.round(video.videoHeight * scale));
    if (canvas.width !== w || canvas.height !== hgt) {
      canvas.width = w;
      canvas.height = hgt;
    }
    ctx.drawImage(video, 0, 0, w, hgt);
    const rgba = ctx.getImageData(0, 0, w, hgt).data;
    const luma = new Uint8Array(w * hgt);
    for (let i = 0, j = 0; j < luma.length; i += 4, j++) {
      // ITU-R BT.601 weights in fixed point (×1024): 0.299, 0.587, 0.114.
      luma[j] = (306 * rgba[i] + 601 * rgba[i + 1] + 117 * rgba[i + 2]) >> 10;
    }
    busy = true;
    // Not tracked as "busy": a scanning camera would otherwise keep the app busy forever.
    qr.decodeLuma(luma, w, hgt).then(
      (text) => {
        busy = false;
        if (text && !stopped) onText(text);
      },
      () => {
        busy = false;
      },
    );
  };
  timer = window.setTimeout(tick, INTERVAL_MS);

  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const t of stream.getTracks()) t.stop();
      video.srcObject = null;
    },
  };
}
