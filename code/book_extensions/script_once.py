"""Sphinx extension: each page loads each script once.

sphinx-thebe 0.3.1 (pulled in by Jupyter Book 1) registers its inline
configuration script while the builder already exists, and Sphinx 7 then
lists it twice (once with the file name None, once with ""); the second copy redeclares ``const THEBE_JS_URL`` and the
browser reports "Identifier 'THEBE_JS_URL' has already been declared" on every
page. This drops exact duplicates (same file or same inline body, same
attributes) from each page's script list, keeping the first.
"""


def _key(script) -> tuple:
    """What makes two scripts the same; an inline one has filename None or "" (both occur)."""
    attributes = getattr(script, "attributes", {})
    return (
        getattr(script, "filename", None) or "",
        getattr(script, "priority", 500),
        tuple(sorted((name, str(value)) for name, value in attributes.items())),
    )


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
