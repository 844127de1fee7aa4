/**
 * Builds the dashboard. First the app's manifest, `dashboard.gen.ts`: every
 * route in `routes/` and island in `islands/`, imported in one generated module
 * that `server/dashboard.ts` hands to the framework (`server/ui/`). Then the
 * island bundles: every island plus the framework's island runtime and the
 * socket worker, bundled for the browser by `deno bundle` with code splitting
 * (so Preact and the live state are loaded once, in shared chunks), minified,
 * with content hashes in every file name, and a `manifest.json` the server
 * reads.
 *
 * The generated manifest is committed, like Fresh 1's `fresh.gen.ts`, so the
 * service type-checks and starts from a fresh clone; a test fails when it is
 * out of date with the folders.
 *
 * Paths come from `import.meta.url`, so it builds the same from any working
 * directory. Run with `deno task build` (`--out-dir <dir>` to write the
 * bundles elsewhere, `--manifest-only` to write only `dashboard.gen.ts`).
 *
 * @module
 */

import { type AppFiles, manifestSource, scanApp } from "../server/ui/manifest.ts";

/** The repository root. */
const ROOT = new URL("../", import.meta.url);
/** The generated manifest of routes and islands. */
export const GENERATED_MANIFEST = new URL("dashboard.gen.ts", ROOT);
/** The framework's island runtime: finds the island markers and hydrates them. */
const BOOT_ENTRY = "server/ui/client/boot.ts";
/** Other browser entries, by the name pages find them under (`<meta name="tf-entry:NAME">`). */
const EXTRA_ENTRIES: Record<string, string> = {
  "socket-worker": "islands/_client/socket_worker.ts",
};

/** Options of {@linkcode build}. */
export interface BuildOptions {
  /** Output folder; default `dist/islands/`. Replaced as a whole. */
  outDir?: URL;
  /** Minify; default `true`. */
  minify?: boolean;
}

/** What {@linkcode build} wrote: the manifest and where. */
export interface BuildResult {
  outDir: URL;
  manifest: {
    islands: Record<string, string>;
    boot: string;
    /** Bundles of {@linkcode EXTRA_ENTRIES}, by name (`socket-worker`). */
    entries: Record<string, string>;
    imports: Record<string, string[]>;
    sizes: Record<string, number>;
  };
  /** Sum of all files' sizes, bytes. */
  totalBytes: number;
}

/**
 * The text `dashboard.gen.ts` should have for the app's folders as they are.
 *
 * @example
 * ```ts ignore
 * const text = await generatedManifest();
 * ```
 */
export async function generatedManifest(files?: AppFiles): Promise<string> {
  return manifestSource(files ?? await scanApp(ROOT), {
    frameworkPath: "./server/ui/mod.ts",
    stateModule: "./server/dashboard_state.ts",
    stateType: "DashboardState",
  });
}

/**
 * Writes `dashboard.gen.ts` when its text changed; returns whether it did.
 *
 * @example
 * ```ts ignore
 * await writeManifest();
 * ```
 */
export async function writeManifest(): Promise<boolean> {
  const text = await generatedManifest();
  const current = await Deno.readTextFile(GENERATED_MANIFEST).catch(() => "");
  if (current === text) return false;
  await Deno.writeTextFile(GENERATED_MANIFEST, text);
  return true;
}

/**
 * Bundles the islands into `outDir` and writes its manifest.
 *
 * @example
 * ```ts ignore
 * import { build } from "./scripts/build.ts";
 * const { manifest, totalBytes } = await build();
 * ```
 */
