import { defaultClientConditions, defineConfig } from "vite";

/**
 * Workspace packages are read from their TypeScript sources through the `@tensor-tt/source` export condition (as
 * the tests and the bench do), before the browser conditions: one consistent copy, no `pnpm build` needed first.
 * COOP/COEP make the page cross-origin isolated, so TF.js's wasm backend can use its threaded build.
 */
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  resolve: {
    conditions: ["@tensor-tt/source", ...defaultClientConditions],
    dedupe: ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"],
  },
  // The worker's chunks are not minified: TF.js's threaded wasm backend starts its pthreads from the source text of
  // a function (`factory.toString()`), which breaks when a minifier renames the names it closes over.
  worker: { format: "es", rolldownOptions: { output: { minify: false } } },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: "es2022", chunkSizeWarningLimit: 4096 },
});
