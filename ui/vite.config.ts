import { defineConfig } from "vite";

// Tauri serves the built files from ui/dist; the dev server must stay on a fixed port
// (tauri.conf.json's devUrl) and not clear the terminal Tauri prints into.
export default defineConfig({
  clearScreen: false,
  // The preview mock reads the checklist template from ../assets (the file the Rust core ships).
  server: { port: 5173, strictPort: true, fs: { allow: [".."] } },
  build: {
    // Old Android WebViews (Chrome 87+ on Android 7+) still run the app.
    target: ["es2020", "chrome87", "safari14"],
    outDir: "dist",
    emptyOutDir: true,
    // One chunk, loaded from the app bundle: the preload polyfill would be dead weight.
    modulePreload: { polyfill: false },
  },
});
