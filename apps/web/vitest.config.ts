import { project } from "@tensor-tt/vitest-config";
import { defineProject } from "vitest/config";

// Unit tests (protocol, client, formatting, plot, policy) and the browser end-to-end test (test/e2e.test.ts), which
// builds the app, serves it with vite preview and drives Debian's chromium through playwright-core.
export default defineProject(project("web"));
