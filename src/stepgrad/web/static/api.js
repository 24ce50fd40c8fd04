// The JSON API (see docs/readme/serve.md): every error arrives as {"error": "...", "field": "..."}.

export class ApiError extends Error {
  constructor(message, field = null, status = 0) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

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
  let response;
  try {
    response = await fetch(path);
  } catch (err) {
    throw new ApiError(`cannot reach the stepgrad server (${err.message})`);
  }
  return (await check(response)).json();
}
