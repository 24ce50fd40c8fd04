// Heat maps on a narrow screen (sequence page): an attention head's 8 x 8 weights at 6 digits are three columns wide on
// a phone. Where the grid would not fit, its cells show 2 decimals (small cells, short headers) and the panel says so; tapping (or focusing) a cell
// writes its name and every digit under the grid, as hovering does on a desktop (the cell's title).

const NARROW = 600;  // px: the page's phone layout (sequence.css)
const SHORT = 3;

/** The digits a heat map's cells show: `digits`, or SHORT when the grid would be wider than a phone's screen. */
export function heatDigits(panel, digits) {
  return window.innerWidth < NARROW && panel.columns.length > 4 ? Math.min(digits, SHORT) : digits;
}

/** Under a heat map drawn with fewer digits than asked: a note, and a readout of the tapped cell's every digit. */
export function heatReadout(section, panel, digits, values) {
  if (heatDigits(panel, digits) === digits) return;
  const table = section.querySelector("table.heat");
  table.classList.add("heat-narrow");  // small cells (sequence.css), "query 3" and "key 5" headed q3 and k5
  table.querySelectorAll("th").forEach((th) => {
    const short = th.textContent.replace(/^query (\d+)$/, "q$1").replace(/^key (\d+)$/, "k$1");
    if (short !== th.textContent) {
      th.setAttribute("aria-label", th.textContent);
      th.textContent = short;
    }
  });
  table.querySelectorAll("td[data-name]").forEach((td) => {  // 2 decimals (3 digits past 1): at most 5 characters
    const value = values.get(td.dataset.name);
    if (value !== undefined) td.textContent = Math.abs(value) < 1 ? value.toFixed(2) : value.toPrecision(SHORT);
  });
  const note = document.createElement("p");
  note.className = "note heat-note";
  note.textContent = "Shown to 2 decimals to fit the screen (q: query, k: key): tap a cell for all its digits.";
  const readout = document.createElement("p");
  readout.className = "note heat-readout";
  readout.setAttribute("aria-live", "polite");
  section.append(note, readout);
  section.addEventListener("focusin", (event) => {
    const cell = event.target.closest("td[data-name]");
    if (cell && values.has(cell.dataset.name)) readout.textContent = `${cell.dataset.name} = ${values.get(cell.dataset.name)}`;
  });
}
