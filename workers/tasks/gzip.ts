/**
 * Gzips `data` (text) or a byte payload with `CompressionStream`. Bytes in,
 * bytes out; text in, `{ inputBytes, outputBytes }` out.
 */
export default async function gzip(
  payload: unknown,
): Promise<Uint8Array | { inputBytes: number; outputBytes: number }> {
  const input = payload instanceof Uint8Array ? payload : readText(payload);
  const stream = new Blob([new Uint8Array(input)]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  const output = new Uint8Array(await new Response(stream).arrayBuffer());
  if (payload instanceof Uint8Array) return output;
  return { inputBytes: input.byteLength, outputBytes: output.byteLength };
}

function readText(payload: unknown): Uint8Array {
  const data = (payload as { data?: unknown } | null)?.data;
  if (typeof data !== "string") {
    throw new TypeError("Payload must be bytes, or an object with data (a string).");
  }
  return new TextEncoder().encode(data);
}
