// Study mode on the maps page (a conv network) and the sequence page: worked -> faded -> problem for the network on
// the page. study.js draws the parts and sends the answers; the server plans and marks them (POST
// /api/study/layers/*, stepgrad.api.study_layer_routes). Without an edited network the server studies the one it
// serves; the Edit and train panel (layer_edit.js) calls setStudyNetwork(() => ({ state })) and study mode walks
// the network as edited on the page.

import { setupStudy } from "./study.js";

let pageNetwork = () => ({}); // {}: the served network

/** Study the page's own (edited) network: `network()` gives {state} (web/layer_state.py) or {spec} (a whole
 *  layer-table spec), or {} for the served network. */
export function setStudyNetwork(network) { pageNetwork = network; }

const header = document.querySelector("header.maps-top") ? "header.maps-top" : "header.top";
setupStudy(() => pageNetwork(), { base: "/api/study/layers", header });
