// Study mode on the maps page (a conv network) and the sequence page: worked -> faded -> problem for the network on
// the page. study.js draws the parts and sends the answers; the server plans and marks them (POST
// /api/study/layers/*, stepgrad.api.study_layer_routes). Without an edited network the server studies the one it
// serves; a page that edits its network calls setStudyNetwork(() => spec) and study mode walks that one instead.

import { setupStudy } from "./study.js";

let pageSpec = () => undefined; // undefined: the served network (JSON.stringify leaves the field out)

/** Study the page's own (edited) network: `spec()` gives its layer-table spec as a JSON object, or undefined. */
export function setStudyNetwork(spec) { pageSpec = spec; }

const header = document.querySelector("header.maps-top") ? "header.maps-top" : "header.top";
setupStudy(() => ({ spec: pageSpec() }), { base: "/api/study/layers", header });
