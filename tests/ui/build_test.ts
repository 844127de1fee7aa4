import {
  build,
  GENERATED_MANIFEST,
  generatedManifest,
  staticImports,
} from "../../scripts/build.ts";
import { manifestSource, scanApp } from "../../server/ui/manifest.ts";
import appManifest from "../../dashboard.gen.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";

const ROOT = new URL("../../", import.meta.url);
const ISLAND_NAMES = (await scanApp(ROOT)).islands;

Deno.test("dashboard.gen.ts is current: every route and island file, nothing else", async () => {
  assertEquals(
    await Deno.readTextFile(GENERATED_MANIFEST),
    await generatedManifest(),
    "dashboard.gen.ts is out of date: run `deno task build`",
  );
  assertEquals(Object.keys(appManifest.islands), ISLAND_NAMES);
  assertEquals(Object.keys(appManifest.routes), (await scanApp(ROOT)).routes);
  assertEquals(appManifest.baseUrl.href, ROOT.href);
});

Deno.test("the manifest source imports each file once, under stable names", () => {
  const text = manifestSource({ routes: ["index.tsx", "a/[id].tsx"], islands: ["Clock"] }, {
    frameworkPath: "./ui/mod.ts",
    stateModule: "./state.ts",
    stateType: "State",
  });
  assertStringIncludes(text, `import * as $route1 from "./routes/a/[id].tsx";`);
  assertStringIncludes(text, `import $island0 from "./islands/Clock.tsx";`);
  assertStringIncludes(text, `const manifest: UiManifest<State> = {`);
  assertStringIncludes(text, `    "a/[id].tsx": $route1,`);
});

Deno.test("build bundles every island with hashed names and a manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-islands-" });
  try {
    const outDir = new URL(`file://${dir}/out/`);
    const { manifest, totalBytes } = await build({ outDir });
    assertEquals(Object.keys(manifest.islands).sort(), [...ISLAND_NAMES].sort());
    assertEquals(Object.keys(manifest.entries), ["socket-worker"]);
    for (const [name, file] of Object.entries(manifest.islands)) {
      assert(new RegExp(`^${name}-[0-9a-f]{10}\\.js$`).test(file), file);
    }
    assert(/^boot-[0-9a-f]{10}\.js$/.test(manifest.boot), manifest.boot);
    const worker = manifest.entries["socket-worker"];
    assert(/^socket-worker-[0-9a-f]{10}\.js$/.test(worker), worker);
    // The worker needs no Preact: what it loads stays small.
    const workerBytes = [worker, ...manifest.imports[worker]]
      .reduce((sum, file) => sum + manifest.sizes[file], 0);
    assert(workerBytes < 5000, `the socket worker loads ${workerBytes} B`);
    const written = [];
    for await (const entry of Deno.readDir(outDir)) written.push(entry.name);
    assertEquals(written.sort(), [...Object.keys(manifest.sizes), "manifest.json"].sort());
    assertEquals(Object.values(manifest.sizes).reduce((a, b) => a + b, 0), totalBytes);
    const onDisk = JSON.parse(await Deno.readTextFile(new URL("manifest.json", outDir)));
    assertEquals(onDisk, manifest);
    // Browser code only: no Deno APIs reached a bundle.
    for (const file of Object.keys(manifest.sizes)) {
      const code = await Deno.readTextFile(new URL(file, outDir));
      assert(!code.includes("Deno."), `${file} uses Deno APIs`);
      for (const dep of manifest.imports[file]) assert(dep in manifest.sizes, `${file} → ${dep}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the build script works from any working directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-islands-cwd-" });
  try {
    const script = new URL("../../scripts/build.ts", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "--out-dir", "built"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(output.success, new TextDecoder().decode(output.stderr));
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/built/manifest.json`));
    assertEquals(Object.keys(manifest.islands).length, ISLAND_NAMES.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("staticImports finds the chunks a bundle imports", () => {
  const code = 'import{a as r}from"./chunk-AB12.js";import"./chunk-CD34.js";import("./x.js")';
  assertEquals(staticImports(code), ["chunk-AB12.js", "chunk-CD34.js"]);
});
