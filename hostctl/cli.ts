#!/usr/bin/env node
/**
 * The hostctl executable. It runs hostctl/main.ts from the one-file bundle the build puts beside it, with V8's
 * code cache (hostctl/bundle/load-bundle.ts: start-up is most of a short command's time), or from its modules
 * when there is no current bundle (running from the sources, or a build without the bundler).
 */
import { fileURLToPath } from "node:url";
import { BUNDLE_FILE, loadBundle } from "./bundle/load-bundle.js";

type Program = typeof import("./main.js");

const bundled = loadBundle(fileURLToPath(new URL(`./${BUNDLE_FILE}`, import.meta.url)));
const program = (bundled?.exports as Program | undefined) ?? (await import("./main.js"));
process.exitCode = await program.main(process.argv.slice(2));
