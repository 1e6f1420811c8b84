"""The dist/ contract: the manifest a build writes reads back as the same typed Manifest, and
anything else is refused with one line naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tipkg.dist import MANIFEST_NAME, Manifest, PublishedFile
from tipkg.errors import InputError


def written(dist_dir: Path) -> dict:
    return json.loads((dist_dir / MANIFEST_NAME).read_text(encoding="utf-8"))


def test_a_built_manifest_reads_back_typed(dist_dir: Path) -> None:
    text = (dist_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    manifest = Manifest.from_json(text, dist_dir / MANIFEST_NAME)
    assert manifest.to_json() == text
    assert all(isinstance(entry, PublishedFile) for entry in manifest.files)
    assert manifest.version == next(f.sha256 for f in manifest.files if f.name == "tipkg.nq")
    assert {graph["kind"] for graph in manifest.graphs} >= {"ontology", "document", "shared"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["files"][0].pop("sha256"), "manifest.files[0] lacks sha256"),
        (lambda m: m["files"][0].update(bytes=True), "manifest.files[0].bytes is true, not int"),
        (lambda m: m["graphs"].insert(0, "x"), "manifest.graphs[0] is not an object"),
        (lambda m: m["documents"][0].update(sentences="11"), 'sentences is "11", not int'),
        (lambda m: m["links"].update(Wikidata=None), "manifest.links.Wikidata is null, not int"),
        (lambda m: m.update(queries={}), "manifest.queries is not a list"),
    ],
)
def test_a_manifest_the_build_did_not_write_is_one_line_input_error(
    dist_dir: Path, tmp_path: Path, edit: object, message: str
) -> None:
    document = written(dist_dir)
    edit(document)  # type: ignore[operator]
    with pytest.raises(InputError) as raised:
        Manifest.from_json(json.dumps(document), tmp_path / MANIFEST_NAME)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(str(tmp_path / MANIFEST_NAME))
