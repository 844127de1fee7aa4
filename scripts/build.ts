/**
 * Builds the island bundles: every `islands/<Name>.tsx` plus the island
 * runtime and the socket worker, bundled for the browser by `deno bundle` with code splitting (so
 * Preact and the live state are loaded once, in shared chunks), minified, with
 * content hashes in every file name, and a `manifest.json` the server reads.
 *
 * Paths come from `import.meta.url`, so it builds the same from any working
 * directory. Run with `deno task build` (`--out-dir <dir>` to write elsewhere).
 *
 * @module
 */

/** The repository root. */
const ROOT = new URL("../", import.meta.url);

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
    /** The socket worker's bundle. */
    worker: string;
    imports: Record<string, string[]>;
    sizes: Record<string, number>;
  };
  /** Sum of all files' sizes, bytes. */
  totalBytes: number;
}

/**
 * Island names: the `.tsx` files directly in `islands/` whose names do not
 * start with `_`.
 *
 * @example
 * ```ts ignore
 * await findIslands(); // ["ConnectionStatus", "LiveCounters", ...]
 * ```
 */
export async function findIslands(islandsDir = new URL("islands/", ROOT)): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(islandsDir)) {
    if (entry.isFile && entry.name.endsWith(".tsx") && !entry.name.startsWith("_")) {
      names.push(entry.name.slice(0, -4));
    }
  }
  return names.sort();
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
    const names = await findIslands();
    const entries = [
      ...names.map((name) => new URL(`islands/${name}.tsx`, ROOT).pathname),
      new URL("islands/_boot.ts", ROOT).pathname,
      new URL("islands/_socket_worker.ts", ROOT).pathname,
    ];
    const args = [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      "--code-splitting",
      `--config=${new URL("deno.json", ROOT).pathname}`,
      `--outdir=${tmp}`,
      ...(options.minify === false ? [] : ["--minify"]),
      ...entries,
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

    const manifest: BuildResult["manifest"] = {
      islands: {},
      boot: "",
      worker: "",
      imports: {},
      sizes: {},
    };
    const runtime: Record<string, string> = { _boot: "boot", _socket_worker: "socket-worker" };
    for (const name of [...names, ...Object.keys(runtime)]) {
      const bytes = await Deno.readFile(`${tmp}/${name}.js`);
      const file = `${runtime[name] ?? name}-${await shortHash(bytes)}.js`;
      await Deno.rename(`${tmp}/${name}.js`, `${tmp}/${file}`);
      if (name === "_boot") manifest.boot = file;
      else if (name === "_socket_worker") manifest.worker = file;
      else manifest.islands[name] = file;
    }
    let totalBytes = 0;
    for await (const entry of Deno.readDir(tmp)) {
      if (!entry.isFile || !entry.name.endsWith(".js")) continue;
      const text = await Deno.readTextFile(`${tmp}/${entry.name}`);
      const size = new TextEncoder().encode(text).length;
      manifest.sizes[entry.name] = size;
      manifest.imports[entry.name] = staticImports(text);
      totalBytes += size;
    }
    await Deno.writeTextFile(`${tmp}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
    await replaceDir(tmp, outDir);
    return { outDir, manifest, totalBytes };
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
    throw error;
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
    `${rows.length} files, ${kb} KiB minified in total (goal: under 60 KB), built in ${
      Math.round(performance.now() - started)
    } ms into ${result.outDir.pathname}`,
  );
}
