"""The typed settings: environment over .env over defaults, values converted and checked, errors naming the
setting (koban_geo/store/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from koban_geo.store.settings import Secret, Settings, SettingsError, fields, get_settings, read_env_file


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No KOBAN_* variable from the machine, and a working directory of our own (for .env)."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("KOBAN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_environment(clean_env: Path) -> None:
    settings = get_settings()
    assert settings == Settings()
    assert (settings.db, settings.k_min, settings.count_unit, settings.session_secret) == (
        Path("koban.duckdb"), 5, "groups", None)  # fmt: skip
    assert set(fields()) >= {"db", "k_min", "max_line_bytes"}
    assert fields()["k_min"].metadata["description"].startswith("smallest count")


def test_environment_over_env_file_over_defaults_and_overrides_win(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text(
        "# comment\nexport KOBAN_K_MIN=7\nKOBAN_GRID_M='50'\nKOBAN_TIMEZONE=Europe/Helsinki  # local\n"
        "KOBAN_NOT_A_SETTING=1\nOTHER=2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KOBAN_K_MIN", "9")
    monkeypatch.setenv("koban_trust_proxy", "yes")  # names are case-insensitive
    settings = get_settings(db=clean_env / "x.duckdb", port=None)  # None: not given
    assert settings.k_min == 9  # environment over .env
    assert settings.grid_m == 50 and settings.timezone == "Europe/Helsinki"  # .env, quotes and comment gone
    assert settings.trust_proxy is True
    assert settings.db == clean_env / "x.duckdb" and settings.port == 8501
    assert get_settings(env_file=None).grid_m == 100  # .env not read


def test_values_are_converted_and_checked(clean_env: Path) -> None:
    settings = Settings(k_min="12", anonymous_points_max_m="12.5", trust_proxy="0", db="a.duckdb",
                        tiles_url=" ", metric_crs="epsg:3067")  # fmt: skip
    assert (settings.k_min, settings.anonymous_points_max_m, settings.trust_proxy) == (12, 12.5, False)
    assert (
        settings.db == Path("a.duckdb") and settings.tiles_url is None and settings.metric_crs == "EPSG:3067"
    )
    for bad, says in [
        ({"k_min": 2}, "KOBAN_K_MIN must be at least 3 (got 2)"),
        ({"grid_m": "lots"}, "KOBAN_GRID_M"),
        ({"anonymous_points_max_m": 0}, "KOBAN_ANONYMOUS_POINTS_MAX_M must be more than 0"),
        ({"count_unit": "people"}, "KOBAN_COUNT_UNIT must be one of reports, groups"),
        ({"trust_proxy": "maybe"}, "KOBAN_TRUST_PROXY must be true or false"),
        ({"port": True}, "KOBAN_PORT must be a whole number"),
        ({"tiles_url": "ftp://x/{z}"}, "KOBAN_TILES_URL must be an http(s)"),
        ({"metric_crs": "UTM35"}, "KOBAN_METRIC_CRS must look like EPSG:NNNN"),
    ]:
        with pytest.raises(SettingsError) as caught:
            Settings(**bad)
        assert says in str(caught.value)


def test_the_session_secret_is_never_shown(clean_env: Path) -> None:
    key = "s" * 40
    settings = Settings(session_secret=key)
    assert isinstance(settings.session_secret, Secret) and settings.session_secret.get_secret_value() == key
    assert key not in repr(settings)
    with pytest.raises(SettingsError) as caught:
        Settings(session_secret="short-secret-value")
    assert "KOBAN_SESSION_SECRET must be at least 32 characters" in str(caught.value)
    assert "short-secret-value" not in str(caught.value)


def test_replace_is_a_checked_copy_and_settings_are_frozen(clean_env: Path) -> None:
    settings = Settings()
    changed = settings.replace(k_min=10)
    assert (settings.k_min, changed.k_min) == (5, 10)
    with pytest.raises(SettingsError):
        settings.replace(k_min=1)
    with pytest.raises(AttributeError):
        settings.k_min = 3  # type: ignore[misc]


def test_env_file_reader(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text('A=1\n  B = "two words" \nC=x # note\n#D=4\nnot a line\nE=\n', encoding="utf-8")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "x", "E": ""}
    assert read_env_file(tmp_path / "missing.env") == {}
