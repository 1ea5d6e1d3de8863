/**
 * The page: wires the controls of index.html to the compression worker (protocol.ts, client.ts). Nothing heavy runs
 * here: TF.js and the models live in the worker, which starts after the page is interactive.
 */
import "./style.css";
import { WorkerClient, type WorkerLike } from "./client.js";
import { fmtRatio } from "./format.js";
import {
  BACKEND_CHOICES,
  type BackendChoice,
  type CompressSettings,
  type DroppedFile,
  type ExportFormat,
  type ModelSummary,
  POLICY_KINDS,
  type PolicyKind,
} from "./protocol.js";
import {
  $,
  clearCompression,
  describeEngineSummary,
  renderCompression,
  renderEvaluation,
  renderGeneration,
  renderModel,
} from "./view.js";

type ModelSource = { kind: "default" } | { kind: "files"; files: File[] };

let client: WorkerClient | null = null;
let source: ModelSource = { kind: "default" };
let hasModel = false;
let hasCompressed = false;
let busy = false;

function setBusy(b: boolean): void {
  busy = b;
  document.body.setAttribute("aria-busy", String(b));
  $<HTMLButtonElement>("load-default").disabled = b;
  $<HTMLInputElement>("model-file").disabled = b;
  $<HTMLSelectElement>("backend-select").disabled = b;
  for (const id of ["compress", "evaluate", "generate"]) $<HTMLButtonElement>(id).disabled = b || !hasModel;
  for (const id of ["dl-native", "dl-seed", "dl-onnx"])
    $<HTMLButtonElement>(id).disabled = b || !hasCompressed;
}

function showError(e: unknown): void {
  $("error").textContent = e instanceof Error ? e.message : String(e);
}

/** Runs one user action: busy state, error display, and the buttons re-enabled after. */
async function act(what: () => Promise<void>): Promise<void> {
  if (busy) return;
  $("error").textContent = "";
  setBusy(true);
  try {
    await what();
  } catch (e) {
    showError(e);
  } finally {
    setBusy(false);
  }
}

function need(): WorkerClient {
  if (!client) throw new Error("the worker is not running");
  return client;
}

function adopt(m: ModelSummary): void {
  hasModel = true;
  hasCompressed = false;
  clearCompression();
  renderModel(m);
}

const asset = (path: string) => new URL(`${import.meta.env.BASE_URL}${path}`, location.href).href;

async function loadSource(): Promise<void> {
  const c = need();
  hasModel = false;
  $("model-info").textContent = "Loading the model…";
  if (source.kind === "default") {
    adopt(
      await c.request({
        type: "load-default",
        modelUrl: asset("models/default/model.ttm"),
        vocabUrl: asset("models/default/vocab.json"),
        metaUrl: asset("models/default/meta.json"),
      }),
    );
    return;
  }
  const files: DroppedFile[] = await Promise.all(
    source.files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })),
  );
  adopt(await c.request({ type: "load-files", files }));
}

/** A fresh worker on `backend`, with the current model loaded into it. */
async function startWorker(backend: BackendChoice): Promise<void> {
  client?.terminate();
  hasModel = false;
  hasCompressed = false;
  $("backend").textContent = `starting ${backend}…`;
  const worker = new Worker(new URL("./worker/worker.ts", import.meta.url), { type: "module" });
  client = new WorkerClient(worker as unknown as WorkerLike);
  try {
    const engine = await client.request({ type: "init", backend });
    $("backend").textContent = describeEngineSummary(engine);
    $("backend").dataset["value"] = engine.backend;
  } catch (e) {
    $("backend").textContent = `${backend} unavailable`;
    $("backend").dataset["value"] = "";
    throw e;
  }
  await loadSource();
}

function settings(): CompressSettings {
  const kind = $<HTMLSelectElement>("policy").value as PolicyKind;
  if (!POLICY_KINDS.includes(kind)) throw new Error(`unknown policy ${kind}`);
  return {
    kind,
    targetRatio: Number($<HTMLInputElement>("target").value),
    seedLayout: $<HTMLInputElement>("seed-layout").checked,
    method: $<HTMLSelectElement>("method").value === "randomized" ? "randomized" : "exact",
  };
}

