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
  unit: string;
  /** Sample times, ms since epoch, ascending; one per value of each series. */
  times: number[];
  series: ChartSeries[];
  /** Time span the x axis shows, ending at the last sample. */
  windowMs: number;
  formatValue: (value: number) => string;
}

const WIDTH = 600;
const HEIGHT = 150;
const PAD_TOP = 8;
/** Room right of the newest point, so its dot is not cut by the edge. */
const PAD_RIGHT = 8;

/**
 * A small SVG line chart: no library, one path per series, scaled to the
 * largest value shown. Its text alternative states the latest values.
 *
 * @example
 * ```tsx ignore
 * <LineChart title="Throughput" unit="tasks/s" times={[0, 1000]} windowMs={300_000}
 *   series={[{ label: "tasks/s", className: "s1", values: [3, 5] }]} formatValue={String} />
 * ```
 */
export function LineChart(props: LineChartProps) {
  const { times, series, windowMs } = props;
  const end = times.at(-1) ?? 0;
  const start = end - windowMs;
  let max = 0;
  for (const s of series) {
    for (const v of s.values) if (v !== null && v > max) max = v;
  }
  const top = niceCeiling(max);
  const x = (t: number) => ((t - start) / windowMs) * (WIDTH - PAD_RIGHT);
  const y = (v: number) => HEIGHT - (v / top) * (HEIGHT - PAD_TOP);
  const summary = series
    .map((s) => {
      const last = s.values.findLast((v) => v !== null);
      return `${s.label} ${
        last === undefined || last === null ? "no data" : props.formatValue(last)
      }`;
    })
    .join(", ");
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
      <svg
        class="chart-svg"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${props.title}, last ${spanLabel(windowMs)}: ${summary}`}
      >
        <line class="grid" x1="0" x2={WIDTH} y1={y(top / 2)} y2={y(top / 2)} />
        <line class="axis" x1="0" x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} />
        {series.map((s) => (
          <path key={s.label} class={`line ${s.className}`} d={linePath(times, s.values, x, y)} />
        ))}
        {series.map((s) => {
          const i = s.values.findLastIndex((v) => v !== null);
          return i === -1 ? null : (
            // A zero-length round-capped stroke stays a circle however the chart is stretched.
            <path
              key={`${s.label}-last`}
              class={`dot ${s.className}`}
              d={`M${x(times[i]).toFixed(1)} ${y(s.values[i]!).toFixed(1)}h0`}
            />
          );
        })}
      </svg>
      <div class="chart-scale" aria-hidden="true">
        <span>{spanLabel(windowMs)} ago</span>
        <span>
          max {props.formatValue(top)} {props.unit}
        </span>
        <span>now</span>
      </div>
    </figure>
  );
}

/**
 * A time span as the axis names it: `45 s`, `5 min`.
 *
 * @example
 * ```ts ignore
 * spanLabel(300_000); // "5 min"
 * ```
 */
export function spanLabel(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
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
