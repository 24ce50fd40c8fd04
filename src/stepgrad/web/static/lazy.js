// Render what is visible: a big network's matrix form comes with its first blocks drawn and the others as
// headings (section[data-lazy], see stepgrad.web.views); each of those is asked for and drawn only when it
// comes near the view, so the page never lays out ~900 kB of MathML at once.

const NEAR = "400px"; // a block is asked for when it is this close to the view

/** Put `html` (the server's, escaped by its writers) into `out`; `fetchBlock(key)` gives a block's html. */
export function showLazily(out, html, fetchBlock) {
  out.innerHTML = html;
  const waiting = out.querySelectorAll("section[data-lazy]");
  if (!waiting.length) return;
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const holder = entry.target;
      observer.unobserve(holder);
      fetchBlock(holder.dataset.block).then((block) => {
        const template = document.createElement("template");
        template.innerHTML = block; // the whole fragment with only this block drawn
        const section = template.content.querySelector(`section[data-block="${CSS.escape(holder.dataset.block)}"]`);
        if (section && holder.isConnected) holder.replaceWith(section);
      }, (err) => { holder.append(Object.assign(document.createElement("p"), { className: "note", textContent: err.message })); });
    }
  }, { rootMargin: NEAR });
  for (const holder of waiting) {
    // about the height the block will take (an entry is ~1.6 rem in its matrix's column), so the scrollbar is honest
    holder.style.minHeight = `${Math.min(4000, 60 + Number(holder.dataset.lazy) * 1.2)}px`;
    holder.append(Object.assign(document.createElement("p"), { className: "note", textContent: "drawn when scrolled to …" }));
    observer.observe(holder);
  }
}
