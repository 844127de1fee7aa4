import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import { collectIslands, islandName, registerIsland } from "../../server/ui/islands.ts";
import { readIslandData } from "../../server/ui/client/boot.ts";
import { serializeProps } from "../../server/ui/shared/props.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";

function Greeting(props: { name: string; bytes?: Uint8Array }) {
  return h("p", { class: "greeting" }, `Hello ${props.name}`);
}
function Outer(props: { label: string }) {
  return h("div", null, props.label, h(Greeting, { name: "inner" }));
}
registerIsland("Greeting", Greeting);
registerIsland("Outer", Outer);

Deno.test("an island renders inside a marker and its props are collected in order", () => {
  const page = h(
    "main",
    null,
    h(Greeting, { name: "Ada" }),
    h("p", null, "static"),
    h(Greeting, { name: "Grace", bytes: new Uint8Array([1]) }),
  );
  const { result, islands } = collectIslands(() => renderToString(page));
  assertEquals(
    result,
    '<main><tf-island data-island="Greeting" data-i="0"><p class="greeting">Hello Ada</p>' +
      '</tf-island><p>static</p><tf-island data-island="Greeting" data-i="1">' +
      '<p class="greeting">Hello Grace</p></tf-island></main>',
  );
  assertEquals(islands, [
    { name: "Greeting", props: { name: "Ada" } },
    { name: "Greeting", props: { name: "Grace", bytes: new Uint8Array([1]) } },
  ]);
});

Deno.test("an island inside an island hydrates with its parent: one marker only", () => {
  const { result, islands } = collectIslands(() => renderToString(h(Outer, { label: "x" })));
  assertEquals(islands.map((i) => i.name), ["Outer"]);
  assertEquals(result.match(/<tf-island/g)?.length, 1);
  assertStringIncludes(result, "Hello inner");
});

Deno.test("outside a page render an island is a plain component", () => {
  assertEquals(
    renderToString(h(Greeting, { name: "plain" })),
    '<p class="greeting">Hello plain</p>',
  );
});

Deno.test("an island given children is refused with its name", () => {
  assertThrows(
    () => collectIslands(() => renderToString(h(Greeting, { name: "x" }, h("b", null)))),
    TypeError,
    "Island Greeting was given children",
  );
});

Deno.test("island names must be PascalCase", () => {
  assertThrows(() => registerIsland("lower", Greeting), TypeError, "PascalCase");
  assertEquals(islandName(Greeting), "Greeting");
});

Deno.test("the browser runtime reads back the island data the server writes", () => {
  const data = { urls: { Greeting: "/islands/Greeting-abc.js" }, props: [{ name: "</script>" }] };
  assertEquals(readIslandData(serializeProps(data)), data);
  assertEquals(readIslandData(null), null);
  assertEquals(readIslandData(""), null);
});
