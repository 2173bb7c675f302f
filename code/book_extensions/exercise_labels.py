"""Sphinx extension: every exercise's title shows its label next to its number.

sphinx-exercise titles an exercise "Exercise 22 (Adam by hand)"; the label
(``adam-by-hand``), which the instructors' guide and the plans use to name
exercises, appears only in the page's anchor. This adds it to the title as
inline code, "Exercise 22 (Adam by hand) · ``adam-by-hand``", so a reader can
find an exercise by the name the guide gives it (Ctrl+F on the page, or the
site's search). tools/editions.py writes the same title in the notebook
edition.
"""

from docutils import nodes
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node

#: The class of the label's element in the title (narrow_screens.css styles it).
CLASS = "exercise-label"


def add_labels(app, doctree, docname) -> None:
    """After sphinx-exercise has resolved its titles: append each exercise's label to its title."""
    for node in doctree.findall(lambda n: isinstance(n, (exercise_enumerable_node, exercise_node))):
        label = node.get("label")
        title = node.children[0] if node.children else None
        if not label or not isinstance(title, nodes.title):
            raise ValueError(f"{docname}: an exercise without a label or a title ({node.get('ids')})")
        if any(CLASS in child.get("classes", []) for child in title.findall(nodes.literal)):
            continue
        title += nodes.Text(" · ")
        title += nodes.literal(label, label, classes=[CLASS])


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.connect("doctree-resolved", add_labels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
