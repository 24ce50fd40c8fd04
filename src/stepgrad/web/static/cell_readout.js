// Every digit of a map cell on a touch screen (maps page): a grid shows 4 digits and a cell's title gives them all on
// hover; a phone has no hover, so tapping a cell (one not opening the Set box) shows its title in a line fixed at the
// bottom of the screen until the next tap elsewhere.

/** Shows the title of a tapped `td[title]` inside `root` at the bottom of the screen. */
export function attachReadout(root) {
  const line = document.createElement("p");
  line.id = "cell-readout";
  line.className = "cell-readout";
  line.setAttribute("aria-live", "polite");
  line.hidden = true;
  document.body.append(line);
  document.addEventListener("click", (event) => {
    const cell = event.target.closest ? event.target.closest("td[title]") : null;
    if (!cell || !root.contains(cell) || cell.dataset.editName) {
      line.hidden = true;
      return;
    }
    line.textContent = cell.title;
    line.hidden = false;
  });
}
