// The explorer inside a notebook (anywidget: Jupyter, VS Code, marimo). The page's own modules (SOURCES) are
// loaded from blob URLs into the widget's element, and every request they make is answered by the widget's
// Python side (stepgrad.web.widget), which computes with stepgrad's engine in the kernel: no server.
// stepgrad.web.widget puts `const SOURCES = {...}, BODY = "..."` before this file.

const IMPORT = /(from\s+|import\s*\(\s*|import\s+)"\.\/([\w-]+\.js)"/g;

/** Blob URLs of the modules, each one's relative imports pointed at the others' URLs (leaves first). */
function load(sources) {
  const urls = {};
  const pending = new Set(Object.keys(sources));
  while (pending.size) {
    let progressed = false;
    for (const name of [...pending]) {
      const deps = [...sources[name].matchAll(IMPORT)].map((m) => m[2]);
      if (!deps.every((d) => urls[d] || !(d in sources))) continue;
      const code = sources[name].replace(IMPORT, (all, how, d) => (urls[d] ? `${how}"${urls[d]}"` : all));
      urls[name] = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      pending.delete(name);
      progressed = true;
    }
    if (!progressed) throw new Error(`the explorer's modules import each other in a cycle: ${[...pending].join(", ")}`);
  }
  return urls;
}

async function render({ model, el }) {
  el.classList.add("stepgrad-widget");
  el.innerHTML = BODY; // the explorer page's body (stepgrad/web/static/index.html)
  const urls = load(SOURCES);
  const api = await import(urls["api.js"]);
  let last = 0;
  const waiting = new Map();
  const onReply = (msg) => {
    const done = msg && waiting.get(msg.id);
    if (!done) return;
    waiting.delete(msg.id);
    const headers = { "content-type": msg.media };
    if (msg.filename) headers["content-disposition"] = `attachment; filename="${msg.filename}"`;
    done(new Response(msg.body, { status: msg.status, headers }));
  };
  model.on("msg:custom", onReply);
  api.setTransport((method, path, body) => new Promise((resolve) => {
    const id = ++last;
    waiting.set(id, resolve);
    model.send({ id, method, path, body });
  }));
  await import(urls["app.js"]);
  return () => model.off("msg:custom", onReply);
}

export default { render };
