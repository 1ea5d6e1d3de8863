/**
 * The compression worker: answers the page's requests (protocol.ts) one at a time, in order. TF.js, the packages and
 * the models live here only, so the page's main thread stays free while a model compresses, evaluates or generates.
 */
import {
  type Envelope,
  isEnvelope,
  type Progress,
  type Request,
  toErrorPayload,
  transferables,
} from "../protocol.js";
import { startEngine } from "./engine.js";
import { compress, evaluate, exportCompressed, generateBoth, loadDefault, loadFiles } from "./session.js";

interface Scope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
}
const scope = globalThis as unknown as Scope;

let engineReady: Promise<unknown> | null = null;

async function handle(request: Request, progress: (p: Progress) => void): Promise<unknown> {
  if (request.type === "init") {
    const started = startEngine(request.backend);
    engineReady = started;
    return started;
  }
  if (!engineReady) throw Object.assign(new Error("the engine is not started"), { name: "InputError" });
  await engineReady;
  switch (request.type) {
    case "load-default":
      return loadDefault(request.modelUrl, request.vocabUrl, request.metaUrl);
    case "load-files":
      return loadFiles(request.files);
    case "compress":
      return compress(request.settings, progress);
    case "evaluate":
      return evaluate(request.text, request.maxTokens);
    case "generate":
      return generateBoth(request.prompt, request.maxNewTokens, request.seed);
    case "export":
      return exportCompressed(request.format);
  }
}

let queue: Promise<void> = Promise.resolve();

async function run({ id, request }: Envelope): Promise<void> {
  const progress = (p: Progress) => scope.postMessage({ id, kind: "progress", progress: p });
  try {
    const result = await handle(request, progress);
    const transfer =
      result && typeof result === "object" && "files" in result ? transferables(result as never) : [];
    scope.postMessage({ id, kind: "result", result }, transfer);
  } catch (e) {
    scope.postMessage({ id, kind: "error", error: toErrorPayload(e) });
  }
}

scope.addEventListener("message", (e: MessageEvent) => {
  const data: unknown = e.data;
  if (!isEnvelope(data)) {
    const id = typeof (data as { id?: unknown })?.id === "number" ? (data as { id: number }).id : -1;
    scope.postMessage({ id, kind: "error", error: { name: "ProtocolError", message: "malformed request" } });
    return;
  }
  queue = queue.then(() => run(data));
});
