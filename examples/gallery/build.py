"""Build the gallery: every spec of examples/gallery (and the seed deck) in every format, into a folder.

    make gallery                                   # = python examples/gallery/build.py gallery
    python examples/gallery/build.py OUT [--no-pdf]

For each network NAME: OUT/NAME/step.txt (80 columns), step.md (+ step.svg), step.tex and step.pdf
(the article), slides.tex and slides.pdf (Beamer; a summary beyond 40 weights), slides-all.tex (every
derivation), step.html and step.json. PDFs are built as documented, pdflatex twice, when pdflatex is
installed. OUT/index.md links every page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import stepgrad
from stepgrad.api import explain_document
from stepgrad.formats import render

HERE = Path(__file__).parent


def _pdf(tex: Path) -> Path | None:
    """pdflatex twice (the second run settles the page counter); the PDF, or None without pdflatex."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return None
    for _ in range(2):
        subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tex.parent,
                       check=True, capture_output=True, timeout=600)
    return tex.with_suffix(".pdf")


def build(spec: Path | None, out: Path, pdf: bool = True) -> list[Path]:
    """Every format of one network into `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    source = str(spec) if spec else None
    net = stepgrad.load(source) if source else stepgrad.builtin()
    trace = stepgrad.explain(net)
    files = {
        "step.txt": render(trace, "text", width=80),
        "step.tex": render(trace, "latex"),
        "slides.tex": render(trace, "slides"),
        "slides-all.tex": render(trace, "slides", full=True),
        "step.html": render(trace, "html"),
        "step.json": render(trace, "json"),
    }
    written = []
    for name, text in files.items():
        (out / name).write_text(text)
        written.append(out / name)
    markdown = out / "step.md"
    markdown.write_text(explain_document(source, fmt="markdown", output=str(markdown)))
    written += [markdown, out / "step.svg"]
    if pdf:
        for tex in ("step.tex", "slides.tex"):
            made = _pdf(out / tex)
            if made:
                written.append(made)
    return written


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    out = Path(argv[0])
    pdf = "--no-pdf" not in argv
    specs: list[tuple[str, Path | None]] = [("deck", None)] + [(p.stem, p) for p in sorted(HERE.glob("*.toml"))]
    index = ["# The stepgrad gallery", "", "One training step of each network, in every format.", ""]
    for name, spec in specs:
        files = build(spec, out / name, pdf)
        index.append(f"- **{name}**: " + ", ".join(f"[{f.name}]({name}/{f.name})" for f in files))
        print(f"{name}: {len(files)} files")
    (out / "index.md").write_text("\n".join(index) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
