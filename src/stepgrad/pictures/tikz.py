"""The network as a TikZ picture for the LaTeX problem sheet, and a sheet compiled to PDF by pdflatex.

    >>> import stepgrad
    >>> print(picture(stepgrad.builtin()).splitlines()[0])
    \\begin{tikzpicture}[x=4.2cm, y=1.8cm, >=stealth]

A neuron per circle, a column per layer, every weight written on its edge (placed near the edge's
start so that labels of crossing edges do not meet).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import latex_symbol, layout
from stepgrad.core.spec import Network


def picture(net: Network) -> str:
    """A tikzpicture of the network with its weights (needs \\usepackage{tikz})."""
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    tallest = max(len(group) for group in names.neurons)
    lines = [r"\begin{tikzpicture}[x=4.2cm, y=1.8cm, >=stealth]"]
    for l, group in enumerate(names.neurons):
        offset = (tallest - len(group)) / 2
        for k, neuron in enumerate(group):
            lines.append(rf"\node[circle, draw, minimum size=9mm] ({neuron}) at ({l}, {-(k + offset)}) {{${latex_symbol(neuron)}$}};")
    for l, rows in enumerate(names.weights):
        for j, row in enumerate(rows):
            for i, w in enumerate(row):
                a, b = names.neurons[l][i], names.neurons[l + 1][j]
                value = f"{float(net.weights[l][j, i]):.10g}"
                lines.append(rf"\draw[->] ({a}) -- node[pos=0.25, fill=white, inner sep=1pt, font=\scriptsize] "
                             rf"{{${latex_symbol(w)} = {value}$}} ({b});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


UNTYPESETTABLE = "LaTeX Error: Unicode character"  # pdflatex's error for a character its fonts lack


def pdf(tex: str, target: Path) -> None:
    """Compile a LaTeX document with pdflatex and write the PDF to `target` (one clear error if it fails)."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise StepgradError("PDF sheets need pdflatex (TeX Live); the .tex sheet compiles as it is", where="--pdf")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sheet.tex").write_text(tex, encoding="utf-8")
        # No shell escape, and TeX may read and write only inside the build folder (paranoid mode): whatever text
        # reached the document, compiling it runs no program and discloses no file.
        env = {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}
        proc = subprocess.run([pdflatex, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"],
                              cwd=tmp, capture_output=True, text=True, timeout=120, env=env)
        if proc.returncode != 0:
            error = next((line for line in proc.stdout.splitlines() if line.startswith("!")), "see the .tex file")
            raise StepgradError(f"pdflatex failed: {error}", where=str(target))
        target.write_bytes((Path(tmp) / "sheet.pdf").read_bytes())
