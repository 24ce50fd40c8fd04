// Study mode on the maps page (a conv network) and the sequence page: worked -> faded -> problem for the served
// layer-table network. study.js draws the parts and sends the answers; the server plans and marks them
// (POST /api/study/layers/*, stepgrad.api.study_layer_routes). current() gives {} (the served network), or {spec}
// once a page holds an edited network.

import { setupStudy } from "./study.js";

/** Add the "Study mode" button to this page's header; `current` gives the network's {spec} if the page edited it. */
export function setupLayerStudy(current = () => ({})) {
  const header = document.querySelector("header.maps-top") ? "header.maps-top" : "header.top";
  setupStudy(current, { base: "/api/study/layers", header });
}

setupLayerStudy();
