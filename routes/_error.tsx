import type { ErrorPageProps } from "../server/ui/mod.ts";

/** Why a page could not be shown: a token is needed, ThreadFlow is unavailable, or a bug. */
export default function ErrorPage({ status, message }: ErrorPageProps) {
  if (status === 401) {
    return (
      <section class="panel locked">
        <h1>Token required</h1>
        <p>
          This ThreadFlow asks for an API token. Enter it in the box at the top; it is kept for this
          browser tab only. (This needs JavaScript.)
        </p>
      </section>
    );
  }
  return (
    <section class="panel">
      <h1>{status === 503 ? "ThreadFlow is unavailable" : "This page failed"}</h1>
      <p>
        {status === 503
          ? `${message ?? ""} Try again in a moment.`.trim()
          : "The server could not render this page; the error is in its log."}
      </p>
    </section>
  );
}
