import { project } from "@tensor-tt/vitest-config";
import { defineProject } from "vitest/config";

export default defineProject(project("tt-layers"));
