// The explorer as a static site (`stepgrad site -o DIR`, stepgrad.web.site): the page's requests are answered
// from files of precomputed answers (site.json, answers/*.json) instead of a server. A request that was not
// precomputed (an edited network, training, other digits) is refused in one line that names `stepgrad serve`.

import { setTransport } from "./api.js";

const index = await (await fetch("site.json")).json();
const files = new Map(); // network file -> its answers, fetched when first needed

const reply = (status, body, media = "application/json") => new Response(body, { status, headers: { "content-type": media } });
const refuse = (what) => reply(501, JSON.stringify({
  error: `${what} needs stepgrad running in Python: this static copy has only the precomputed steps of the bundled `
    + "networks as shipped (pip install 'stepgrad[web]', then stepgrad serve)", field: null }));

/** A request's key: its fields but the spec, sorted (stepgrad.web.site.key builds the same). */
const keyOf = (body) => JSON.stringify(Object.keys(body).filter((k) => k !== "spec").sort().map((k) => [k, body[k]]));

setTransport(async (method, path, body) => {
  if (method === "GET" && path.startsWith("/api/network")) {
    const name = new URLSearchParams(path.split("?")[1] || "").get("builtin");
    const net = name === null ? index.networks[0] : index.networks.find((n) => n.name === name);
    return net ? reply(200, JSON.stringify(net.network)) : reply(404, JSON.stringify({ error: `no network named ${name} here`, field: "builtin" }));
  }
  if (path === "/api/train") return refuse("this"); // the page says "training: " before it
  if (path === "/api/export") return refuse("downloading");
  const spec = JSON.stringify(body.spec);
  const net = index.networks.find((n) => JSON.stringify(n.network.spec) === spec);
  if (!net) return refuse("an edited network");
  if (!files.has(net.file)) files.set(net.file, fetch(net.file).then((r) => r.json()));
  const found = (await files.get(net.file))[keyOf(body)];
  if (!found) return refuse(body.view === "graph" ? "the computation graph" : "this choice (other digits, grouping or formulas)");
  return reply(found.status, found.body, found.media);
});

await import("./app.js");
