// Without any backend imported or initEngine called, constructing a layer names the remedy.
import { TTLinear } from "@tensor-tt/tt-layers";

try {
  new TTLinear({ inFeatures: 8, outFeatures: 8, ranks: 2 });
  console.error("expected a BackendUnavailableError");
  process.exit(1);
} catch (e) {
  if (e?.name !== "BackendUnavailableError" || !/initEngine\(\)/.test(e.message)) {
    console.error("wrong error:", e);
    process.exit(1);
  }
  console.log(`ok   no backend: ${e.message}`);
}
