import { useState } from "preact/hooks";
import { formatClock } from "./format.ts";

/** One line of a {@linkcode LineChart}. */
export interface ChartSeries {
  /** Legend text, e.g. "wait p95". */
  label: string;
  /** Class that colours the line (and dashes it, so colour is not the only cue). */
  className: string;
  values: (number | null)[];
}

/** Props of {@linkcode LineChart}. */
export interface LineChartProps {
  title: string;
  /** Start of each step, ms since epoch, ascending; one per value of each series. */
  times: number[];
  /** Length of one step, ms. */
  stepMs: number;
  /** Time span the x axis shows, ending where the last step ends. */
  windowMs: number;
  series: ChartSeries[];
  formatValue: (value: number) => string;
  /** Index of the step the reader points at, or `null` for the latest values. */
  cursor: number | null;
  /** Moves the cursor (pointer or arrow keys); without it the chart is static. */
  onCursor?: (index: number | null) => void;
  /** More to say about a step in the readout, e.g. the depth per priority. */
  detail?: (index: number) => string;
  /** Smallest top of the value axis; default 1 (2 for counts, so the middle tick is whole). */
  minTop?: number;
}

const WIDTH = 600;
const HEIGHT = 150;
const PAD_TOP = 6;

/**
 * An SVG line chart with axes: time ticks below (minutes before now), value
 * ticks left, one path per series scaled to the largest value shown. Pointing
 * at it (or the arrow keys, once focused) reads the values of a step in the
 * line above the plot; otherwise that line gives the latest values. No
 * library, and no inline styles (the CSP forbids them): labels are laid out
 * by CSS.
 *
 * @example
 * ```tsx ignore
 * <LineChart title="Throughput" times={[0, 1000]} stepMs={1000} windowMs={300_000}
 *   series={[{ label: "tasks/s", className: "s1", values: [3, 5] }]}
 *   formatValue={String} cursor={null} />
 * ```
 */
