import { build, staticImports } from "../../scripts/build.ts";
import { ISLAND_NAMES } from "../../server/ui/island_registry.ts";
import { assert, assertEquals } from "./_assert.ts";

Deno.test("build bundles every island with hashed names and a manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-islands-" });
  try {
    const outDir = new URL(`file://${dir}/out/`);
    const { manifest, totalBytes } = await build({ outDir });
    assertEquals(Object.keys(manifest.islands).sort(), [...ISLAND_NAMES].sort());
    for (const [name, file] of Object.entries(manifest.islands)) {
      assert(new RegExp(`^${name}-[0-9a-f]{10}\\.js$`).test(file), file);
    }
    assert(/^boot-[0-9a-f]{10}\.js$/.test(manifest.boot), manifest.boot);
    assert(/^socket-worker-[0-9a-f]{10}\.js$/.test(manifest.worker), manifest.worker);
    // The worker needs no Preact: what it loads stays small.
    const workerBytes = [manifest.worker, ...manifest.imports[manifest.worker]]
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
