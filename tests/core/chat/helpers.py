"""A small real company project for chat and server tests: the sample company's policies.md
imported and indexed (a few chunks: seconds, not the ~30 s of the whole sample)."""

from __future__ import annotations

from pathlib import Path

from core.project import Project

FEE_QUESTION = "What is the late payment fee for rent?"
OFF_TOPIC = "What is the capital of Mongolia and who won the 1998 football world cup?"


def make_policies_project(folder: Path) -> Project:
    from core.documents import import_files
    from core.project import create_project
    from core.retrieval import update_index
    from core.sample import sample_documents, sample_profile

    project = create_project(folder, company_name="Kestrel Quay Lettings")
    project.save_profile(sample_profile())
    policies = [p for p in sample_documents() if p.name == "policies.md"]
    results = import_files(project, policies)
    assert [r.status for r in results] == ["imported"]
    update_index(project)
    return project


def make_empty_project(folder: Path) -> Project:
    from core.project import create_project
    from core.sample import sample_profile

    project = create_project(folder, company_name="Kestrel Quay Lettings")
    project.save_profile(sample_profile())
    return project
