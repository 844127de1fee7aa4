import { useEffect, useState } from "preact/hooks";
import { authRequired, setToken } from "./_client/api.ts";
import { connection, reconnectNow, retryInMs, startLive } from "./_client/live.ts";

/** Props of {@linkcode ConnectionStatus}. */
export interface ConnectionStatusProps {
  /** The page was rendered without data because the server wants a token. */
  locked?: boolean;
  /** The service runs without a token: say so, discreetly. */
  authOff?: boolean;
}

const LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
  unauthorized: "Token required",
  offline: "Static page",
};

/**
 * The live-connection indicator in the header; asks for the API token when the
 * server wants one.
 */
export default function ConnectionStatus(
  { locked = false, authOff = false }: ConnectionStatusProps,
) {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => {
    setHydrated(true);
    if (locked) authRequired.value = true;
    startLive();
  }, []);
  // Before hydration (or with JavaScript off) the page is static: say so.
  const state = hydrated ? connection.value : "offline";
  const needsToken = hydrated && (authRequired.value || state === "unauthorized");
  const retry = retryInMs.value;

  function onSubmit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const token = String(new FormData(form).get("token") ?? "").trim();
    if (!token) return;
    setToken(token);
    if (locked) location.reload();
    else reconnectNow();
  }

  return (
    <div class="connection">
      {authOff && (
        <span class="auth-off">
          auth off<span class="sr-only">: this service takes requests without a token</span>
        </span>
      )}
      <span
        class={`conn conn-${needsToken ? "unauthorized" : state}`}
        role="status"
        data-state={state}
      >
        <span class="conn-dot" aria-hidden="true" />
        {needsToken ? LABELS.unauthorized : LABELS[state]}
        {state === "reconnecting" && retry > 0 ? ` in ${Math.ceil(retry / 1000)} s` : ""}
      </span>
      {state === "reconnecting" && (
        <button
          type="button"
          class="link-button"
          onClick={() => reconnectNow()}
        >
          Retry now
        </button>
      )}
      {needsToken && (
        <form class="token-form" onSubmit={onSubmit}>
          <label for="tf-token">API token</label>
          <input
            id="tf-token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
          />
          <button type="submit">Unlock</button>
        </form>
      )}
    </div>
  );
}
