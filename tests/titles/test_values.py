"""The title service's values: an import's report and a remote import's job parameters."""

from __future__ import annotations

from pomona.errors import Problem
from pomona.titles.values import Gathered, ImportOutcome, ImportReport, Incoming, RemoteImport


def test_an_import_report_counts_each_result_and_lists_every_outcome() -> None:
    warning = Problem("/lastModified", "was replaced", code="repaired")
    outcomes = [
        ImportOutcome("/a.json", "A", "create", revision=1, warnings=[warning]),
        ImportOutcome("/b.json", "B-copy", "copy", revision=1),
        ImportOutcome("/c.json", "C", "skip"),
    ]

    report = ImportReport(outcomes, ["README.md"], "copy", dry_run=False).as_dict()

    assert report == {
        "dryRun": False,
        "policy": "copy",
        "created": 1,
        "replaced": 0,
        "copied": 1,
        "skipped": 1,
        "items": [
            {
                "source": "/a.json",
                "id": "A",
                "result": "create",
                "revision": 1,
                "warnings": [
                    {
                        "path": "/lastModified",
                        "message": "was replaced",
                        "location": "body",
                        "code": "repaired",
                    }
                ],
            },
            {"source": "/b.json", "id": "B-copy", "result": "copy", "revision": 1, "warnings": []},
            {"source": "/c.json", "id": "C", "result": "skip", "revision": None, "warnings": []},
        ],
        "ignored": ["README.md"],
    }


def test_a_remote_import_is_kept_as_the_job_parameters_the_api_shows() -> None:
    asked = RemoteImport("https://patch.example.com/jamf/v1", ["A"], "replace", dry_run=True)

    params = asked.as_params()

    assert params == {
        "url": "https://patch.example.com/jamf/v1",
        "ids": ["A"],
        "policy": "replace",
        "dryRun": True,
    }
    assert RemoteImport.from_params(params) == asked


def test_gathered_definitions_merge_in_order() -> None:
    first = Gathered([Incoming("/a.json", {})], ["x"])
    first.merge(Gathered([Incoming("/b.json", {})], ["y"]))

    assert [i.source for i in first.items] == ["/a.json", "/b.json"]
    assert first.ignored == ["x", "y"]
