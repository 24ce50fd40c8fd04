"""MkDocs hook: the command reference shows each command's `\\b` example block as click prints it.

mkdocs-click copies a command's help into the page as Markdown, where click's `\\b` (keep these lines
as they are) means nothing and the examples run together into one paragraph. This Markdown
preprocessor, run after mkdocs-click's, turns each such block, and the indented lines after an
`Example:` line, into a code block.
"""

from __future__ import annotations

import re

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

NO_REWRAP = "\b"
EXAMPLE_HEADING = re.compile(r"^Examples?:$")


class ClickExamples(Preprocessor):
    """`\\b` blocks, and `Example:` followed by indented lines, become fenced code blocks."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            follows_indented = i + 1 < len(lines) and lines[i + 1].startswith("  ")
            if line.strip() == NO_REWRAP or (EXAMPLE_HEADING.match(line) and follows_indented):
                start = i + 1 if line.strip() == NO_REWRAP else i
                end = start
                while end < len(lines) and lines[end].strip():  # the block ends at a blank line
                    end += 1
                block = lines[start:end]
                heading = [block.pop(0), ""] if block and EXAMPLE_HEADING.match(block[0]) else []
                out += [*heading, "```text", *block, "```", ""]
                i = end
            else:
                out.append(line)
                i += 1
        return out


class ClickExamplesExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.register(ClickExamples(md), "click_examples", 140)  # just after mkdocs-click (141)


def on_config(config):  # type: ignore[no-untyped-def]
    """Add the preprocessor to the site's Markdown extensions."""
    config.markdown_extensions.append(ClickExamplesExtension())
    return config
