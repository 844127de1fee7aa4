import { formatBytes, hexPreview, previewJson } from "./format.ts";

/** Props of {@linkcode ValueView}. */
export interface ValueViewProps {
  value: unknown;
  /** Accessible name of the block, e.g. "Payload" (it scrolls, so it takes focus). */
  label: string;
}

/**
 * A payload or result: bytes as their size and a hex preview, anything else as
 * pretty JSON.
 *
 * @example
 * ```tsx ignore
 * <ValueView label="Result" value={task.result} />
 * ```
 */
export function ValueView({ value, label }: ValueViewProps) {
  value = jsonBytes(value) ?? value;
  if (value instanceof Uint8Array) {
    return (
      <div class="value">
        <p class="muted">{formatBytes(value.length)} of bytes</p>
        <pre class="code" tabindex={0} role="region" aria-label={`${label}, hex`}>
          {value.length === 0 ? "(empty)" : hexPreview(value)}
        </pre>
      </div>
    );
  }
  if (value === undefined || value === null) {
    return <p class="muted">none</p>;
  }
  return (
    <pre class="code" tabindex={0} role="region" aria-label={`${label} as JSON`}>
      {previewJson(value)}
    </pre>
  );
}

/**
 * Bytes as the HTTP API and text WebSocket frames carry them (`{ "$bytes": "<base64>" }`),
 * decoded; `undefined` for any other value.
 *
 * @example
 * ```ts ignore
 * jsonBytes({ $bytes: "AQI=" }); // Uint8Array [1, 2]
 * ```
 */
export function jsonBytes(value: unknown): Uint8Array | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const keys = Object.keys(value);
  const b64 = (value as { $bytes?: unknown }).$bytes;
  if (keys.length !== 1 || typeof b64 !== "string") return undefined;
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
