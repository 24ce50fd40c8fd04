"""The seed deck's label slips: where its formulas name another quantity than the one they compute.

    >>> slip = label_slips("dnet_o2/dout_h1")[0]
    >>> slip.where, slip.writes, slip.means
    ('slide 44 "Calculating the w1 change7", line 492', '= w8 = 0.5', '= w7 = 0.5')

Read off the deck's text (the slides as transcribed; `lines` are lines of that text, `slide` counts
its slide titles, the title slide being 1). The figures of these lines are right; the words are not,
so stepgrad's transcription (examples/seed-deck-solution.txt) files each number under the quantity
it is and says so in a comment. Each slip names the quantity of stepgrad's trace it is about.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelSlip:
    """One label slip: where (slide, its title, lines), the quantity, what the deck writes and what it means."""

    slide: int
    title: str
    lines: tuple[int, ...]
    quantity: str  # stepgrad's name of the quantity these lines compute
    writes: str  # the deck's words, in plain text
    means: str  # what they should read
    why: str = ""

    @property
    def where(self) -> str:
        """'slide 44 "Calculating the w1 change7", line 492'."""
        lines = " and ".join(str(n) for n in self.lines)
        return f'slide {self.slide} "{self.title}", line{"s" if len(self.lines) > 1 else ""} {lines}'

    @property
    def text(self) -> str:
        """One sentence: 'writes "= w8 = 0.5" for "= w7 = 0.5": net_o2's weight from h1 is w7'."""
        return f'writes "{self.writes}" for "{self.means}"' + (f": {self.why}" if self.why else "")


LABEL_SLIPS: tuple[LabelSlip, ...] = (
    LabelSlip(6, "Calculating h_2", (46,), "net_h2", "w3 * i3 + w4 * i4", "w3 * i1 + w4 * i2",
              "the network has two inputs, i1 and i2"),
    LabelSlip(16, "Calculating the w5 change2", (162,), "E_total", "E_total = E_o1 + E_h1 + E_h2",
              "E_total = E_o1 + E_o2", "only output neurons have an error term"),
    LabelSlip(40, "Calculating the w1 change3", (446, 448), "dE_o1/dnet_o1", "dE_o1/dnet_h1", "dE_o1/dnet_o1",
              "the product dE_o1/dout_o1 * dout_o1/dnet_o1 ends at net_o1"),
    LabelSlip(43, "Calculating the w1 change6", (481,), "dE_total/dout_o2", "dE_o2/dout_o1", "dE_o2/dout_o2",
              "E_o2 depends on out_o2 only"),
    LabelSlip(44, "Calculating the w1 change7", (492,), "dnet_o2/dout_h1", "= w8 = 0.5", "= w7 = 0.5",
              "net_o2's weight from h1 is w7 (0.5); w8 is 0.55"),
    LabelSlip(45, "Calculating the w1 change8", (498, 503), "dE_o2/dout_h1",
              "dE_o1/dout_h1 = dE_o1/dnet_h1 * dnet_h1/dout_h1", "dE_o2/dout_h1 = dE_o2/dnet_o2 * dnet_o2/dout_h1",
              "the slide computes the path through o2 (-0.03809823 * 0.5)"),
    LabelSlip(48, "Calculating the w_1 change", (539,), "dnet_h1/dw1", "dnet_h2/dw1", "dnet_h1/dw1",
              "w1 feeds h1; net_h2 does not depend on w1"),
    LabelSlip(50, "Calculating the w2 change", (561,), "dE_total/dw2", "0.03635013 + 0.2413007086 + 0.1",
              "0.03635013 * 0.2413007086 * 0.1", "the chain rule multiplies (the sum would be 0.3776508)"),
    LabelSlip(52, "Calculating the w4 change", (586,), "dE_total/dw4", "0.041369954 + 0.240613417 + 0.1",
              "0.041369954 * 0.240613417 * 0.1", "the chain rule multiplies (the sum would be 0.3819834)"),
)


def label_slips(quantity: str | None = None) -> list[LabelSlip]:
    """The deck's label slips (about `quantity`, when given), in the order of the slides."""
    return [s for s in LABEL_SLIPS if quantity is None or s.quantity == quantity]