export function LineChart(props: LineChartProps) {
  const { times, series, windowMs, stepMs } = props;
  const end = (times.at(-1) ?? 0) + stepMs;
  const start = end - windowMs;
  let max = 0;
  for (const s of series) {
    for (const v of s.values) if (v !== null && v > max) max = v;
  }
  const top = Math.max(props.minTop ?? 1, niceCeiling(max));
  const x = (t: number) => ((t + stepMs - start) / windowMs) * WIDTH;
  const y = (v: number) => HEIGHT - (v / top) * (HEIGHT - PAD_TOP);
  const ticks = timeTicks(windowMs);
  const latest = Math.max(...series.map((s) => s.values.findLastIndex((v) => v !== null)));
  const at = props.cursor ?? (latest >= 0 ? latest : null);
  const readout = at === null ? "no data yet" : [
    `${props.cursor === null ? "latest, " : ""}${formatClock(times[at])}`,
    ...series.map((s) => {
      const v = s.values[at];
      return `${s.label} ${v === null || v === undefined ? "–" : props.formatValue(v)}`;
    }),
    ...(props.detail ? [props.detail(at)] : []),
  ].filter(Boolean).join(" · ");
  const span = spanLabel(windowMs);
  const move = props.onCursor;
  // Only the chart being read with the keyboard speaks its readout, not every chart each second.
  const [focused, setFocused] = useState(false);

  function onPointer(event: PointerEvent) {
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    const t = start + ((event.clientX - box.left) / box.width) * windowMs - stepMs;
    move?.(nearestIndex(times, t));
  }
  function onKey(event: KeyboardEvent) {
    if (!move || times.length === 0) return;
    const from = props.cursor ?? times.length - 1;
    const next = event.key === "ArrowLeft"
      ? Math.max(0, from - 1)
      : event.key === "ArrowRight"
      ? Math.min(times.length - 1, from + 1)
      : event.key === "Home"
      ? 0
      : event.key === "End"
      ? times.length - 1
      : event.key === "Escape"
      ? null
      : undefined;
    if (next === undefined) return;
    event.preventDefault();
    move(next);
  }

  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{props.title}</span>
        <span class="legend">
          {series.map((s) => (
            <span key={s.label} class={`legend-item ${s.className}`}>
              <svg width="18" height="8" aria-hidden="true">
                <line x1="0" y1="4" x2="18" y2="4" />
              </svg>
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <p class="chart-readout" aria-live={focused ? "polite" : "off"}>{readout}</p>
      <div class="chart-body">
        <div class="chart-y" aria-hidden="true">
          <span>{props.formatValue(top)}</span>
          <span>{props.formatValue(top / 2)}</span>
          <span>0</span>
        </div>
        <div
          class="chart-plot"
          tabindex={move ? 0 : undefined}
          role="img"
          aria-label={`${props.title} over the last ${span}. ${readout}.` +
            (move ? " Arrow keys move through the steps." : "")}
          onPointerMove={move ? onPointer : undefined}
          onPointerDown={move ? onPointer : undefined}
          onPointerLeave={move ? () => move(null) : undefined}
          onKeyDown={move ? onKey : undefined}
          onFocus={move ? () => setFocused(true) : undefined}
          onBlur={move ? () => setFocused(false) : undefined}
        >
          <svg
            class="chart-svg"
            viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
            preserveAspectRatio="none"
            aria-hidden="true"
          >
            {[0.5, 1].map((f) => (
              <line key={f} class="grid" x1="0" x2={WIDTH} y1={y(top * f)} y2={y(top * f)} />
            ))}
            {ticks.slice(1, -1).map((tick) => (
              <line
                key={tick.ms}
                class="grid"
                x1={WIDTH * (1 - tick.ms / windowMs)}
                x2={WIDTH * (1 - tick.ms / windowMs)}
                y1="0"
                y2={HEIGHT}
              />
            ))}
            <line class="axis" x1="0" x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} />
            {series.map((s) => (
              <path
                key={s.label}
                class={`line ${s.className}`}
                d={linePath(times, s.values, x, y)}
              />
            ))}
            {at !== null && (
              <line class="cursor" x1={x(times[at])} x2={x(times[at])} y1="0" y2={HEIGHT} />
            )}
            {at !== null && series.map((s) =>
              s.values[at] === null || s.values[at] === undefined ? null : (
                // A zero-length round-capped stroke stays a circle however the chart is stretched.
                <path
                  key={`${s.label}-dot`}
                  class={`dot ${s.className}`}
                  d={`M${x(times[at]).toFixed(1)} ${y(s.values[at]!).toFixed(1)}h0`}
                />
              )
            )}
          </svg>
        </div>
        <div class="chart-x" aria-hidden="true">
          {ticks.map((tick) => <span key={tick.ms}>{tick.label}</span>)}
        </div>
      </div>
    </figure>
  );
}

/**
 * The index in `times` nearest to `t`, or `null` when there are none.
 *
 * @example
 * ```ts ignore
 * nearestIndex([0, 1000, 2000], 1400); // 1
 * ```
 */
export function nearestIndex(times: number[], t: number): number | null {
  if (times.length === 0) return null;
  let best = 0;
  for (let i = 1; i < times.length; i++) {
    if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
  }
  return best;
}

/**
 * The time axis ticks of a window: evenly spaced, from the window's start
 * (`−5 min`) to `now`, at most six, so they fit a chart 250 px wide.
 *
 * @example
 * ```ts ignore
 * timeTicks(300_000).map((t) => t.label); // ["−5 min", "−4 min", …, "now"]
 * ```
 */
export function timeTicks(windowMs: number): { ms: number; label: string }[] {
  const every = [60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000]
    .find((ms) => windowMs / ms <= 5) ?? windowMs;
  const ticks: { ms: number; label: string }[] = [];
  for (let ms = Math.floor(windowMs / every) * every; ms > 0; ms -= every) {
    ticks.push({ ms, label: `−${spanLabel(ms)}` });
  }
  ticks.push({ ms: 0, label: "now" });
  return ticks;
}

/**
 * A time span as the axis names it: `45 s`, `5 min`, `1 h`.
 *
 * @example
 * ```ts ignore
 * spanLabel(300_000); // "5 min"
 * ```
 */
export function spanLabel(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * The SVG path through the points, broken where a value is missing.
 *
 * @example
 * ```ts ignore
 * linePath([0, 1], [2, null], (t) => t, (v) => v); // "M0.0 2.0"
 * ```
 */
export function linePath(
  times: number[],
  values: (number | null)[],
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  let d = "";
  let penDown = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || times[i] === undefined) {
      penDown = false;
      continue;
    }
    d += `${penDown ? "L" : "M"}${x(times[i]).toFixed(1)} ${y(v).toFixed(1)}`;
    penDown = true;
  }
  return d;
}

/**
 * The smallest of 1, 2, 5 × 10^n that is at least `value` (and at least 1).
 *
 * @example
 * ```ts ignore
 * niceCeiling(420); // 500
 * ```
 */
export function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}
