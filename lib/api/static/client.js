// Stream a review from the Contract Review Studio API (docs/API.md): `onEvent` gets each event,
// `signal` (an AbortController's) stops reading. With `resume: true` in `body`, a dropped connection
// is picked up with Last-Event-ID: nothing missed or repeated, and the model is not asked again.
export async function streamReview(body, onEvent, { signal, base = "", token } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let lastId = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (lastId) headers["Last-Event-ID"] = lastId;
    try {
      const init = { method: "POST", headers, body: JSON.stringify(body), signal };
      const response = await fetch(`${base}/api/report`, init);
      if (!response.ok) throw Object.assign(new Error((await response.json()).error), { final: true });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop(); // the start of a line whose end is in the next chunk
        for (const line of lines) {
          if (line.startsWith("id:")) lastId = line.slice(3).trim();
          if (!line.startsWith("data:")) continue;
          const event = JSON.parse(line.slice(5));
          onEvent(event);
          if (event.type === "done" || event.type === "error") return event;
        }
      }
      throw new Error("The stream ended before the report did");
    } catch (error) {
      if (error.final || signal?.aborted || !body.resume || !lastId) throw error;
    }
    await new Promise((wake) => setTimeout(wake, 250 * attempt));
  }
  throw new Error("The connection to the API was lost");
}

// Stop a run for good (a client that asked to resume must say so: a dropped connection would not).
export function stopReview(runId, { base = "", token } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return fetch(`${base}/api/runs/${runId}`, { method: "DELETE", headers, keepalive: true });
}