async function compress(): Promise<void> {
  const s = settings();
  const bar = $<HTMLProgressElement>("progress");
  const text = $("progress-text");
  bar.value = 0;
  const r = await need().request({ type: "compress", settings: s }, (p) => {
    bar.value = p.total > 0 ? p.done / p.total : 0;
    text.textContent = `${p.done}/${p.total} matrices: ${p.label}`;
  });
  hasCompressed = true;
  renderCompression(r, s.targetRatio);
}

async function evaluate(): Promise<void> {
  const pasted =
    (document.querySelector('input[name="text-source"]:checked') as HTMLInputElement).value === "pasted";
  const text = pasted ? $<HTMLTextAreaElement>("eval-text").value : null;
  if (pasted && text?.trim() === "")
    throw new Error("paste a text to evaluate, or choose the embedded sample");
  $("eval-info").textContent = "Evaluating…";
  const maxTokens = Math.max(16, Math.floor(Number($<HTMLInputElement>("max-tokens").value) || 12000));
  renderEvaluation(await need().request({ type: "evaluate", text, maxTokens }));
}

async function generateText(): Promise<void> {
  const n = Math.min(200, Math.max(1, Math.floor(Number($<HTMLInputElement>("new-tokens").value) || 20)));
  const prompt = $<HTMLInputElement>("prompt").value;
  renderGeneration(await need().request({ type: "generate", prompt, maxNewTokens: n, seed: 1 }));
}

async function download(format: ExportFormat): Promise<void> {
  const { files } = await need().request({ type: "export", format });
  const info = $("download-info");
  info.replaceChildren(files.length > 1 ? "Save each file: " : "Saved: ");
  for (const [i, f] of files.entries()) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([f.bytes], { type: f.mime }));
    a.download = f.name;
    a.dataset["testid"] = `file-${f.name}`;
    a.textContent = `${f.name} (${f.bytes.byteLength.toLocaleString("en-US")} bytes)`;
    info.append(...(i > 0 ? [", ", a] : [a]));
  }
  // one file downloads at once; browsers block a page that starts several downloads, so several are links to click
  if (files.length === 1) info.querySelector("a")?.click();
}

function useFiles(list: FileList | null): void {
  if (!list || list.length === 0) return;
  source = { kind: "files", files: Array.from(list) };
  void act(loadSource);
}

function wire(): void {
  $("load-default").addEventListener("click", () => {
    source = { kind: "default" };
    void act(loadSource);
  });
  $<HTMLInputElement>("model-file").addEventListener("change", (e) =>
    useFiles((e.target as HTMLInputElement).files),
  );
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    useFiles(e.dataTransfer?.files ?? null);
  });
  const target = $<HTMLInputElement>("target");
  target.addEventListener("input", () => {
    $("target-out").textContent = fmtRatio(Number(target.value));
  });
  $("compress").addEventListener("click", () => void act(compress));
  $("evaluate").addEventListener("click", () => void act(evaluate));
  $("generate").addEventListener("click", () => void act(generateText));
  $("dl-native").addEventListener("click", () => void act(() => download("native")));
  $("dl-seed").addEventListener("click", () => void act(() => download("seed")));
  $("dl-onnx").addEventListener("click", () => void act(() => download("onnx")));
  const backend = $<HTMLSelectElement>("backend-select");
  backend.addEventListener("change", () => {
    const b = backend.value as BackendChoice;
    if (BACKEND_CHOICES.includes(b)) void act(() => startWorker(b));
  });
}

wire();
setBusy(false);
performance.mark("tt-interactive");
document.body.dataset["interactive"] = "true";
const select = $<HTMLSelectElement>("backend-select");
const asked = new URLSearchParams(location.search).get("backend") as BackendChoice | null;
if (asked && BACKEND_CHOICES.includes(asked)) select.value = asked;
const initial = select.value as BackendChoice;
void act(() => startWorker(initial));
