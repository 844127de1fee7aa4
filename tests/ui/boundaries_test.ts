import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** Every relative import of the `.ts`/`.tsx` files under `folder`, from the repository root. */
async function importsUnder(folder: string): Promise<{ file: string; target: string }[]> {
  const found: { file: string; target: string }[] = [];
  async function walk(dir: URL): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (/\.tsx?$/.test(entry.name)) {
        // Code only: doc comments show imports in their examples.
        const text = (await Deno.readTextFile(url))
          .replace(/\/\*[\s\S]*?\*\//g, "")
          .replace(/^\s*\/\/.*$/gm, "");
        for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)) {
          const target = new URL(match[1], url).href.slice(ROOT.href.length);
          found.push({ file: url.href.slice(ROOT.href.length), target });
        }
      }
    }
  }
  await walk(new URL(folder, ROOT));
  return found;
}

Deno.test("the framework (server/ui/) imports no file of the app", async () => {
  const outside = (await importsUnder("server/ui/"))
    .filter(({ target }) => !target.startsWith("server/ui/"));
  assertEquals(outside, []);
});

Deno.test("components/ import neither islands/ nor the server", async () => {
  const wrong = (await importsUnder("components/"))
    .filter(({ target }) => target.startsWith("islands/") || target.startsWith("server/"));
  assertEquals(wrong, []);
});

Deno.test("islands import nothing that runs only on the server", async () => {
  const wrong = (await importsUnder("islands/"))
    .filter(({ target }) => target.startsWith("server/") || target.startsWith("routes/"));
  assertEquals(wrong, []);
});
