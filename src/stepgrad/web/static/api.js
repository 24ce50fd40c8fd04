// The JSON API (see docs/readme/serve.md): every error arrives as {"error": "...", "field": "..."}.

export class ApiError extends Error {
  constructor(message, field = null, status = 0) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

// Where requests go: `stepgrad serve` over HTTP, unless a host (the notebook widget, widget.js) answers them
// itself: transport(method, path, body) gives a Response.
let transport = null;
export function setTransport(answer) { transport = answer; }
/** Whether a host other than `stepgrad serve` answers (the notebook widget): it has no study mode. */
export function hosted() { return transport !== null; }

async function check(response) {
  if (response.ok) return response;
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `${response.status} ${response.statusText}` };
  }
  throw new ApiError(data.error || `request failed (${response.status})`, data.field || null, response.status);
}

/** POST a JSON body; the Response, or an ApiError carrying the server's message and field.
 *  `signal` (an AbortController's) cancels the request: the server sees the disconnect and stops the work. */
export async function post(path, body, signal = undefined) {
  if (transport) return check(await transport("POST", path, body));
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`cannot reach the stepgrad server (${err.message}); is \`stepgrad serve\` still running?`);
  }
  return check(response);
}

export async function postJSON(path, body, signal = undefined) {
  return (await post(path, body, signal)).json();
}

export async function getJSON(path) {
  if (transport) return (await check(await transport("GET", path, null))).json();
  let response;
  try {
    response = await fetch(path);
  } catch (err) {
    throw new ApiError(`cannot reach the stepgrad server (${err.message})`);
  }
  return (await check(response)).json();
}
