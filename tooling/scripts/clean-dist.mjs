#!/usr/bin/env node
/** Removes the current package's dist/ before a build, so no file of a moved or deleted module is published. */
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
