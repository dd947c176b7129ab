"""The shipped sample company: a fictional property-rental business to try everything on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from core.errors import ProjectError
from core.paths import resources_dir
from core.project import CompanyProfile, Project, create_project

SAMPLE_DOCUMENTS = ("handbook.pdf", "faq.docx", "policies.md", "tickets.csv")
INBOX = "sample-documents"


def sample_dir() -> Path:
    return resources_dir() / "sample_company"


def sample_profile() -> CompanyProfile:
    path = sample_dir() / "company.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"The sample company is missing or damaged ({path}: {exc}).",
                           "Reinstall TalkSmall Studio.") from exc
    return CompanyProfile.from_dict(data)


def sample_documents() -> list[Path]:
    return [sample_dir() / name for name in SAMPLE_DOCUMENTS]


def init_sample(folder: str | os.PathLike[str], company_name: str = "") -> Project:
    """Create a project filled with the sample company's profile and documents.

    The documents are copied into ``sample-documents/`` inside the project, ready for the
    Documents step to import (and for the operator to open and read).
    """
    profile = sample_profile()
    if company_name:
        profile.company_name = company_name
    missing = [p.name for p in sample_documents() if not p.is_file()]
    if missing:
        raise ProjectError(f"The sample company is incomplete (missing {', '.join(missing)}).",
                           "Reinstall TalkSmall Studio.")
    project = create_project(folder)
    project.save_profile(profile)
    inbox = project.root / INBOX
    inbox.mkdir(exist_ok=True)
    for document in sample_documents():
        shutil.copy2(document, inbox / document.name)
    return project
