"""Babel extractor for the translatable words of the package data (legend class labels, table and layer titles).

The data tables under ``openldn/data`` are YAML files; the words a reader sees (the class labels of a legend, the name
of a legend or an LPD table, the short titles of the map layers, the human names of the run's tables, the process
labels of the transition matrix) are messages of the ``openldn`` catalogue like any string of the code, translated
where they are shown (``_(legend_class.label)``). This module finds them for ``pybabel extract``; ``babel.cfg``
registers it::

    [extractors]
    openldn_data = openldn.i18n.extract:extract_yaml

    [openldn_data: **.yaml]

Which keys hold words is declared here once (:data:`TEXT_KEYS`, :data:`TEXT_TREES`); files that carry their own
translations or only names of products (:data:`SKIPPED`) are left out.

Examples
--------
>>> import io
>>> doc = io.BytesIO(b"name: Land productivity dynamics\\nclasses:\\n  - {code: 1, label: Declining}\\n")
>>> [m[2] for m in extract_yaml(doc, [], [], {})]
['Land productivity dynamics', 'Declining']
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from importlib import resources
from pathlib import PurePath
from typing import IO, Any

import yaml

__all__ = ["SKIPPED", "TEXT_KEYS", "TEXT_TREES", "data_messages", "extract_yaml"]

#: Keys whose (string) value is a text a reader sees: a class label, a legend or table name, a layer's short title.
TEXT_KEYS: frozenset[str] = frozenset({"label", "name", "short", "title"})
#: Keys whose every string below (a list or a mapping, at any depth) is such a text: the process labels of a
#: transition matrix, the human names of the run's tables, the classes an LPD table outputs.
TEXT_TREES: frozenset[str] = frozenset({"labels", "names", "outputs"})
#: Data files left out: the drought bulletin's words carry their own translations (one section per language), and
#: the dataset catalogue's titles are names of published products, kept as their publishers write them.
SKIPPED: frozenset[str] = frozenset({"bulletin_text.yaml", "datasets.yaml"})

_STR = "tag:yaml.org,2002:str"
Message = tuple[int, str, str, list[str]]


def _strings(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """Every string scalar of a node, at any depth."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR and str(node.value).strip():
            yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _strings(item)
    elif isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            yield from _strings(value)


def _walk(node: yaml.Node, path: str) -> Iterator[tuple[yaml.ScalarNode, str]]:
    """The text scalars of a YAML node, each with its key path (``classes.label``)."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, path)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            where = f"{path}.{name}" if path else name
            if name in TEXT_TREES:
                yield from ((s, where) for s in _strings(value))
            elif name in TEXT_KEYS and isinstance(value, yaml.ScalarNode):
                if value.tag == _STR and str(value.value).strip():
                    yield value, where
            else:
                yield from _walk(value, where)


def extract_yaml(fileobj: IO[bytes], keywords: Mapping[str, Any] | Collection[str], comment_tags: Collection[str],
                 options: Mapping[str, Any]) -> Iterator[Message]:
    """Babel extraction method: the texts of one data YAML file.

    Parameters
    ----------
    fileobj : file
        The YAML file, opened in binary mode.
    keywords, comment_tags : unused
        Part of Babel's extractor interface (the YAML has no function calls and no translator comments).
    options : mapping
        Babel's options; ``encoding`` (default UTF-8).

    Yields
    ------
    tuple
        ``(line number, None, message, [key path])`` as Babel expects; the key path becomes the entry's comment.
    """
    name = PurePath(str(getattr(fileobj, "name", ""))).name
    if name in SKIPPED:
        return
    text = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return
    for scalar, where in _walk(root, ""):
        yield scalar.start_mark.line + 1, None, str(scalar.value), [where]  # type: ignore[misc]


def data_messages() -> dict[str, list[str]]:
    """Every text of the package data: message -> the files (and key paths) it comes from.

    Returns
    -------
    dict
        ``{"Declining": ["legends/lpd.yaml:9 classes.label", ...], ...}``
    """
    root = resources.files("openldn") / "data"
    found: dict[str, list[str]] = {}

    def visit(folder: Any, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            rel = f"{prefix}{entry.name}"
            if entry.is_dir():
                visit(entry, rel + "/")
            elif entry.name.endswith((".yaml", ".yml")):
                with entry.open("rb") as handle:
                    for line, _func, message, comments in extract_yaml(handle, [], [], {}):
                        found.setdefault(message, []).append(f"{rel}:{line} {comments[0]}")

    visit(root, "")
    return found
