"""The course's visual vocabulary for series: colours, markers and line styles.

One place for them, below the modules that draw (:mod:`optlab.plots`, which
builds its figure style on them, and :mod:`optlab.diagrams`).
"""

#: The course's colours, in order: Okabe & Ito's palette for colour-blind
#: readers (blue, orange, bluish green, vermillion, reddish purple, sky blue,
#: black). Every series also gets its own marker and line style
#: (:func:`optlab.plots.series`), so none is told apart by colour alone.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
#: Markers that go with :data:`PALETTE`, so series differ in shape as well as colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Line styles that go with :data:`PALETTE`.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)))
