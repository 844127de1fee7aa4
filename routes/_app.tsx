import ConnectionStatus from "../islands/ConnectionStatus.tsx";
import type { AppProps } from "../server/ui/mod.ts";
import type { DashboardState } from "../server/dashboard_state.ts";

/** The page shell: head, header with navigation and the connection indicator, main. */
export default function App(
  { title, url, asset, locked, state, children }: AppProps<DashboardState>,
) {
  const current = (path: string) =>
    (path === "/" ? url.pathname === "/" : url.pathname.startsWith(path)) ? "page" : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · ThreadFlow`}</title>
        <link rel="icon" href={asset("icon.svg")} type="image/svg+xml" />
        <link rel="stylesheet" href={asset("styles.css")} />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">
            <img src={asset("icon.svg")} alt="" width="22" height="22" />
            ThreadFlow
          </a>
          <nav aria-label="Main">
            <a href="/" aria-current={current("/")}>Overview</a>
            <a href="/tasks" aria-current={current("/tasks")}>Tasks</a>
            <a href="/schedules" aria-current={current("/schedules")}>Schedules</a>
            <a href="/types" aria-current={current("/types")}>Types</a>
          </nav>
          <ConnectionStatus locked={locked} authOff={state.authOff} />
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