export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? new URL("dist/islands/", ROOT);
  const parent = new URL("./", new URL(outDir.href.replace(/\/$/, ""), ROOT));
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent.pathname, prefix: ".islands-" });
  try {
    const files = await scanApp(ROOT);
    const names = files.islands;
    // One small entry file per bundle, all in one folder, so deno bundle writes every output
    // flat (outputs mirror the entries' folders) and names each after its entry.
    const entryDir = `${tmp}/entries`;
    const outDirTmp = `${tmp}/out`;
    await Deno.mkdir(entryDir);
    const stubs: Record<string, string> = {};
    for (const name of names) {
      stubs[name] = `export { default } from "${new URL(`islands/${name}.tsx`, ROOT).href}";\n`;
    }
    stubs.boot = `import "${new URL(BOOT_ENTRY, ROOT).href}";\n`;
    for (const [name, path] of Object.entries(EXTRA_ENTRIES)) {
      stubs[name] = `import "${new URL(path, ROOT).href}";\n`;
    }
    for (const [name, text] of Object.entries(stubs)) {
      await Deno.writeTextFile(`${entryDir}/${name}.ts`, text);
    }
    const args = [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      "--code-splitting",
      `--config=${new URL("deno.json", ROOT).pathname}`,
      `--outdir=${outDirTmp}`,
      ...(options.minify === false ? [] : ["--minify"]),
      ...Object.keys(stubs).map((name) => `${entryDir}/${name}.ts`),
    ];
    const output = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr);
      throw new Error(`deno bundle failed (exit code ${output.code}):\n${stderr}`);
    }
    await Deno.remove(entryDir, { recursive: true });

    const manifest: BuildResult["manifest"] = {
      islands: {},
      boot: "",
      entries: {},
      imports: {},
      sizes: {},
    };
    for (const name of Object.keys(stubs)) {
      const bytes = await Deno.readFile(`${outDirTmp}/${name}.js`);
      const file = `${name}-${await shortHash(bytes)}.js`;
      await Deno.rename(`${outDirTmp}/${name}.js`, `${outDirTmp}/${file}`);
      if (name === "boot") manifest.boot = file;
      else if (name in EXTRA_ENTRIES) manifest.entries[name] = file;
      else manifest.islands[name] = file;
    }
    let totalBytes = 0;
    for await (const entry of Deno.readDir(outDirTmp)) {
      if (!entry.isFile || !entry.name.endsWith(".js")) continue;
      const text = await Deno.readTextFile(`${outDirTmp}/${entry.name}`);
      const size = new TextEncoder().encode(text).length;
      manifest.sizes[entry.name] = size;
      manifest.imports[entry.name] = staticImports(text);
      totalBytes += size;
    }
    await Deno.writeTextFile(
      `${outDirTmp}/manifest.json`,
      JSON.stringify(manifest, null, 2) + "\n",
    );
    await replaceDir(outDirTmp, outDir);
    return { outDir, manifest, totalBytes };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
  }
}

/** Puts `from` in place of `to`; retried, since another build may be swapping it too. */
async function replaceDir(from: string, to: URL): Promise<void> {
  for (let attempt = 0;; attempt++) {
    await Deno.remove(to, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    try {
      await Deno.rename(from, to);
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * The sibling files a bundle imports statically (`import … from "./chunk-X.js"`).
 *
 * @example
 * ```ts ignore
 * staticImports('import{a}from"./chunk-X.js"'); // ["chunk-X.js"]
 * ```
 */
export function staticImports(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/(?:from|import)\s*["']\.\/([\w.-]+\.js)["']/g)) {
    found.add(match[1]);
  }
  return [...found].sort();
}

async function shortHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 5), (b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const started = performance.now();
  if (await writeManifest()) console.log(`Wrote ${GENERATED_MANIFEST.pathname}`);
  if (Deno.args.includes("--manifest-only")) Deno.exit(0);
  const at = Deno.args.indexOf("--out-dir");
  const outDir = at === -1 ? undefined : new URL(
    Deno.args[at + 1].replace(/\/?$/, "/"),
    new URL(`file://${Deno.cwd()}/`),
  );
  const result = await build({ outDir });
  const rows = Object.entries(result.manifest.sizes).sort((a, b) => b[1] - a[1]);
  for (const [file, size] of rows) console.log(`${file.padEnd(40)} ${String(size).padStart(8)} B`);
  const kb = (result.totalBytes / 1024).toFixed(1);
  console.log(
    `${rows.length} files, ${kb} KiB minified in total (goal: at most 80 KB), built in ${
      Math.round(performance.now() - started)
    } ms into ${result.outDir.pathname}`,
  );
}
