/**
 * Helpers of the browser end-to-end test: build the app, serve it with `vite preview` (the config's COOP/COEP
 * headers), launch Debian's chromium through playwright-core, and measure what the targets name.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type Browser, type ConsoleMessage, chromium, type Page } from "playwright-core";
import { build, type PreviewServer, preview } from "vite";

export const APP = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const OUT = join(APP, "test-results/e2e");
export const DIST = join(APP, "test-results/e2e-dist");
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const FIXTURES = join(APP, "../../packages/tt-transformer-hybrid/test/fixtures/hf-gpt2");

/** Fails (never skips) when chromium is missing: CI installs it (.ci/run). */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
}

export async function buildAndServe(): Promise<{ server: PreviewServer; url: string; buildMs: number }> {
  const t0 = performance.now();
  await build({ root: APP, logLevel: "error", build: { outDir: DIST, emptyOutDir: true } });
  const buildMs = performance.now() - t0;
  const server = await preview({
    root: APP,
    logLevel: "error",
    build: { outDir: DIST },
    preview: { port: 4570, strictPort: false, host: "127.0.0.1" },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("vite preview reported no URL");
  return { server, url, buildMs };
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--enable-unsafe-webgpu",
    ],
  });
}

/** gzip sizes of what index.html loads before anything else: its module scripts and module preloads. */
export function initialJs(dist: string): {
  files: Array<{ file: string; bytes: number; gzip: number }>;
  gzip: number;
} {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const refs = [
    ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1] as string);
  const files = refs.map((r) => {
    const bytes = readFileSync(join(dist, r.replace(/^\//, "")));
    return { file: r, bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
  });
  return { files, gzip: files.reduce((a, f) => a + f.gzip, 0) };
}

/** gzip size of every other script of the build (the worker and its lazily imported chunks). */
export function lazyJs(dist: string, initial: readonly string[]): { files: number; gzip: number } {
  const dir = join(dist, "assets");
  const names = readdirSync(dir).filter((f) => f.endsWith(".js") && !initial.includes(`/assets/${f}`));
  const gzip = names.reduce((a, f) => a + gzipSync(readFileSync(join(dir, f)), { level: 9 }).byteLength, 0);
  return { files: names.length, gzip };
}

/** Console errors and page errors of a page, collected from its start. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Records long tasks (PerformanceObserver "longtask") of the main thread from the page's start. */
export const LONGTASK_SCRIPT = `
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch {}
`;

export async function longTasks(
  page: Page,
  from: number,
  to: number,
): Promise<Array<{ start: number; duration: number }>> {
  const all = (await page.evaluate("window.__longtasks")) as Array<{ start: number; duration: number }>;
  return all.filter((t) => t.start + t.duration >= from && t.start <= to);
}

/** Waits until `#id` has a `data-<key>` or the page shows an error; throws the page's error text. */
export async function waitFor(page: Page, id: string, key: string, timeout = 120_000): Promise<string> {
  await page.waitForFunction(
    ([i, k]) => {
      const el = document.getElementById(i as string);
      return (
        (el?.dataset[k as string] ?? "") !== "" ||
        (document.getElementById("error")?.textContent ?? "") !== ""
      );
    },
    [id, key],
    { timeout },
  );
  const err = await page.textContent("#error");
  if (err) throw new Error(`the page shows an error: ${err}`);
  return (await page.getAttribute(`#${id}`, `data-${key}`)) as string;
}

/** Waits for the model line to change to a loaded model (or an error) and returns it. */
export async function waitForModel(page: Page, contains: string, timeout = 120_000): Promise<string> {
  await page.waitForFunction(
    (c) =>
      (document.getElementById("model-info")?.textContent ?? "").includes(c as string) ||
      (document.getElementById("error")?.textContent ?? "") !== "",
    contains,
    { timeout },
  );
  const err = await page.textContent("#error");
  if (err) throw new Error(`the page shows an error: ${err}`);
  await page.waitForFunction(() => !(document.getElementById("compress") as HTMLButtonElement).disabled);
  return (await page.textContent("#model-info")) as string;
}
