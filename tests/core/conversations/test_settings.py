"""Generation settings: drafts load leniently, validation names every bad field."""

from __future__ import annotations

from core.conversations.settings import GenerationSettings, load_settings, save_settings


def test_from_dict_coerces_and_ignores_bad_values() -> None:
    settings = GenerationSettings.from_dict({
        "per_chunk": "3", "limit": "", "intents": "yes", "intent_list": "billing\n\nrepairs",
        "out_of_scope_share": "0.2", "per_role": {"tenant": "1"}, "max_rewrites": "many",
        "unknown": 1})
    assert settings.per_chunk == 3 and settings.limit is None and settings.intents
    assert settings.intent_list == ["billing", "repairs"]
    assert settings.out_of_scope_share == 0.2 and settings.per_role == {"tenant": 1}
    assert settings.max_rewrites == 3  # the default: "many" is not a number


def test_validate_names_each_field() -> None:
    settings = GenerationSettings(per_chunk=0, limit=0, out_of_scope_share=0.9, rewrite="x",
                                  pair_sources=["formal", "magic"], per_role={"alien": 1})
    errors = settings.validate(["tenant", "owner"])
    assert set(errors) >= {"per_chunk", "limit", "out_of_scope_share", "rewrite",
                           "pair_sources", "per_role"}
    assert GenerationSettings().validate(["tenant"]) == {}


def test_settings_are_saved_in_the_project(sample_project) -> None:
    settings = GenerationSettings(per_chunk=4, intents=True, per_role={"owner": 0})
    save_settings(sample_project, settings)
    loaded = load_settings(sample_project)
    assert loaded == settings and loaded.count_for("owner") == 0
    assert loaded.count_for("tenant") == 4
