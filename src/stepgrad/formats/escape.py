r"""Text a user gave (a name, an id, a line of a solution), made safe for the target it is written into.

One function per target, used by every writer: what a user typed shows as text, never as code or markup.

    >>> print(html('<script>alert(1)</script>'))
    &lt;script&gt;alert(1)&lt;/script&gt;
    >>> print(latex(r'\input{/etc/passwd} 50% & #2'))
    \textbackslash{}input\{/etc/passwd\} 50\% \& \#2
    >>> print(markdown('*bold* <b>'))
    \*bold\* \<b\>
    >>> print(python_string("x'" + '"' * 3 + "\nimport os"))
    x\'\"\"\" import os
    >>> terminal('red \x1b[31m!\x1b]0;title\x07')
    'red [31m!]0;title'
"""

from __future__ import annotations

import html as _html
import re

# C0 and C1 control characters but tab and newline: what starts a terminal escape sequence or is not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What XML 1.0 cannot hold at all (besides the controls above).
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                 "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}", "<": "$<$", ">": "$>$", "|": "$|$",
                 '"': "''"}  # < > | in math: the default OT1 text font prints them as other glyphs


def plain(text: str) -> str:
    """One line of printable text: control characters removed, line breaks become spaces."""
    return _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))


def terminal(text: str) -> str:
    """Text for the terminal: no escape sequence survives (ESC and other control characters removed)."""
    return _CONTROL.sub("", text)


def html(text: str) -> str:
    """Text inside HTML (element content or a quoted attribute)."""
    return _html.escape(terminal(text), quote=True)


def xml(text: str) -> str:
    """Text inside XML (element content or an attribute), only characters XML 1.0 allows."""
    return _html.escape(_NOT_XML.sub("", terminal(text)), quote=True)


def markdown(text: str) -> str:
    """One line of Markdown text: every character that starts emphasis, code, a link, a heading or HTML escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|$!&~{}()" else c for c in plain(text))


def latex(text: str) -> str:
    """Text for LaTeX's text mode: every special character escaped, so no input runs a command or reads a file."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in plain(text))


def python_string(text: str) -> str:
    """The inside of a Python string literal (any quotes, docstrings too): escapes, no line breaks."""
    return repr(terminal(text).replace("\n", " "))[1:-1].replace('"', '\\"')
